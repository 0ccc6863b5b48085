"""While passwords are being checked, the event loop keeps serving other requests.

A real uvicorn server; six browsers post the sign-in form at once; the argon2 pool has one
thread and every verification is held at a gate (then runs the real argon2id). While they
are held, /healthz, /jwks.json and the sign-in page itself must answer: an ordering
assertion (they complete before any sign-in does), never a timing threshold. Were argon2
run on the event loop, the loop would sit in the first verification and those requests
would time out.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from homeroom.storage.sql.migrate import upgrade
from homeroom.web.app import create_app
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings
from tests.loadtest.conftest import free_port
from tests.oidc.conftest import PASSWORD, seed
from tests.unit.test_password_pool import Watched

BROWSERS = 6


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Container, dict[str, Any], Watched]]:
    url = f"sqlite:///{tmp_path / 'homeroom.db'}"
    upgrade(url)
    port = free_port()
    settings = make_settings(
        SqlTarget("sqlite", url, url, ""),
        tmp_path,
        issuer=f"http://127.0.0.1:{port}",
        rate_limit_ip="1000000/minute",
    )
    container = build(settings)
    seeded = seed(container)
    watched = Watched(concurrency=1)
    container.passwords = watched  # before the first sign-in builds PasswordLogin
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
        yield f"http://127.0.0.1:{port}", container, seeded, watched
    finally:
        watched.gate.set()
        uv.should_exit = True
        thread.join(timeout=10)
        container.close()


def _sign_in_form(client: httpx.Client, slug: str, username: str) -> dict[str, str]:
    page = client.get("/login", params={"district": slug, "next": "/"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf, page.text
    return {
        "csrf_token": csrf.group(1),
        "district": slug,
        "username": username,
        "password": PASSWORD,
        "next": "/",
    }


def test_other_requests_are_served_while_passwords_are_checked(
    server: tuple[str, Container, dict[str, Any], Watched],
) -> None:
    base, _container, seeded, watched = server
    slug, username = seeded["district"].slug, seeded["student"].username
    browsers = [httpx.Client(base_url=base, timeout=30) for _ in range(BROWSERS)]
    forms = [_sign_in_form(b, slug, username) for b in browsers]
    with ThreadPoolExecutor(BROWSERS) as threads:
        sign_ins = [
            threads.submit(b.post, "/login", data=f, follow_redirects=False)
            for b, f in zip(browsers, forms, strict=True)
        ]
        assert watched.started.acquire(timeout=20), "no password verification started"
        # One verification is running (held at the gate), the others queue for the pool.
        with httpx.Client(base_url=base, timeout=5) as other:
            assert other.get("/healthz").status_code == 200
            assert other.get("/jwks.json").status_code == 200
            assert other.get("/login", params={"district": slug}).status_code == 200
        assert not any(s.done() for s in sign_ins), "a sign-in finished before the gate opened"
        assert watched.running == 1
        watched.gate.set()
        replies = [s.result(timeout=60) for s in sign_ins]
    assert [r.status_code for r in replies] == [303] * BROWSERS
    assert all("homeroom_session" in r.cookies for r in replies)
    assert watched.peak == 1  # the pool's bound held under the burst
    for b in browsers:
        b.close()
