"""The in-process KV drops expired keys a few at a time on writes, never by a full scan.

At 1,000 logins a second the quick-start store holds millions of spent-code markers; a
scan of them all on one write stalled the event loop for 150 ms. These tests drive the
store's clock by hand and look at what it holds (``len``) and at its expiry heap.
"""

from __future__ import annotations

from homeroom.storage.kv import MemoryKV


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def filled(n: int, ttl_s: float) -> tuple[MemoryKV, Clock]:
    clock = Clock()
    kv = MemoryKV(clock=clock)
    for i in range(n):
        kv.set(f"spent:{i}", b"x", ttl_s=ttl_s)
    return kv, clock


def write(kv: MemoryKV, n: int) -> None:
    """``n`` writes without a TTL: each drops up to two expired keys and adds no heap entry."""
    for i in range(n):
        kv.set(f"w:{i}", b"")


def test_expired_keys_leave_memory_without_being_read() -> None:
    kv, clock = filled(1000, ttl_s=10)
    clock.now += 11
    for i in range(500):
        kv.set(f"fresh:{i}", b"y")  # no TTL: adds nothing to the heap
    assert len(kv) == 500  # the 1,000 expired markers are gone, none of them read
    assert kv.get("fresh:0") == b"y"


def test_one_write_drops_at_most_two_expired_keys() -> None:
    """Bounded work per write: a full scan would drop all 10,000 at once."""
    kv, clock = filled(10_000, ttl_s=1)
    clock.now += 2
    kv.set("one", b"v", ttl_s=60)
    assert len(kv) == 10_000 - 2 + 1
    for key in ("spent:0", "spent:5000", "spent:9999"):
        assert kv.get(key) is None  # expired keys read as absent all the same


def test_keys_not_yet_due_are_kept() -> None:
    clock = Clock()
    kv = MemoryKV(clock=clock)
    kv.set("early", b"1", ttl_s=5)
    kv.set("late", b"2", ttl_s=50)
    clock.now += 10
    write(kv, 10)
    assert kv.get("early") is None
    assert kv.get("late") == b"2"


def test_a_key_rewritten_with_a_later_expiry_survives_its_first_one() -> None:
    """A session's sliding timeout: the rewrite adds no heap entry, and the first entry,
    once due, is put back at the key's current expiry instead of dropping the key."""
    clock = Clock()
    kv = MemoryKV(clock=clock)
    kv.set("sess:a", b"v1", ttl_s=10)
    clock.now += 5
    kv.set("sess:a", b"v2", ttl_s=10)  # now due at +15
    assert len(kv._expiry) == 1
    clock.now += 7  # past the first expiry, before the second
    write(kv, 5)
    assert kv.get("sess:a") == b"v2"
    assert kv._expiry == [(clock.now + 3, "sess:a")]  # put back at its current expiry
    clock.now += 4
    write(kv, 5)
    assert len(kv) == 5  # only the TTL-less writes are left
    assert kv._expiry == []


def test_a_key_rewritten_with_an_earlier_expiry_leaves_at_the_earlier_one() -> None:
    clock = Clock()
    kv = MemoryKV(clock=clock)
    kv.set("k", b"long", ttl_s=100)
    kv.set("k", b"short", ttl_s=5)
    clock.now += 6
    kv.set("w", b"")
    assert len(kv) == 1 and kv.get("w") == b""


def test_a_key_rewritten_without_a_ttl_is_not_dropped() -> None:
    clock = Clock()
    kv = MemoryKV(clock=clock)
    kv.set("k", b"temp", ttl_s=5)
    kv.set("k", b"kept")
    clock.now += 6
    write(kv, 4)
    assert kv.get("k") == b"kept"


def test_counters_and_marks_expire_the_same_way() -> None:
    clock = Clock()
    kv = MemoryKV(clock=clock)
    assert kv.incr("rl:a", ttl_s=5) == 1
    assert kv.incr("rl:a", ttl_s=5) == 2  # same window: no second heap entry
    kv.set("code:x", b"grant", ttl_s=60)
    assert kv.pop_and_set("code:x", "spent:x", b"jti", ttl_s=5) == b"grant"
    assert kv.add("assertion:y", b"1", ttl_s=5)
    assert len(kv) == 3
    clock.now += 6
    write(kv, 3)
    assert len(kv) == 3  # rl:a, spent:x and assertion:y dropped; the popped code too


def test_entries_left_by_deleted_keys_stay_bounded() -> None:
    """Codes popped long before their TTL leave heap entries; once those outnumber the live
    keys the heap is rebuilt from them, so memory follows what is live."""
    clock = Clock()
    kv = MemoryKV(clock=clock)
    for i in range(20_000):
        kv.set(f"code:{i}", b"g", ttl_s=3600)
        kv.pop(f"code:{i}")
    assert len(kv) == 0
    assert len(kv._expiry) <= 1024 + 1
