"""RedisKV's own connections (one per thread): a dropped connection is reopened without an
error, a refused command leaves the connection usable, and every thread gets its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from homeroom.errors import ServiceUnavailable
from homeroom.storage.kv.redis import RedisKV
from tests.services import redis_clients, redis_clients_left


@pytest.fixture
def named_kv(redis_url: str) -> Iterator[tuple[RedisKV, str]]:
    name = f"kvtest-{uuid.uuid4().hex[:8]}"
    kv = RedisKV(redis_url, timeout_s=2, client_name=name)
    yield kv, name
    kv.close()


def test_a_connection_redis_dropped_is_reopened_without_an_error(
    named_kv: tuple[RedisKV, str], redis_url: str
) -> None:
    kv, name = named_kv
    admin = redis.Redis.from_url(redis_url)
    kv.set("kvtest:a", b"1", ttl_s=60)
    (client,) = redis_clients(admin, name)
    admin.client_kill_filter(_id=client["id"])  # as a Redis restart or idle timeout would
    assert kv.get("kvtest:a") == b"1"  # sent again on a new connection, not a 503
    (reopened,) = redis_clients(admin, name)
    assert reopened["id"] != client["id"]
    admin.close()


def test_an_error_reply_is_a_503_and_the_connection_stays_in_step(
    named_kv: tuple[RedisKV, str], redis_url: str
) -> None:
    kv, name = named_kv
    admin = redis.Redis.from_url(redis_url)
    admin.rpush("kvtest:list", "x")  # GET on a list: WRONGTYPE
    kv.set("kvtest:b", b"2", ttl_s=60)
    with pytest.raises(ServiceUnavailable):
        kv.get("kvtest:list")
    assert kv.get("kvtest:b") == b"2"  # the next reply is this command's, not a stale one
    assert len(redis_clients(admin, name)) == 1
    admin.delete("kvtest:list")
    admin.close()


def test_each_thread_has_a_connection_of_its_own_and_close_closes_them_all(
    named_kv: tuple[RedisKV, str], redis_url: str
) -> None:
    kv, name = named_kv
    admin = redis.Redis.from_url(redis_url)
    kv.ping()
    pinged, done = threading.Barrier(3), threading.Event()

    def work() -> None:
        kv.ping()
        pinged.wait()
        done.wait(10)  # alive while the main thread counts: no connection handed on

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    pinged.wait()
    try:
        assert len(redis_clients(admin, name)) == 3
        kv.close()
        assert redis_clients_left(admin, name) == []
    finally:
        done.set()
        for thread in threads:
            thread.join()
    admin.close()


def test_pop_and_set_runs_on_the_threads_connection_and_survives_a_script_flush(
    named_kv: tuple[RedisKV, str], redis_url: str
) -> None:
    """One round trip on the thread's own connection; a flushed script cache (a restarted
    Redis) is loaded again instead of failing the redemption; an error is a 503."""
    kv, name = named_kv
    admin = redis.Redis.from_url(redis_url)
    kv.set("kvtest:code", b"grant", ttl_s=60)
    admin.script_flush()
    assert kv.pop_and_set("kvtest:code", "kvtest:spent", b"jti", ttl_s=60) == b"grant"
    assert admin.get("kvtest:spent") == b"jti"
    assert len(redis_clients(admin, name)) == 1  # no pooled connection beside the thread's own
    admin.rpush("kvtest:list", "x")  # GETDEL on a list: WRONGTYPE inside the script
    with pytest.raises(ServiceUnavailable):
        kv.pop_and_set("kvtest:list", "kvtest:spent", b"jti", ttl_s=60)
    assert kv.get("kvtest:spent") == b"jti"  # and the connection is still in step
    admin.delete("kvtest:list", "kvtest:spent")
    admin.close()
