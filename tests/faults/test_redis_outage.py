"""Redis stopped and restarted under load: sign-in dependencies fail fast, then recover.

Stated recovery: within 10 s of Redis answering again, without restarting Homeroom.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.faults.load import Load, bad_answers
from tests.faults.servers import HomeroomServer, RedisServer

RECOVERY_S = 10.0


def _wait_for_200(url: str, within_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if httpx.get(url, timeout=5).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"no 200 from {url} within {within_s} s")


def test_redis_outage_fails_fast_with_503_and_recovers(
    redis_server: RedisServer, sqlite_url: str, homeroom: Callable[..., HomeroomServer]
) -> None:
    server = homeroom(database_url=sqlite_url, redis_url=redis_server.url, kv_timeout_s=0.3)
    pid = server.proc.pid if server.proc else None
    status = server.url + "/api/v1/status"
    load = Load(status, clients=3).start()
    try:
        time.sleep(1.0)
        before = load.snapshot()
        assert before and all(r.status == 200 for r in before)

        redis_server.stop()
        outage_started = time.monotonic()
        time.sleep(2.0)
        during = [r for r in load.snapshot() if r.started > outage_started + 0.2]
        assert during, "no requests completed while Redis was down: they hang"
        assert {r.status for r in during} == {503}, {r.status for r in during}
        assert all(r.retry_after is not None for r in during)
        assert all(r.error == "temporarily_unavailable" for r in during)
        assert max(r.seconds for r in during) < 3.0  # fail fast: bounded by kv_timeout_s

        redis_server.start()  # same port, same append-only file
        _wait_for_200(status, RECOVERY_S)
    finally:
        results = load.stop()
    assert bad_answers(results) == []  # never a 500, never a 200 with an error inside
    assert server.proc is not None and server.proc.pid == pid and server.proc.poll() is None
    # Every 503 is a counted server-side failure (the rate limiter met Redis first).
    assert server.metric("homeroom_server_errors_total", {"kind": "unavailable"}) > 0
    assert server.metric("homeroom_server_errors_total", {"kind": "rate_limit_store"}) > 0
