"""Each fault drill fails when the mechanism it covers is removed (issue 8, "done when").

Every drill's checks live in a function; here each runs against the same fault with its
mechanism taken away (by configuration, as an operator could) and must fail. A drill that
still passed here would be checking nothing. Mechanisms that cannot be switched off by
configuration are listed with how their drill fails in docs/operations.md ("Fault drills").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import SqlTarget
from tests.faults.conftest import FaultDatabase
from tests.faults.servers import BlackHole, HomeroomServer, LatencyProxy, RedisServer
from tests.faults.signins import DemoApp
from tests.faults.test_accepted_is_durable import redis_restart_drill
from tests.faults.test_overload import overload_drill, overloaded_server
from tests.faults.test_slow_database import slow_database_drill, slow_database_server
from tests.faults.test_timeouts import silent_redis_drill, slow_statement_drill
from tests.faults.test_upstream_hang import upstream_hang_drill

# What a drill's failure looks like: a failed assert, or pytest.raises that saw no error.
DRILL_FAILED = (AssertionError, pytest.fail.Exception)


@pytest.fixture
def proxied_pg(fault_pg: FaultDatabase) -> Iterator[tuple[FaultDatabase, LatencyProxy]]:
    proxy = LatencyProxy(fault_pg.cluster.port, delay_s=0.05)
    yield fault_pg, proxy
    proxy.close()


@pytest.fixture
def very_slow_pg(fault_pg: FaultDatabase) -> Iterator[tuple[FaultDatabase, LatencyProxy]]:
    proxy = LatencyProxy(fault_pg.cluster.port, delay_s=0.15)
    yield fault_pg, proxy
    proxy.close()


@pytest.fixture
def silent_peer() -> Iterator[BlackHole]:
    server = BlackHole()
    yield server
    server.close()


def test_overload_drill_fails_without_the_in_flight_cap(
    proxied_pg: tuple[FaultDatabase, LatencyProxy], homeroom: Callable[..., HomeroomServer]
) -> None:
    server = overloaded_server(proxied_pg, homeroom, max_in_flight=100_000)
    with pytest.raises(DRILL_FAILED):
        overload_drill(server)


def test_slow_database_drill_fails_without_the_pool_timeout(
    very_slow_pg: tuple[FaultDatabase, LatencyProxy], homeroom: Callable[..., HomeroomServer]
) -> None:
    server = slow_database_server(very_slow_pg, homeroom, pool_timeout_s=60)
    with pytest.raises(DRILL_FAILED):
        slow_database_drill(server)


def test_upstream_drill_fails_without_the_breaker(silent_peer: BlackHole) -> None:
    with pytest.raises(DRILL_FAILED):
        upstream_hang_drill(silent_peer, "fault-idp-no-breaker", failure_threshold=1_000_000)


def test_silent_redis_drill_fails_without_a_short_timeout(silent_peer: BlackHole) -> None:
    with pytest.raises(DRILL_FAILED):
        silent_redis_drill(silent_peer, timeout_s=6)


@pytest.mark.parametrize("sql_backend", ["postgres"])
def test_slow_statement_drill_fails_without_the_statement_timeout(sql_target: SqlTarget) -> None:
    with pytest.raises(DRILL_FAILED):
        slow_statement_drill(sql_target.url, statement_timeout_ms=0)


def test_durability_drill_fails_when_redis_forgets_on_restart(
    fault_pg: FaultDatabase,
    pg_data_dir: Path,
    demo_server: Callable[..., tuple[HomeroomServer, DemoApp]],
) -> None:
    """Without an append-only file a restarted Redis has lost every session: the drill's
    "accepted sessions still sign in" check must see it."""
    forgetful = RedisServer(persistent=False)
    forgetful.start()
    try:
        server, app = demo_server(
            database_url=fault_pg.url,
            migrate_database_url=fault_pg.owner_url,
            app_db_role=fault_pg.app_role,
            data_dir=pg_data_dir,
            redis_url=forgetful.url,
            kv_timeout_s=0.3,
        )
        with pytest.raises(DRILL_FAILED, match="accepted sessions lost"):
            redis_restart_drill(forgetful, server, app)
    finally:
        forgetful.remove()
