"""``/metrics`` under several workers: every worker's counts are summed, under load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.faults.conftest import FaultDatabase
from tests.faults.load import Load
from tests.faults.servers import HomeroomServer, RedisServer
from tests.faults.signins import DemoApp, SignInLoad

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


def test_sign_in_series_are_summed_over_workers(
    redis_server: RedisServer,
    fault_pg: FaultDatabase,
    pg_data_dir: Path,
    demo_server: Callable[..., tuple[HomeroomServer, DemoApp]],
) -> None:
    """Two workers sharing Redis and PostgreSQL, children signing in to the demo app: the
    domain counters on /metrics equal what the clients saw accepted, whichever worker
    served each request."""
    server, app = demo_server(
        workers=2,
        database_url=fault_pg.url,
        migrate_database_url=fault_pg.owner_url,
        app_db_role=fault_pg.app_role,
        data_dir=pg_data_dir,
        redis_url=redis_server.url,
    )
    logins_before = server.metric(
        "homeroom_logins_total", {"method": "password", "outcome": "success"}
    )
    codes_before = server.metric("homeroom_tokens_issued_total", {"grant": "authorization_code"})
    load = SignInLoad(app, clients=3).start()
    load.wait_for_sessions(6, within_s=30)
    load.stop()
    assert load.broken_answers() == []
    signed_in = load.accepted_sign_ins()
    assert signed_in > 0
    logins = server.metric("homeroom_logins_total", {"method": "password", "outcome": "success"})
    codes = server.metric("homeroom_tokens_issued_total", {"grant": "authorization_code"})
    assert logins - logins_before == signed_in
    assert codes - codes_before == len(load.refresh_tokens)
    workers = {p.name.rsplit("_", 1)[-1] for p in server.metrics_dir.glob("counter_*.db")}
    assert len(workers) >= 2, workers  # both workers wrote counters
