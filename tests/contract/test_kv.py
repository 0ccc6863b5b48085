"""The KV contract: every backend (memory, Redis) behaves the same."""

from __future__ import annotations

import secrets
import threading
import time

from homeroom.storage.kv import KV


def key(name: str) -> str:
    return f"test:{secrets.token_hex(6)}:{name}"


def test_set_get_delete(kv: KV) -> None:
    k = key("a")
    assert kv.get(k) is None
    kv.set(k, b"one")
    assert kv.get(k) == b"one"
    assert kv.delete(k) is True
    assert kv.delete(k) is False
    assert kv.get(k) is None


def test_ttl_expires(kv: KV) -> None:
    k = key("ttl")
    kv.set(k, b"v", ttl_s=0.2)
    left = kv.ttl(k)
    assert left is not None and 0 < left <= 0.2
    time.sleep(0.35)
    assert kv.get(k) is None
    assert kv.ttl(k) is None


def test_no_ttl_means_no_expiry(kv: KV) -> None:
    k = key("forever")
    kv.set(k, b"v")
    assert kv.ttl(k) is None
    assert kv.get(k) == b"v"
    kv.delete(k)


def test_add_only_when_absent(kv: KV) -> None:
    k = key("add")
    assert kv.add(k, b"first", ttl_s=5) is True
    assert kv.add(k, b"second", ttl_s=5) is False
    assert kv.get(k) == b"first"
    kv.delete(k)


def test_pop_is_get_and_delete(kv: KV) -> None:
    k = key("pop")
    kv.set(k, b"code", ttl_s=5)
    assert kv.pop(k) == b"code"
    assert kv.pop(k) is None
    assert kv.get(k) is None


def test_pop_is_atomic_under_concurrency(kv: KV) -> None:
    """Of many concurrent redeemers of one authorization code, exactly one wins."""
    for _ in range(5):
        k = key("race")
        kv.set(k, b"code", ttl_s=5)
        winners: list[bytes] = []
        lock = threading.Lock()
        barrier = threading.Barrier(8)

        def redeem(
            k: str = k,
            barrier: threading.Barrier = barrier,
            lock: threading.Lock = lock,
            winners: list[bytes] = winners,
        ) -> None:
            barrier.wait()
            got = kv.pop(k)
            if got is not None:
                with lock:
                    winners.append(got)

        threads = [threading.Thread(target=redeem) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert winners == [b"code"]


def test_pop_and_set_marks_only_what_it_popped(kv: KV) -> None:
    k, mark = key("code"), key("spent")
    assert kv.pop_and_set(k, mark, b"issued", ttl_s=5) is None
    assert kv.get(mark) is None  # nothing popped: no mark
    kv.set(k, b"grant", ttl_s=5)
    assert kv.pop_and_set(k, mark, b"issued", ttl_s=5) == b"grant"
    assert kv.get(k) is None
    assert kv.get(mark) == b"issued"
    left = kv.ttl(mark)
    assert left is not None and 0 < left <= 5
    assert kv.pop_and_set(k, mark, b"replayed", ttl_s=5) is None
    assert kv.get(mark) == b"issued"  # a second pop leaves the first mark as it was
    kv.set(k, b"grant")
    assert kv.pop_and_set(k, mark, b"forever") == b"grant"
    assert kv.ttl(mark) is None and kv.get(mark) == b"forever"
    kv.delete(mark)


def test_pop_and_set_has_one_winner_under_concurrency(kv: KV) -> None:
    k, mark = key("race"), key("race-mark")
    kv.set(k, b"code", ttl_s=5)
    won: list[int] = []
    barrier = threading.Barrier(8)

    def redeem(n: int) -> None:
        barrier.wait()
        if kv.pop_and_set(k, mark, str(n).encode(), ttl_s=5) is not None:
            won.append(n)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert kv.get(mark) == str(won[0]).encode()  # the mark is the winner's
    kv.delete(mark)


def test_incr_counts_and_sets_ttl_once(kv: KV) -> None:
    k = key("ctr")
    assert kv.incr(k, ttl_s=0.5) == 1
    assert kv.incr(k, ttl_s=100) == 2
    assert kv.incr(k, 3) == 5
    left = kv.ttl(k)
    assert left is not None and left <= 0.5  # the later, longer TTL did not extend it
    time.sleep(0.7)
    assert kv.incr(k) == 1  # expired, starts again
    kv.delete(k)


def test_ping(kv: KV) -> None:
    kv.ping()
