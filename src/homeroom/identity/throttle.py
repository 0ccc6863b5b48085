"""Sign-in throttling: a bounded number of failures per account *and* client address.

Keyed by (district, username, IP) so that a classmate typing a student's name cannot lock
that student out from another device, while one device guessing one account is slowed to
``limit`` attempts per ``window_s``. Counters live in the KV store (``lock:`` prefix) so
every worker shares them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from homeroom.storage.kv import KV

__all__ = ["LoginThrottle"]


@dataclass
class LoginThrottle:
    kv: KV
    limit: int = 10
    window_s: int = 900

    def _key(self, district_id: str | None, username: str, ip: str) -> str:
        who = hashlib.sha256(f"{district_id}:{username.lower()}".encode()).hexdigest()[:24]
        return f"lock:{who}:{ip[:64]}"

    def blocked(self, district_id: str | None, username: str, ip: str) -> bool:
        raw = self.kv.get(self._key(district_id, username, ip))
        return raw is not None and int(raw) >= self.limit

    def failed(self, district_id: str | None, username: str, ip: str) -> None:
        self.kv.incr(self._key(district_id, username, ip), ttl_s=self.window_s)

    def succeeded(self, district_id: str | None, username: str, ip: str) -> None:
        self.kv.delete(self._key(district_id, username, ip))
