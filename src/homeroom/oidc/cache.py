"""A tiny in-process TTL cache for hot, rarely changing records (clients, connections)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["TTLCache"]

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Values expire after ``ttl_s``; the whole cache is dropped past ``max_size`` entries
    (simple and bounded; a miss costs one database read)."""

    def __init__(self, ttl_s: float, max_size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        item = self._data.get(key)
        if item is not None and item[0] > now:
            return item[1]
        value = load()
        with self._lock:
            if len(self._data) >= self.max_size:
                self._data.clear()
            self._data[key] = (now + self.ttl_s, value)
        return value

    def invalidate(self, key: Hashable | None = None) -> None:
        with self._lock:
            if key is None:
                self._data.clear()
            else:
                self._data.pop(key, None)
