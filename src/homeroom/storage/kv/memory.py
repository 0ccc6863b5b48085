"""In-process KV store: one dict under one lock, lazy expiry. Single process only."""

from __future__ import annotations

import threading
import time

__all__ = ["MemoryKV"]


class MemoryKV:
    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()
        self._ops = 0

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    def _live(self, key: str, now: float) -> tuple[bytes, float | None] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= now:
            del self._data[key]
            return None
        return item

    def _sweep(self, now: float) -> None:
        """Drop expired keys now and then so that memory stays bounded."""
        self._ops += 1
        if self._ops % 10_000 == 0:
            for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
                del self._data[key]

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key, self._now())
            return None if item is None else item[0]

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        now = self._now()
        with self._lock:
            self._sweep(now)
            self._data[key] = (value, None if ttl_s is None else now + ttl_s)

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        now = self._now()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._data[key] = (value, None if ttl_s is None else now + ttl_s)
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
            self._data[mark_key] = (mark_value, None if ttl_s is None else now + ttl_s)
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
            self._data[key] = (str(value).encode(), expiry)
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
