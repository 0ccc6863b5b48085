"""A tiny in-process TTL cache for hot, rarely changing records (clients, connections).

An expired entry is reloaded by one caller at a time; the others keep getting the old value
until that load is in, at most one load's time past ``ttl_s``. Without that, every request
for a popular app that arrived while its entry was being reloaded read the database again,
each holding one of the worker's few database connections: on a school morning, every
``ttl_s`` for every busy app. A key never loaded has no old value to give, so its first
callers each load it (at start-up only).

A reload that finds the record unchanged (equal) keeps the object already cached. Answers
tied to that object stay valid: ``oidc.sign_in_check`` keeps each user's answer only while
the connection is the same object. Before, every reload of a busy app's connection, every
``ttl_s``, dropped all of them at once, and every student signing in to that app was read
from the database again in the same instant. At 400 sign-ins a second that was the load
run's slowest second (``bench/RESULTS-load.md``, session 13).

A load that was under way when ``invalidate`` ran is returned to its caller but not kept:
it may have read the record before the change that called ``invalidate``.
"""

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
        self._loading: set[Hashable] = set()
        self._generation = 0  # moved by every invalidate
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        generation = self._generation
        item = self._data.get(key)
        if item is not None:
            if item[0] > now:
                return item[1]
            with self._lock:
                if key in self._loading:
                    return item[1]  # another caller is reloading it
                self._loading.add(key)
            try:
                value = load()
            finally:
                with self._lock:
                    self._loading.discard(key)
            if value == item[1]:
                value = item[1]  # unchanged: the same object, see the module docstring
        else:
            value = load()
        with self._lock:
            if generation != self._generation:
                return value  # invalidated while it loaded: maybe read before the change
            if len(self._data) >= self.max_size:
                self._data.clear()
            self._data[key] = (now + self.ttl_s, value)
        return value

    def invalidate(self, key: Hashable | None = None) -> None:
        with self._lock:
            self._generation += 1
            if key is None:
                self._data.clear()
            else:
                self._data.pop(key, None)
