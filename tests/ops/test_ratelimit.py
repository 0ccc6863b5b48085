"""Rate limits per category on memory and Redis storage; fail-closed when Redis is gone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from homeroom.errors import RateLimited, ServiceUnavailable
from homeroom.ops.ratelimit import RateLimiter
from homeroom.web.app import create_app
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings
from tests.services import free_port, redis_clients, redis_clients_left

_RUN = str(time.time_ns())  # unique keys per run: a shared Redis keeps counters


@pytest.fixture
def limiter(kv_backend: str, request: pytest.FixtureRequest) -> RateLimiter:
    url = request.getfixturevalue("redis_url") if kv_backend == "redis" else ""
    return RateLimiter(
        {"ip": "3/minute", "account": "2/minute;3/hour", "client": "100/second"},
        redis_url=url,
        timeout_s=1,
    )


def _key(lim: RateLimiter, name: str) -> str:
    return f"{name}-{_RUN}-{id(lim)}"


def test_the_limit_allows_then_refuses_with_headers(limiter: RateLimiter) -> None:
    key = _key(limiter, "203.0.113.7")
    remaining = [limiter.hit("ip", key).remaining for _ in range(3)]
    assert remaining == [2, 1, 0]
    with pytest.raises(RateLimited) as refused:
        limiter.check("ip", key)
    headers = refused.value.headers
    assert headers["X-RateLimit-Limit"] == "3" and headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert refused.value.retry_after == int(headers["Retry-After"])
    assert limiter.hit("ip", _key(limiter, "198.51.100.1")).allowed  # other keys unaffected
    assert limiter.hit("account", key).allowed  # categories count separately


def test_the_tightest_of_several_limits_decides(limiter: RateLimiter) -> None:
    key = _key(limiter, "maplewood/student01")
    assert limiter.hit("account", key).limit == 2
    assert limiter.hit("account", key).allowed
    refused = limiter.hit("account", key)
    assert not refused.allowed and refused.limit == 2
    limiter.clear("account", key)
    assert limiter.hit("account", key).allowed


def test_admit_counts_as_hit_does_and_refuses_with_the_same_headers(
    limiter: RateLimiter,
) -> None:
    key = _key(limiter, "192.0.2.9")
    limiter.admit("ip", key)
    limiter.admit("ip", key)
    assert limiter.hit("ip", key).remaining == 0  # the third of 3/minute
    with pytest.raises(RateLimited) as refused:
        limiter.admit("ip", key)
    headers = refused.value.headers
    assert headers["X-RateLimit-Limit"] == "3" and headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["Retry-After"]) <= 60
    account = _key(limiter, "maplewood/student02")
    limiter.admit("account", account)
    limiter.admit("account", account)
    with pytest.raises(RateLimited) as tighter:
        limiter.admit("account", account)  # 2/minute refuses before 3/hour
    assert tighter.value.headers["X-RateLimit-Limit"] == "2"


def test_admit_reads_no_window_figures_while_it_admits(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Redis, reading a window is a round trip of its own: a request that is admitted
    must not pay for it (the token endpoint admits two categories per grant)."""
    limiter = RateLimiter({"ip": "3/minute", "account": "2/minute;3/hour"}, redis_url=redis_url)
    reads: list[object] = []
    strategy = limiter._strategy
    real = strategy.get_window_stats

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(strategy, "get_window_stats", counted)
    key = _key(limiter, "admitted")
    limiter.admit("account", key)
    limiter.admit("account", key)
    limiter.admit("ip", key)
    assert reads == []
    with pytest.raises(RateLimited):
        limiter.admit("account", key)
    assert len(reads) == 1  # the refusal's Retry-After


def test_unknown_category_is_a_programming_error(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="unknown rate-limit category"):
        limiter.hit("planet", "x")


def test_disabled_limits_always_allow() -> None:
    lim = RateLimiter({"ip": "1/minute"}, enabled=False)
    assert all(lim.hit("ip", "a").allowed for _ in range(5))


def test_unreachable_redis_fails_closed_and_fast() -> None:
    lim = RateLimiter({"ip": "3/minute"}, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        lim.hit("ip", "203.0.113.7")
    assert time.monotonic() - started < 5  # bounded by the socket timeout, not a hang


def test_every_operation_on_an_unreachable_store_is_a_counted_503() -> None:
    """Failures are loud: counting, admitting, peeking and clearing all answer 503 and count
    a server error (clearing a lockout once raised without counting)."""
    lim = RateLimiter({"ip": "3/minute"}, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    labels = {"kind": "rate_limit_store"}
    for operation in (lim.hit, lim.admit, lim.peek, lim.clear):
        before = REGISTRY.get_sample_value("homeroom_server_errors_total", labels) or 0
        with pytest.raises(ServiceUnavailable):
            operation("ip", "203.0.113.7")
        after = REGISTRY.get_sample_value("homeroom_server_errors_total", labels)
        assert after == before + 1, operation.__name__


def test_status_endpoint_answers_429_with_retry_after(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    container = build(make_settings(sql_target, tmp_path, rate_limit_ip="2/minute"))
    try:
        with TestClient(create_app(container)) as client:
            ok = [client.get("/api/v1/status") for _ in range(2)]
            assert [r.status_code for r in ok] == [200, 200]
            assert ok[0].headers["x-ratelimit-limit"] == "2"
            assert ok[1].headers["x-ratelimit-remaining"] == "0"
            refused = client.get("/api/v1/status")
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["error"] == "rate_limited"
            assert client.get("/healthz").status_code == 200  # health is never limited
    finally:
        container.close()


def test_on_redis_the_scripts_run_on_the_threads_own_connection(redis_url: str) -> None:
    """The limiter's EVALSHA goes out on its per-thread connection (named in CLIENT LIST),
    not through the pooled client; a Redis that lost its scripts (restart, SCRIPT FLUSH)
    gets them loaded again, and counting carries on."""
    name_filter = f"rltest-{_RUN}"
    admin = redis.Redis.from_url(redis_url)
    lim = RateLimiter({"ip": "3/minute"}, redis_url=redis_url, client_name=name_filter)
    key = f"scripts-{_RUN}"
    try:
        assert lim.hit("ip", key).remaining == 2
        mine = redis_clients(admin, name_filter)
        assert [c["cmd"] for c in mine] == ["evalsha"]
        admin.script_flush()
        assert lim.hit("ip", key).remaining == 1  # NOSCRIPT, SCRIPT LOAD, EVALSHA again
        assert lim.peek("ip", key).remaining == 1
        lim.hit("ip", key)
        with pytest.raises(RateLimited):
            lim.admit("ip", key)
        lim.close()
        assert redis_clients_left(admin, name_filter) == []
    finally:
        lim.close()
        admin.close()
