"""``/metrics`` under several workers: every worker's counts are summed, under load."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.faults.load import Load
from tests.faults.servers import HomeroomServer

SERIES = [
    "homeroom_http_requests_total",
    "homeroom_http_request_seconds_bucket",
    "homeroom_http_in_flight_requests",
    "homeroom_db_pool_size",
    "homeroom_db_pool_in_use",
    "homeroom_db_pool_wait_seconds_count",
    "homeroom_kv_seconds_count",
]


def test_metrics_aggregate_over_workers_during_a_load_smoke_run(
    sqlite_url: str, homeroom: Callable[..., HomeroomServer]
) -> None:
    server = homeroom(workers=2, database_url=sqlite_url, db_pool_size=4)
    url = server.url + "/api/v1/status"
    load = Load(url, clients=4).start()
    during = httpx.get(
        server.url + "/metrics",
        headers={"Authorization": f"Bearer {server.metrics_token}"},
        timeout=5,
    ).text
    results = load.stop()
    for name in SERIES:
        assert name in during, name
    served = sum(1 for r in results if r.status == 200)
    for _ in range(10):  # fresh connections: the kernel spreads them over both workers
        with httpx.Client() as client:
            assert client.get(url).status_code == 200
    total = server.metric(
        "homeroom_http_requests_total", {"route": "/api/v1/status", "status": "200"}
    )
    assert total == served + 10  # one number, summed over the workers' files
    assert server.metric("homeroom_db_pool_size") == 2 * 4  # pool_size summed over 2 workers
    assert len({p.name.rsplit("_", 1)[-1] for p in server.metrics_dir.glob("*.db")}) >= 2
