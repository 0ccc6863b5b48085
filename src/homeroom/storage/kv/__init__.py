"""Key-value store: TTL, atomic get-and-delete, counters. In-process or Redis.

Key prefixes (one namespace per purpose; tenant data always carries the district):
``sess:`` portal sessions, ``code:`` authorization codes, ``rl:`` rate-limit counters,
``lock:`` login throttling, ``cache:<district_id>:`` tenant caches.
"""

from homeroom.storage.kv.base import KV
from homeroom.storage.kv.memory import MemoryKV
from homeroom.storage.kv.metered import MeteredKV

__all__ = ["KV", "MemoryKV", "MeteredKV", "open_kv"]


def open_kv(url: str, timeout_s: float = 0.5) -> KV:
    """The in-process store for an empty URL, else Redis at ``url``; both metered."""
    if not url:
        return MeteredKV(MemoryKV(), "memory")
    from homeroom.storage.kv.redis import RedisKV

    return MeteredKV(RedisKV(url, timeout_s=timeout_s), "redis")
