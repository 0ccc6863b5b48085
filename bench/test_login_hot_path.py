"""Micro benchmarks of the two login flows through the ASGI app in-process (issue 9), and of
their parts: the sign-in check (cache hit and miss) and argon2id on the bounded pool.

A round of ``test_*_flow`` is the server's work for one verified flow minus uvicorn's HTTP
parsing (no test client, no network): compare with the load run's server CPU per flow.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.oidc.conftest import PASSWORD, REDIRECT

from bench.asgi_flows import Browser, Flows
from homeroom.identity.passwords import PasswordHasher
from homeroom.web.app import create_app
from homeroom.wiring import Container

Seeded = tuple[Container, dict[str, Any]]
Bench = Any


def _flows(seeded: Seeded) -> tuple[Flows, Browser, asyncio.AbstractEventLoop]:
    container, data = seeded
    app = create_app(container)
    flows = Flows(app, data, REDIRECT, PASSWORD)
    loop = asyncio.new_event_loop()
    browser = Browser(app, host=container.settings.issuer.split("://", 1)[1])
    loop.run_until_complete(flows.password_login(browser))  # signed in, caches warm
    return flows, browser, loop


def test_instant_login_flow(benchmark: Bench, seeded: Seeded) -> None:
    """authorize (session) → token (PKCE, ES256 ID + access token) → userinfo."""
    flows, browser, loop = _flows(seeded)
    benchmark(lambda: loop.run_until_complete(flows.instant_login(browser)))
    loop.close()


def test_password_login_flow(benchmark: Bench, seeded: Seeded) -> None:
    """sign-in page → form (CSRF, lockout, one argon2id on the pool, audit, session) →
    authorize → token → userinfo; compare with ``test_argon2id_verify_raw``."""
    flows, browser, loop = _flows(seeded)
    benchmark(lambda: loop.run_until_complete(flows.password_login(browser)))
    loop.close()


def test_sign_in_check_hit(benchmark: Bench, seeded: Seeded) -> None:
    container, data = seeded
    check = container.oidc.sign_in_check
    connection = container.oidc.clients.connection(data["district"].id, data["app"].id)
    args = (data["district"].id, data["student"].id, data["app"].id, connection)
    assert check.active_shared(*args)[1]
    benchmark(lambda: check.active_shared(*args))


def test_sign_in_check_miss(benchmark: Bench, seeded: Seeded) -> None:
    """The one database read of an instant login (user columns + sharing, one statement)."""
    container, data = seeded
    check = container.oidc.sign_in_check
    connection = container.oidc.clients.connection(data["district"].id, data["app"].id)
    args = (data["district"].id, data["student"].id, data["app"].id, connection)

    def miss() -> None:
        check.invalidate()
        check.active_shared(*args)

    benchmark(miss)


def test_argon2id_verify_on_the_pool(benchmark: Bench) -> None:
    """One verification awaited on the bounded pool: raw argon2id plus one thread hand-off."""
    hasher = PasswordHasher()
    stored = hasher.hash("maple-leaf-7")
    loop = asyncio.new_event_loop()
    assert benchmark(lambda: loop.run_until_complete(hasher.verify_async(stored, "maple-leaf-7")))
    loop.close()
    hasher.close()
