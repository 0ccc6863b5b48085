"""A real Homeroom server on a loopback port, for real OIDC client libraries.

``stack`` runs uvicorn in a thread against SQLite + the in-process KV store, or against
PostgreSQL + Redis (the production shape), seeded like ``tests/oidc``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
import uvicorn
from starlette.types import ASGIApp

from homeroom.web.app import create_app
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings
from tests.oidc.conftest import PASSWORD, seed
from tests.services import free_port


@contextmanager
def serve(app: ASGIApp, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Stack:
    issuer: str
    container: Container
    seeded: dict[str, Any]

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = requests.get(
            f"{self.issuer}/.well-known/openid-configuration", timeout=5
        ).json()
        return data

    def sign_in(self, browser: requests.Session, url: str, username: str = "lisa") -> str:
        """Play the user: follow the authorization URL through the sign-in form, and
        return the final redirect to the app (not followed)."""
        r = browser.get(url, allow_redirects=False)
        if r.status_code == 302 and "/login?" in r.headers["location"]:
            page = browser.get(self.issuer + r.headers["location"])
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            nxt = re.search(r'name="next" value="([^"]+)"', page.text)
            assert csrf and nxt, page.text
            done = browser.post(
                f"{self.issuer}/login",
                data={
                    "csrf_token": csrf.group(1),
                    "next": nxt.group(1).replace("&amp;", "&"),
                    "district": "springfield",
                    "username": username,
                    "password": PASSWORD,
                },
                allow_redirects=False,
            )
            assert done.status_code == 303, done.text
            # The form's answer goes straight on to the app (web.oidc.continue_authorization);
            # anything on our own side is followed as a browser would.
            onward = urljoin(f"{self.issuer}/login", done.headers["location"])
            if not onward.startswith(self.issuer + "/"):
                return onward
            r = browser.get(onward, allow_redirects=False)
        assert r.status_code == 302, r.text
        return str(r.headers["location"])


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    backend = "sqlite" if request.param == "sqlite-memory" else "postgres"
    target: SqlTarget = _sql_target(request, backend, tmp_path)
    extra: dict[str, Any] = {}
    if backend == "postgres":
        extra["redis_url"] = request.getfixturevalue("redis_url")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    container = build(make_settings(target, tmp_path, issuer=issuer, **extra))
    seeded = seed(container)
    with serve(create_app(container), port):
        yield Stack(issuer, container, seeded)
    container.close()


def _sql_target(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> SqlTarget:
    from homeroom.storage.sql.migrate import upgrade
    from tests.conftest import _truncate_all

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'homeroom.db'}"
        upgrade(url)
        return SqlTarget("sqlite", url, url, "")
    target: SqlTarget = request.getfixturevalue("pg_database")
    _truncate_all(target.owner_url)
    return target


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the PostgreSQL + Redis runs at collection time, so ``-m "not postgres"`` works."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("stack") == "postgres-redis":
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.redis)
