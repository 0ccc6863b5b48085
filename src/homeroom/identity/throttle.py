"""Sign-in throttling and temporary lockout, in the KV store so every worker agrees.

OWASP Authentication Cheat Sheet ("Protect against automated attacks"): limit failed
attempts per account and per source, lock an account temporarily rather than forever (a
permanent lock hands attackers a denial of service against a whole class), and answer
every refusal with the same generic message.

Keys (district id in every one, so one district's attackers never lock another's users):
- ``lock:<district>:acct-fail:<account>``  failures of an account in the window
- ``lock:<district>:acct:<account>``       present while the account is locked out
- ``rl:<district>:ip:<ip>``                attempts from one IP in the window
Account names are hashed in keys: the KV store is not where usernames should be listed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from homeroom.storage.kv import KV

__all__ = ["LoginThrottle", "Refusal"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused before any credential is checked, and for how long."""

    reason: str  # "locked" | "throttled"
    retry_after: int


def _account(name: str) -> str:
    return hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]


@dataclass
class LoginThrottle:
    kv: KV
    max_failures: int = 5
    """Failures of one account within ``failure_window_s`` that lock it out."""
    failure_window_s: int = 15 * 60
    lockout_s: int = 15 * 60
    max_attempts_per_ip: int = 60
    """Attempts (any outcome) from one IP per ``ip_window_s``: a classroom shares one NAT
    address, so this is sized for 30 children signing in at once, twice."""
    ip_window_s: int = 60

    def check(self, district_id: str, ip: str, account: str | None = None) -> Refusal | None:
        """Count this attempt against the IP and say whether it may go ahead."""
        ip_key = f"rl:{district_id}:ip:{ip}"
        attempts = self.kv.incr(ip_key, ttl_s=self.ip_window_s)
        if attempts > self.max_attempts_per_ip:
            return Refusal("throttled", self._retry(ip_key, self.ip_window_s))
        if account is not None:
            lock_key = f"lock:{district_id}:acct:{_account(account)}"
            if self.kv.get(lock_key) is not None:
                return Refusal("locked", self._retry(lock_key, self.lockout_s))
        return None

    def failed(self, district_id: str, account: str | None = None) -> bool:
        """Record a failure; True when this failure locked the account out."""
        if account is None:
            return False
        name = _account(account)
        count_key = f"lock:{district_id}:acct-fail:{name}"
        failures = self.kv.incr(count_key, ttl_s=self.failure_window_s)
        if failures >= self.max_failures:
            self.kv.set(f"lock:{district_id}:acct:{name}", b"1", ttl_s=self.lockout_s)
            self.kv.delete(count_key)
            return True
        return False

    def succeeded(self, district_id: str, account: str) -> None:
        """A success clears the account's failure count (not a lockout: that runs out)."""
        self.kv.delete(f"lock:{district_id}:acct-fail:{_account(account)}")

    def _retry(self, key: str, default: int) -> int:
        left = self.kv.ttl(key)
        return max(1, int(left + 0.999)) if left is not None else default
