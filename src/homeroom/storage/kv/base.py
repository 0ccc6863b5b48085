"""The KV interface. Every backend passes ``tests/contract/test_kv.py``."""

from __future__ import annotations

from typing import Protocol

__all__ = ["KV"]


class KV(Protocol):
    """Bytes in, bytes out. TTLs in seconds; ``None`` means no expiry.

    Backends raise :class:`homeroom.errors.ServiceUnavailable` when unreachable or slow, so
    that callers fail fast with a 503 instead of hanging.
    """

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None: ...
    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        """Set only if absent; True when this call created the key."""
        ...

    def pop(self, key: str) -> bytes | None:
        """Atomic get-and-delete: of two concurrent callers, at most one gets the value."""
        ...

    def pop_and_set(
        self, key: str, mark_key: str, mark_value: bytes, ttl_s: float | None = None
    ) -> bytes | None:
        """Atomic :meth:`pop` that, when ``key`` held a value, also sets ``mark_key`` in the
        same step (one round trip): an authorization code is redeemed and marked spent at
        once, and a missing code leaves no mark."""
        ...

    def delete(self, key: str) -> bool: ...
    def incr(self, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        """Add to a counter (created at 0); the TTL is set when the key is created."""
        ...

    def ttl(self, key: str) -> float | None:
        """Seconds left, or None when the key is missing or never expires."""
        ...

    def ping(self) -> None: ...
    def close(self) -> None: ...
