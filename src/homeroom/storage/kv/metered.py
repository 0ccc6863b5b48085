"""Latency and error metrics around any KV backend (``homeroom_kv_seconds``, ``_errors``).

A wrapper rather than code in each backend, so that every backend is measured the same way
and a new one cannot forget. Label children are bound once: the hot path pays two clock
reads and one histogram observation per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from homeroom.errors import ServiceUnavailable
from homeroom.ops.metrics import KV_ERRORS, KV_SECONDS
from homeroom.storage.kv.base import KV

__all__ = ["MeteredKV"]

T = TypeVar("T")

_OPS = ("get", "set", "add", "pop", "pop_and_set", "delete", "incr", "ttl", "ping")


class MeteredKV:
    def __init__(self, inner: KV, backend: str) -> None:
        self.inner = inner
        self.backend = backend
        self._seconds = {op: KV_SECONDS.labels(backend=backend, op=op) for op in _OPS}
        self._errors = {op: KV_ERRORS.labels(backend=backend, op=op) for op in _OPS}

    def _timed(self, op: str, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return fn()
        except ServiceUnavailable:
            self._errors[op].inc()
            raise
        finally:
            self._seconds[op].observe(time.perf_counter() - started)

    def get(self, key: str) -> bytes | None:
        return self._timed("get", lambda: self.inner.get(key))

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        self._timed("set", lambda: self.inner.set(key, value, ttl_s))

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        return self._timed("add", lambda: self.inner.add(key, value, ttl_s))

    def pop(self, key: str) -> bytes | None:
        return self._timed("pop", lambda: self.inner.pop(key))

    def pop_and_set(
        self, key: str, mark_key: str, mark_value: bytes, ttl_s: float | None = None
    ) -> bytes | None:
        return self._timed(
            "pop_and_set", lambda: self.inner.pop_and_set(key, mark_key, mark_value, ttl_s)
        )

    def delete(self, key: str) -> bool:
        return self._timed("delete", lambda: self.inner.delete(key))

    def incr(self, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        return self._timed("incr", lambda: self.inner.incr(key, amount, ttl_s))

    def ttl(self, key: str) -> float | None:
        return self._timed("ttl", lambda: self.inner.ttl(key))

    def ping(self) -> None:
        self._timed("ping", self.inner.ping)

    def close(self) -> None:
        self.inner.close()
