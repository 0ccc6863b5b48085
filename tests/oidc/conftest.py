"""Fixtures for the OpenID Provider tests: a seeded district, apps, and the real web app.

``op`` is an :class:`OP` with a ``TestClient`` whose base URL is the issuer, a district
("springfield") with a student, a teacher and an inactive student, a confidential app and a
public app connected to it (basic + email fields), and helpers that drive the browser part
of the flow (sign-in form, authorization redirect) the way a user agent would.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import uvicorn
from fastapi.testclient import TestClient

from homeroom.roster.models import District, Role, User
from homeroom.sharing.models import App, FieldGroup
from homeroom.storage.sql.migrate import upgrade
from homeroom.tenancy import TenantScope
from homeroom.web.app import create_app
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings

ISSUER = "http://127.0.0.1:8000"
PASSWORD = "correct-horse-1"
REDIRECT = "https://app.example/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class OP:
    container: Container
    client: TestClient
    district: District
    student: User
    teacher: User
    app: App
    secret: str
    public_app: App
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ browser helpers

    def login(self, username: str = "", password: str = PASSWORD, next_url: str = "") -> Any:
        page = self.client.get("/login", params={"district": self.district.slug, "next": next_url})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        return self.client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "district": self.district.slug,
                "username": username or self.student.username,
                "password": password,
                "next": next_url,
            },
            follow_redirects=False,
        )

    def authorize(self, **params: str) -> Any:
        """GET /authorize without following redirects."""
        query = {
            "response_type": "code",
            "client_id": self.app.id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile email",
            "state": "st-123",
            "nonce": "n-456",
        }
        query.update(params)
        query = {k: v for k, v in query.items() if v != ""}
        return self.client.get("/authorize?" + urlencode(query), follow_redirects=False)

    def code(self, **params: str) -> str:
        """Sign in (if needed) and return an authorization code."""
        r = self.authorize(**params)
        if r.headers["location"].startswith("/login"):
            self.login()
            r = self.authorize(**params)
        assert r.status_code == 302, r.text
        q = query_of(r.headers["location"])
        assert "code" in q, r.headers["location"]
        return q["code"]

    def token(self, data: dict[str, str], auth: tuple[str, str] | None = None) -> Any:
        return self.client.post("/token", data=data, auth=auth)

    def exchange(self, code: str, **extra: str) -> Any:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        data.update(extra)
        return self.token(data, auth=(self.app.id, self.secret))

    def tokens(self, scope: str = "openid profile email offline_access") -> dict[str, Any]:
        r = self.exchange(self.code(scope=scope))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def seed(container: Container) -> dict[str, Any]:
    admin = container.roster_admin
    district = admin.create_district("springfield", "Springfield Public Schools")
    student = admin.create_user(
        "springfield",
        username="lisa",
        role=Role.STUDENT,
        given_name="Lisa",
        family_name="Simpson",
        email="lisa@springfield.example",
        password=PASSWORD,
    )
    teacher = admin.create_user(
        "springfield",
        username="hoover",
        role=Role.TEACHER,
        given_name="Elizabeth",
        family_name="Hoover",
        password=PASSWORD,
    )
    new = container.apps.create_app(
        "Reading Rocket",
        [REDIRECT, "http://127.0.0.1:9999/cb"],
        post_logout_redirect_uris=["https://app.example/bye"],
    )
    public = container.apps.create_app("Math Pad", ["https://pad.example/cb"], public=True)
    container.apps.connect(district, new.app.id, field_groups=(FieldGroup.BASIC, FieldGroup.EMAIL))
    container.apps.connect(district, public.app.id)
    assert new.client_secret is not None
    return {
        "district": district,
        "student": student,
        "teacher": teacher,
        "app": new.app,
        "secret": new.client_secret,
        "public_app": public.app,
    }


@pytest.fixture
def op(sql_target: SqlTarget, tmp_path: Path) -> Iterator[OP]:
    container = build(make_settings(sql_target, tmp_path, issuer=ISSUER))
    seeded = seed(container)
    with TestClient(create_app(container), base_url=ISSUER) as client:
        yield OP(container=container, client=client, **seeded)
    container.close()


def set_user_status(container: Container, user: User, status: str) -> None:
    from sqlalchemy import update

    from homeroom.storage.sql import tables as t

    with TenantScope(user.district_id), container.db.scoped() as uow:
        uow.conn.execute(
            update(t.users)
            .where(t.users.c.district_id == user.district_id, t.users.c.id == user.id)
            .values(status=status)
        )
    # Each worker reuses "active and shared" for a few seconds (``oidc.sign_in_check``):
    # forget it, as the tests do with ``clients.invalidate()`` after a connection change
    # (test_sign_in_check.py covers the bounded staleness itself).
    container.oidc.sign_in_check.invalidate()


@contextmanager
def threaded_server(
    tmp_path: Path, prepare: Callable[[Container], None] | None = None
) -> Iterator[tuple[str, Container, dict[str, Any]]]:
    """A real uvicorn server in a thread over a file-backed SQLite database, seeded: for
    tests that need real concurrency (threads, sockets) rather than the test client.
    ``prepare`` runs on the container before the first request (swap a part in)."""
    from tests.loadtest.conftest import free_port

    url = f"sqlite:///{tmp_path / 'homeroom.db'}"
    upgrade(url)
    port = free_port()
    settings = make_settings(
        SqlTarget("sqlite", url, url, ""),
        tmp_path,
        issuer=f"http://127.0.0.1:{port}",
        rate_limit_ip="1000000/minute",
        rate_limit_client="1000000/minute",
    )
    container = build(settings)
    seeded = seed(container)
    if prepare is not None:
        prepare(container)
    config = uvicorn.Config(
        create_app(container), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", container, seeded
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        container.close()
