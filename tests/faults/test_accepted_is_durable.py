"""Nothing accepted is lost: every write the server acknowledged during a fault is still
there afterwards, on the real sign-in path (not only a test writer's rows).

Load: children signing in to the demo app (``tests/faults/signins.py``): a portal session
(KV store), an audit event (SQL), an authorization code (KV store), a refresh token (SQL).
After each fault and its recovery:

* every answer kept the contract (success, or 429/503 with ``Retry-After``),
* every session whose sign-in was answered 303 still signs its browser in to the app,
* every refresh token a 200 handed out still redeems,
* every accepted sign-in has its ``signin.success`` audit event.

Faults: Redis restarted and PostgreSQL restarted (the production stores), 3x overload on
the embedded default (SQLite, in-process KV store). Stated recovery as in the single-fault
tests: 10 s (Redis), 15 s (PostgreSQL).

SQLite note: concurrent sign-ins on SQLite can answer 500 "database is locked" (the audit
insert; the same open bug as concurrent client-credentials grants, owned elsewhere), so
the SQLite overload test holds one request in flight (cap 1, 3 clients) and the Redis
test runs on PostgreSQL. Raise both once that bug is fixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from homeroom.config import load_settings
from homeroom.tenancy import TenantScope
from homeroom.wiring import build
from tests.faults.conftest import FaultDatabase
from tests.faults.servers import HomeroomServer, RedisServer
from tests.faults.signins import DemoApp, SignInLoad


def _audited_sign_ins(server: HomeroomServer, app: DemoApp) -> int:
    container = build(load_settings(env=server.env))
    try:
        district = container.oidc.clients.district_by_slug(app.district)
        assert district is not None
        with TenantScope(district.id), container.db.scoped() as uow:
            return len(uow.audit.list(action="signin.success", limit=1_000_000))
    finally:
        container.close()


def _recovered(app: DemoApp, within_s: float) -> None:
    """One whole sign-in (login, authorize, token) succeeds again within ``within_s``."""
    probe = SignInLoad(app, clients=0)
    deadline = time.monotonic() + within_s
    while True:
        with httpx.Client(timeout=5, follow_redirects=False) as http:
            try:
                probe.one_sign_in(http)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no whole sign-in within {within_s} s") from None
        time.sleep(0.2)


def _assert_nothing_lost(server: HomeroomServer, app: DemoApp, load: SignInLoad) -> None:
    assert load.broken_answers() == []
    accepted = load.accepted_sign_ins()
    assert accepted > 0 and load.refresh_tokens, "no sign-in was accepted: nothing was tested"
    assert load.lost_sessions() == [], "accepted sessions lost"
    assert load.lost_refresh_tokens() == [], "accepted refresh tokens lost"
    # At least one event per accepted sign-in (a sign-in audited and then refused because
    # the session store was down adds an event without an acceptance: never fewer).
    assert _audited_sign_ins(server, app) >= accepted


def test_redis_restart_loses_no_accepted_sign_in(
    redis_server: RedisServer,
    fault_pg: FaultDatabase,
    pg_data_dir: Path,
    demo_server: Callable[..., tuple[HomeroomServer, DemoApp]],
) -> None:
    server, app = demo_server(
        database_url=fault_pg.url,
        migrate_database_url=fault_pg.owner_url,
        app_db_role=fault_pg.app_role,
        data_dir=pg_data_dir,
        redis_url=redis_server.url,
        kv_timeout_s=0.3,
    )
    redis_restart_drill(redis_server, server, app)


def redis_restart_drill(redis_server: RedisServer, server: HomeroomServer, app: DemoApp) -> None:
    """The checks; ``test_mechanisms_matter`` runs them on a Redis without persistence."""
    load = SignInLoad(app, clients=2).start()
    try:
        before = load.wait_for_sessions(2, within_s=30)
        redis_server.stop()
        time.sleep(2.0)
        load.wait_for_refusal(within_s=15)
        redis_server.start()
        _recovered(app, 10.0)
        time.sleep(1.0)
    finally:
        load.stop()
    assert before > 0, "no sign-in was accepted before Redis stopped"
    assert any(a.status == 503 for a in load.answers), "the outage was never seen"
    _assert_nothing_lost(server, app, load)


def test_postgres_restart_loses_no_accepted_sign_in(
    fault_pg: FaultDatabase,
    pg_data_dir: Path,
    demo_server: Callable[..., tuple[HomeroomServer, DemoApp]],
) -> None:
    server, app = demo_server(
        database_url=fault_pg.url,
        migrate_database_url=fault_pg.owner_url,
        app_db_role=fault_pg.app_role,
        data_dir=pg_data_dir,
        db_pool_size=4,
        db_pool_timeout_s=1,
        db_connect_timeout_s=2,
    )
    load = SignInLoad(app, clients=2).start()
    try:
        load.wait_for_sessions(2, within_s=30)
        fault_pg.cluster.stop()
        time.sleep(2.0)
        load.wait_for_refusal(within_s=15)
        fault_pg.cluster.start()
        _recovered(app, 15.0)
        time.sleep(1.0)
    finally:
        load.stop()
    assert any(a.status == 503 for a in load.answers), "the outage was never seen"
    _assert_nothing_lost(server, app, load)


def test_overload_on_sqlite_loses_no_accepted_sign_in(
    sqlite_url: str, demo_server: Callable[..., tuple[HomeroomServer, DemoApp]]
) -> None:
    """3x the in-flight cap on the embedded default (SQLite, in-process KV store); cap 1,
    see the module's SQLite note."""
    cap = 1
    server, app = demo_server(database_url=sqlite_url, max_in_flight=cap)
    load = SignInLoad(app, clients=3 * cap).start()
    try:
        time.sleep(4.0)
        load.wait_for_sessions(3, within_s=30)
    finally:
        load.stop()
    shed = [a for a in load.answers if a.status == 503]
    assert shed, "nothing was shed at 3x the cap"
    _assert_nothing_lost(server, app, load)
