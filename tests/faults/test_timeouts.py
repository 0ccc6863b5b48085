"""Every call out is bounded: a silent peer or a slow query ends in ServiceUnavailable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from homeroom.errors import ServiceUnavailable
from homeroom.ops.ratelimit import RateLimiter
from homeroom.storage.kv import open_kv
from homeroom.storage.sql import Database
from tests.conftest import SqlTarget
from tests.faults.servers import BlackHole


@pytest.fixture
def silent_peer() -> Iterator[BlackHole]:
    server = BlackHole()
    yield server
    server.close()


def test_redis_that_never_answers_times_out(silent_peer: BlackHole) -> None:
    silent_redis_drill(silent_peer, timeout_s=0.3)


def silent_redis_drill(silent_peer: BlackHole, timeout_s: float) -> None:
    """The checks; ``test_mechanisms_matter`` runs them with a timeout longer than 5 s."""
    kv = open_kv(f"redis://127.0.0.1:{silent_peer.port}/0", timeout_s=timeout_s)
    labels = {"backend": "redis", "op": "get"}
    errors_before = REGISTRY.get_sample_value("homeroom_kv_errors_total", labels) or 0
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        kv.get("sess:x")
    assert time.monotonic() - started < 5
    assert REGISTRY.get_sample_value("homeroom_kv_errors_total", labels) == errors_before + 1
    kv.close()


def test_rate_limiter_on_a_silent_redis_fails_fast(silent_peer: BlackHole) -> None:
    limiter = RateLimiter(
        {"account": "10/minute"}, redis_url=f"redis://127.0.0.1:{silent_peer.port}/0", timeout_s=0.3
    )
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="rate-limit store"):
        limiter.check("account", "maplewood:student01")
    assert time.monotonic() - started < 5  # a sign-in is refused fast, not hung


def test_database_that_never_answers_times_out_on_connect(silent_peer: BlackHole) -> None:
    db = Database(
        f"postgresql://nobody@127.0.0.1:{silent_peer.port}/x", pool_size=1, connect_timeout_s=1
    )
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        db.ping()
    assert time.monotonic() - started < 10
    db.dispose()


@pytest.mark.parametrize("sql_backend", ["postgres"])
def test_slow_statement_is_cut_by_statement_timeout(sql_target: SqlTarget) -> None:
    slow_statement_drill(sql_target.url, statement_timeout_ms=200)


def slow_statement_drill(url: str, statement_timeout_ms: int) -> None:
    """The checks; ``test_mechanisms_matter`` runs them with the timeout off (0)."""
    db = Database(url, pool_size=1, statement_timeout_ms=statement_timeout_ms)
    try:
        with pytest.raises(ServiceUnavailable, match="too slow"), db.platform() as uow:
            uow.conn.execute(text("SELECT pg_sleep(5)"))
        db.ping()  # the connection is usable again
    finally:
        db.dispose()


@pytest.mark.parametrize("sql_backend", ["postgres"])
def test_exhausted_pool_is_503_after_the_pool_timeout(sql_target: SqlTarget) -> None:
    db = Database(sql_target.url, pool_size=1, max_overflow=0, pool_timeout_s=0.3)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.platform():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(ServiceUnavailable, match="pool exhausted"):
            db.ping()
    finally:
        release.set()
        holder.join()
    db.ping()
    db.dispose()
