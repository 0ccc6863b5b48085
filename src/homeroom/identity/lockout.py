"""Temporary lockout after repeated sign-in failures, on the one rate limiter.

Only *failures* count (a student who signs in twenty times a day is never locked out), in
the ``account`` category of :class:`homeroom.ops.ratelimit.RateLimiter` (settings
``rate_limit_account``, default ``10/minute;50/hour``). Keyed by (district, username, client
address) on purpose: a classmate typing a student's name on another device cannot lock that
student out, while one device guessing one account is stopped after the limit. Floods from
one address across many accounts are the ``ip`` category's job (checked on every sign-in
POST). A successful sign-in forgets the failures.

Any sign-in method uses it the same way (password here; the portal's badge sign-in too)::

    lockout = container.sign_in_lockout
    lockout.check(district_id, username, ip)      # raises SignInLocked (429 + Retry-After)
    ...verify...
    lockout.failed(district_id, username, ip)     # or lockout.succeeded(...)
"""

from __future__ import annotations

from dataclasses import dataclass

from homeroom.errors import RateLimited
from homeroom.ops.ratelimit import RateLimiter

__all__ = ["SignInLocked", "SignInLockout"]


class SignInLocked(RateLimited):
    """Too many failed sign-ins for this account from this address (429 + Retry-After)."""


@dataclass(frozen=True)
class SignInLockout:
    limiter: RateLimiter
    category: str = "account"

    @staticmethod
    def _key(district_id: str | None, username: str, ip: str) -> str:
        # The limiter hashes keys before they reach Redis: no usernames or addresses stored.
        return f"{district_id}\x00{username.strip().lower()}\x00{ip[:64]}"

    def check(self, district_id: str | None, username: str, ip: str) -> None:
        """Raise :class:`SignInLocked` while the account is locked for this address."""
        decision = self.limiter.peek(self.category, self._key(district_id, username, ip))
        if not decision.allowed:
            raise SignInLocked(
                "too many failed sign-in attempts",
                retry_after=decision.retry_after_s,
                headers=decision.headers(),
            )

    def failed(self, district_id: str | None, username: str, ip: str) -> None:
        self.limiter.hit(self.category, self._key(district_id, username, ip))

    def succeeded(self, district_id: str | None, username: str, ip: str) -> None:
        self.limiter.clear(self.category, self._key(district_id, username, ip))
