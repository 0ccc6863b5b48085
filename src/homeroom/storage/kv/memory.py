"""In-process KV store: one dict under one lock. Single process only.

Expiry is lazy on read and incremental on write. Every write also drops at most two keys
whose time has passed, taken from the head of a heap of expiry times. Memory stays bounded
by what is live, and no write pays for a scan of the whole store. The scan this replaces
ran every 10,000 writes: with the spent-code markers of an hour of logins held (3 million
keys at 1,000 logins a second) it stalled the event loop for 150 ms (``bench/
bench_memory_kv.py``).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

__all__ = ["MemoryKV"]

# Expired keys dropped per write: more than the one heap entry a write adds, so the
# expired part of the heap shrinks while writes go on.
_DROP_PER_WRITE = 2


class MemoryKV:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._expiry: list[tuple[float, str]] = []  # heap of (expires at, key)
        self._lock = threading.Lock()
        self._now = clock

    def __len__(self) -> int:
        """Keys held, counting expired ones not yet dropped: what the process pays for."""
        return len(self._data)

    def _live(self, key: str, now: float) -> tuple[bytes, float | None] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= now:
            del self._data[key]
            return None
        return item

    def _store(self, key: str, value: bytes, expiry: float | None, now: float) -> None:
        """Write one key (the caller holds the lock) and drop a few expired ones.

        Each key with a TTL has a heap entry at or before its expiry. A rewrite with a later
        expiry (a session's sliding timeout) adds none: its earlier entry, once due, is put
        back at the key's current expiry. So the heap holds about one entry per key."""
        data, heap = self._data, self._expiry
        prev = data.get(key)
        data[key] = (value, expiry)
        if expiry is not None and (prev is None or prev[1] is None or prev[1] > expiry):
            heapq.heappush(heap, (expiry, key))
        for _ in range(_DROP_PER_WRITE):
            if not heap or heap[0][0] > now:
                break
            _, due = heapq.heappop(heap)
            item = data.get(due)
            if item is None or item[1] is None:
                continue  # deleted, or rewritten without a TTL, since
            if item[1] <= now:
                del data[due]
            else:
                heapq.heappush(heap, (item[1], due))  # rewritten with a later expiry
        if len(heap) > 2 * len(data) + 1024:
            # Entries left by deleted keys (a popped code, a session signed out) until their
            # time comes: rebuilt from the live keys once they outnumber them, so the
            # rebuild's O(n) is paid at most once per n writes.
            self._expiry = [(exp, k) for k, (_, exp) in data.items() if exp is not None]
            heapq.heapify(self._expiry)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key, self._now())
            return None if item is None else item[0]

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        now = self._now()
        with self._lock:
            self._store(key, value, None if ttl_s is None else now + ttl_s, now)

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        now = self._now()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._store(key, value, None if ttl_s is None else now + ttl_s, now)
            return True

    def pop(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key, self._now())
            if item is None:
                return None
            del self._data[key]
            return item[0]

    def pop_and_set(
        self, key: str, mark_key: str, mark_value: bytes, ttl_s: float | None = None
    ) -> bytes | None:
        now = self._now()
        with self._lock:
            item = self._live(key, now)
            if item is None:
                return None
            del self._data[key]
            self._store(mark_key, mark_value, None if ttl_s is None else now + ttl_s, now)
            return item[0]

    def delete(self, key: str) -> bool:
        with self._lock:
            item = self._live(key, self._now())
            self._data.pop(key, None)
            return item is not None

    def incr(self, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        now = self._now()
        with self._lock:
            item = self._live(key, now)
            if item is None:
                value, expiry = amount, (None if ttl_s is None else now + ttl_s)
            else:
                value, expiry = int(item[0]) + amount, item[1]
                self._data[key] = (str(value).encode(), expiry)  # same expiry: in the heap
                return value
            self._store(key, str(value).encode(), expiry, now)
            return value

    def ttl(self, key: str) -> float | None:
        now = self._now()
        with self._lock:
            item = self._live(key, now)
            if item is None or item[1] is None:
                return None
            return item[1] - now

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
