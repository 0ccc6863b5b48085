"""Concurrent token grants on the file-backed SQLite quick-start store never answer 5xx.

Regression: a deferred SQLite transaction that read and then wrote (the client-credentials
audit event) could not wait for a concurrent writer and failed "database is locked" (a 500);
taking the write lock up front then deadlocked a read nested inside the refresh grant's write
transaction. Real threads against a real uvicorn server, as a load run would drive it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from homeroom.wiring import Container
from tests.oidc.conftest import PASSWORD, REDIRECT, pkce_pair, query_of, threaded_server

THREADS = 16
ROUNDS = 12  # per thread: one client-credentials grant and one refresh rotation each


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Container, dict[str, Any]]]:
    with threaded_server(tmp_path) as running:
        yield running


def _refresh_token(client: httpx.Client, seeded: dict[str, Any]) -> str:
    """A refresh token through the real flow: sign in, authorize, exchange (PKCE)."""
    app = seeded["app"]
    district = seeded["district"]
    verifier, challenge = pkce_pair()
    page = client.get("/login", params={"district": district.slug})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    signed_in = client.post(
        "/login",
        data={
            "csrf_token": csrf.group(1),
            "district": district.slug,
            "username": seeded["student"].username,
            "password": PASSWORD,
            "next": "",
        },
    )
    assert signed_in.status_code in (200, 302, 303), signed_in.text
    r = client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": app.id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile offline_access",
            "state": "s",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 302, r.text
    code = query_of(r.headers["location"])["code"]
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(app.id, str(seeded["secret"])),
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["refresh_token"])


def test_concurrent_client_credentials_and_refresh_grants_never_fail_on_sqlite(
    server: tuple[str, Container, dict[str, Any]],
) -> None:
    base, _container, seeded = server
    app = seeded["app"]
    auth = (app.id, str(seeded["secret"]))
    district = seeded["district"].slug
    with httpx.Client(base_url=base, timeout=30) as setup:
        tokens = [_refresh_token(setup, seeded) for _ in range(THREADS)]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(refresh_token: str) -> None:
        with httpx.Client(base_url=base, timeout=30, auth=auth) as client:
            start.wait()  # all threads at once: the contention is the point
            for _ in range(ROUNDS):
                cc = client.post(
                    "/token",
                    data={
                        "grant_type": "client_credentials",
                        "scope": "roster.read",
                        "district": district,
                    },
                )
                rt = client.post(
                    "/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
                )
                with lock:
                    statuses[cc.status_code] += 1
                    statuses[rt.status_code] += 1
                if rt.status_code == 200:
                    refresh_token = rt.json()["refresh_token"]

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker, t) for t in tokens]:
            future.result()
    assert sum(statuses.values()) == 2 * THREADS * ROUNDS
    assert not {s for s in statuses if s >= 500}, statuses
    # Each thread rotates its own family, so every grant must succeed, not just "not 5xx".
    assert statuses == Counter({200: 2 * THREADS * ROUNDS}), statuses
