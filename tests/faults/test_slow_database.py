"""A slow database (every packet delayed by a proxy): the pool saturates and the excess gets
503 + Retry-After within the pool timeout instead of queueing without bound."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.faults.conftest import FaultDatabase
from tests.faults.load import Load, bad_answers
from tests.faults.servers import HomeroomServer, LatencyProxy

POOL_TIMEOUT_S = 0.5


@pytest.fixture
def slow_pg(fault_pg: FaultDatabase) -> Iterator[tuple[FaultDatabase, LatencyProxy]]:
    proxy = LatencyProxy(fault_pg.cluster.port, delay_s=0.15)
    yield fault_pg, proxy
    proxy.close()


def slow_database_server(
    slow_pg: tuple[FaultDatabase, LatencyProxy],
    homeroom: Callable[..., HomeroomServer],
    pool_timeout_s: float = POOL_TIMEOUT_S,
) -> HomeroomServer:
    pg, proxy = slow_pg
    return homeroom(
        database_url=pg.url.replace(f":{pg.cluster.port}/", f":{proxy.port}/"),
        migrate_database_url=pg.owner_url,
        app_db_role=pg.app_role,
        db_pool_size=2,
        db_pool_timeout_s=pool_timeout_s,
        max_in_flight=100,  # not the mechanism under test here
    )


def test_saturated_pool_answers_503_within_the_pool_timeout(
    slow_pg: tuple[FaultDatabase, LatencyProxy], homeroom: Callable[..., HomeroomServer]
) -> None:
    slow_database_drill(slow_database_server(slow_pg, homeroom))


def slow_database_drill(server: HomeroomServer) -> None:
    """The checks; ``test_mechanisms_matter`` runs them without a pool timeout."""
    load = Load(server.url + "/api/v1/status", clients=8, pause_after_refusal_s=0.1).start()
    time.sleep(4.0)
    results = load.stop()
    assert bad_answers(results) == []
    served = [r for r in results if r.status == 200]
    refused = [r for r in results if r.status == 503]
    assert served, "the two pooled connections kept serving"
    assert refused, "excess requests were not refused: they queue without bound"
    assert all(r.error == "temporarily_unavailable" and r.retry_after == "1" for r in refused)
    # Refused after waiting about the pool timeout, not after the slow query would finish.
    assert max(r.seconds for r in refused) < POOL_TIMEOUT_S + 2.0
    assert server.metric("homeroom_db_pool_timeouts_total") >= len(refused)
    assert server.metric("homeroom_db_pool_wait_seconds_count") > 0
