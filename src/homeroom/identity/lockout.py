"""Sign-in guard: the per-address and per-account budgets of failures, on the one limiter.

Every sign-in method (the provider's ``/login``, the portal's password and badge sign-in)
goes through :class:`SignInLockout`, which uses only
:class:`homeroom.ops.ratelimit.RateLimiter` (the ``limits`` library on memory or Redis
storage). There is no second throttle: one set of settings, one store, one metric. Only
failures count, at both levels: a sign-in that succeeds costs no budget.

* ``ip`` category (setting ``rate_limit_ip``, default ``300/minute``): failed sign-ins from
  one address, whatever the account; stops guessing across many accounts. Successes do not
  count because a school's students, often a whole district's, reach Homeroom from one
  NAT address, and at 08:00 they all sign in at once: counting every attempt refused most
  of a school after its first 300. The token endpoint's failed client authentications count
  against the same budget (``web.oidc.token``).
* ``school`` category (setting ``rate_limit_school``, default ``6000/minute``): the same
  count for addresses in the districts' school networks (setting ``school_networks``),
  where one NAT address can carry a district's students and their typos.
* ``account`` category (setting ``rate_limit_account``, default ``10/minute;50/hour``):
  failed passwords per (district, username, client address). A student who signs in
  twenty times a day is never locked out, and a classmate typing a student's name on
  another device cannot lock that student out (OWASP: a lockout must not become a denial
  of service), while one device guessing one account is stopped after the limit. A
  district's failures never lock another district's user of the same name. A successful
  sign-in forgets the failures. The lockout is temporary: the moving window runs out.

A badge carries 192 random bits, which nobody guesses, and names no account before it is
verified: a failed badge (revoked, another district's, misread) counts against the address
only (:data:`BADGE_ACCOUNT`). Locking badge sign-in per address after ten bad scans would
lock a whole school out over one lost badge.

Use::

    lockout = container.sign_in_lockout
    lockout.admit(district_id, username, ip)   # raises RateLimited / SignInLocked (429)
    ...verify...
    lockout.failed(district_id, username, ip)  # or lockout.succeeded(...)

Refusals are 429 with ``Retry-After`` and counted in ``homeroom_rate_limited_total``
(category ``ip`` or ``account``). When the store (Redis) is unreachable every call raises
:class:`homeroom.errors.ServiceUnavailable` (503): the guard fails closed and fast.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from homeroom.errors import RateLimited
from homeroom.ops.metrics import RATE_LIMITED
from homeroom.ops.ratelimit import RateLimiter

__all__ = ["BADGE_ACCOUNT", "SignInLocked", "SignInLockout"]

BADGE_ACCOUNT = "\x00badge"
"""The username a badge sign-in passes: no account, so only the address's budget applies
(no username has a NUL in it)."""


class SignInLocked(RateLimited):
    """Too many failed sign-ins for this account from this address (429 + Retry-After)."""


@dataclass(frozen=True)
class SignInLockout:
    limiter: RateLimiter
    category: str = "account"
    ip_category: str = "ip"
    school_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    school_category: str = "school"

    def _address_category(self, ip: str) -> str:
        """``school`` for an address in a school network, else ``ip``."""
        if self.school_networks:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                return self.ip_category
            if any(address in network for network in self.school_networks):
                return self.school_category
        return self.ip_category

    @staticmethod
    def _key(district_id: str | None, username: str, ip: str) -> str:
        # The limiter hashes keys before they reach Redis: no usernames or addresses stored.
        return f"{district_id}\x00{username.strip().lower()}\x00{ip[:64]}"

    def admit(self, district_id: str | None, username: str, ip: str) -> None:
        """Before any credential is checked: refuse while the address has used up its
        failures, then while the account is locked for this address. Counts nothing.
        Raises :class:`RateLimited` (address) or :class:`SignInLocked` (account)."""
        self.limiter.guard(self._address_category(ip), ip)
        if username != BADGE_ACCOUNT:
            self.check(district_id, username, ip)

    def check(self, district_id: str | None, username: str, ip: str) -> None:
        """Raise :class:`SignInLocked` while the account is locked for this address."""
        decision = self.limiter.peek(self.category, self._key(district_id, username, ip))
        if not decision.allowed:
            if self.limiter.enabled:
                RATE_LIMITED.labels(category=self.category).inc()
            raise SignInLocked(
                "too many failed sign-in attempts",
                retry_after=decision.retry_after_s,
                headers=decision.headers(),
            )

    def failed(self, district_id: str | None, username: str, ip: str) -> bool:
        """Count a failure against the address and the account; True when it used up the
        account's last attempt (the account is now locked for this address)."""
        self.limiter.hit(self._address_category(ip), ip)
        if username == BADGE_ACCOUNT:
            return False
        decision = self.limiter.hit(self.category, self._key(district_id, username, ip))
        return self.limiter.enabled and (not decision.allowed or decision.remaining <= 0)

    def succeeded(self, district_id: str | None, username: str, ip: str) -> None:
        if username != BADGE_ACCOUNT:
            self.limiter.clear(self.category, self._key(district_id, username, ip))
