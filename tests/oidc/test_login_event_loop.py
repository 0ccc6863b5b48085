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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from homeroom.wiring import Container
from tests.oidc.conftest import PASSWORD, threaded_server
from tests.unit.test_password_pool import Watched

BROWSERS = 6


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Container, dict[str, Any], Watched]]:
    watched = Watched(concurrency=1)

    def prepare(container: Container) -> None:
        container.passwords = watched  # before the first sign-in builds PasswordLogin

    with threaded_server(tmp_path, prepare) as (url, container, seeded):
        try:
            yield url, container, seeded, watched
        finally:
            watched.gate.set()  # release held verifications before the server stops


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
