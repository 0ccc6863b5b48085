"""Redis KV store. Every call has a socket timeout; errors become ``ServiceUnavailable``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.exceptions import RedisError

from homeroom.errors import ServiceUnavailable

__all__ = ["RedisKV"]

T = TypeVar("T")


class RedisKV:
    def __init__(self, url: str, timeout_s: float = 0.5) -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            retry_on_timeout=False,
        )

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except RedisError as exc:
            raise ServiceUnavailable("kv store unavailable", retry_after=2) from exc

    @staticmethod
    def _px(ttl_s: float | None) -> int | None:
        return None if ttl_s is None else max(1, int(ttl_s * 1000))

    def get(self, key: str) -> bytes | None:
        value: Any = self._call(lambda: self._client.get(key))
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        self._call(lambda: self._client.set(key, value, px=self._px(ttl_s)))

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        return bool(self._call(lambda: self._client.set(key, value, px=self._px(ttl_s), nx=True)))

    def pop(self, key: str) -> bytes | None:
        value: Any = self._call(lambda: self._client.getdel(key))
        return None if value is None else bytes(value)

    def delete(self, key: str) -> bool:
        return bool(self._call(lambda: self._client.delete(key)))

    def incr(self, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        def run() -> int:
            pipe = self._client.pipeline(transaction=True)
            pipe.incrby(key, amount)
            if ttl_s is not None:
                pipe.pexpire(key, self._px(ttl_s) or 1, nx=True)
            return int(pipe.execute()[0])

        return self._call(run)

    def ttl(self, key: str) -> float | None:
        value: Any = self._call(lambda: self._client.pttl(key))
        return None if int(value) < 0 else int(value) / 1000

    def ping(self) -> None:
        self._call(lambda: self._client.ping())

    def close(self) -> None:
        self._client.close()
