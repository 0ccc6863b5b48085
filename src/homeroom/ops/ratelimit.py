"""Rate limits per IP, per account and per client, on the ``limits`` library.

Strategy: moving window (exact: no burst of 2x at a window edge, which a fixed window
allows and which is exactly what a password-guessing script would use). Storage: in-process
memory when ``redis_url`` is empty (one process only; ``ops.ratelimit_memory``, far cheaper
per hit than the library's memory storage), else Redis through ``limits`` so that every
worker and host counts together. On Redis the library's Lua scripts (one ``EVALSHA`` per
limit per hit) are sent on a connection of the calling thread's own
(``storage.kv.redis.ThreadScriptClient``), not through the pooled client: two of them on
every token grant cost about 110 µs of CPU each through the client.

Categories and their defaults (settings ``rate_limit_<category>``, ``;`` joins limits):

* ``ip``      every request from one address; stops floods and inefficient callers,
* ``account`` sign-in attempts for one account; stops password guessing,
* ``client``  calls by one OAuth client (token, userinfo, roster APIs).

Keys are hashed before they reach the store: no usernames or addresses in Redis.

Use from a domain service (the container holds one limiter, ``container.rate_limiter``)::

    limiter.check("client", client_id)   # raises RateLimited (429)

Sign-in (every method: the provider's ``/login``, the portal's password and badge forms)
goes through :class:`homeroom.identity.lockout.SignInLockout` (``container.sign_in_lockout``):
the ``ip`` limit per attempt, and the ``account`` lockout (failures only, forgotten on
success) built on :meth:`RateLimiter.peek`, :meth:`RateLimiter.hit` and
:meth:`RateLimiter.clear`. There is no other throttle.

or on a route: ``dependencies=[Depends(rate_limit("ip"))]`` (``homeroom.web.ratelimit``).

Failure mode, on purpose: when Redis is unreachable the limiter *fails closed and fast*:
:meth:`RateLimiter.hit` raises :class:`ServiceUnavailable` within the Redis socket timeout,
so the request gets 503 + Retry-After. Sign-in needs Redis anyway (sessions, codes), so
failing open would only move the failure and remove the guard against password guessing
exactly when the system is degraded.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.commands.core import Script

from homeroom.config import Settings
from homeroom.errors import ConfigError, RateLimited, ServiceUnavailable
from homeroom.ops.metrics import RATE_LIMITED, SERVER_ERRORS
from homeroom.ops.ratelimit_memory import InProcessMovingWindow
from homeroom.storage.kv.redis import ThreadConnections, ThreadScriptClient

__all__ = ["CATEGORIES", "Decision", "RateLimiter"]

CATEGORIES = ("ip", "account", "client")


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit: allowed or not, and what the client may be told."""

    allowed: bool
    category: str
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the tightest window frees a slot

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-Reset`` is in seconds from now (as in the IETF RateLimit draft)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.retry_after_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


def _send_scripts_through(storage: RedisStorage, client: ThreadScriptClient) -> None:
    """Point every Lua script ``limits`` registered on ``storage`` at ``client`` (the
    scripts' text and their use stay the library's)."""
    for name, value in vars(storage).items():
        if name.startswith("lua_") and isinstance(value, Script):
            value.registered_client = client  # type: ignore[attr-defined]


class RateLimiter:
    """``limiter.hit("ip", "203.0.113.7")`` counts one request and says whether it may pass."""

    def __init__(
        self,
        rates: Mapping[str, str],
        redis_url: str = "",
        timeout_s: float = 0.5,
        enabled: bool = True,
        client_name: str = "homeroom-ratelimit",
    ) -> None:
        self.enabled = enabled
        self._items: dict[str, list[RateLimitItem]] = {}
        for category, spec in rates.items():
            try:
                self._items[category] = parse_many(spec)
            except ValueError:
                raise ConfigError(f"config: rate_limit_{category}: bad limit {spec!r}") from None
        self._strategy: MovingWindowRateLimiter | InProcessMovingWindow
        self._scripts: ThreadScriptClient | None = None
        if redis_url:
            storage = RedisStorage(
                redis_url,
                key_prefix="rl",
                wrap_exceptions=True,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry_on_timeout=False,
            )
            self._scripts = ThreadScriptClient(
                ThreadConnections(redis_url, timeout_s, client_name=client_name)
            )
            _send_scripts_through(storage, self._scripts)
            self._strategy = MovingWindowRateLimiter(storage)
        else:
            self._strategy = InProcessMovingWindow()
        self.in_process = not redis_url
        """Counts live in this process (no network wait: callers may stay on the event loop)."""
        self._denied = {c: RATE_LIMITED.labels(category=c) for c in self._items}

    @classmethod
    def from_settings(cls, settings: Settings, redis_url: str | None = None) -> RateLimiter:
        """``redis_url``: the setting with its password resolved (default: the setting)."""
        return cls(
            {
                "ip": settings.rate_limit_ip,
                "account": settings.rate_limit_account,
                "client": settings.rate_limit_client,
                "school": settings.rate_limit_school,
            },
            redis_url=settings.redis_url if redis_url is None else redis_url,
            timeout_s=settings.kv_timeout_s,
            enabled=settings.rate_limits_enabled,
        )

    @staticmethod
    def _id(key: str) -> str:
        return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()

    def limits(self, category: str) -> list[RateLimitItem]:
        try:
            return self._items[category]
        except KeyError:
            raise ValueError(f"unknown rate-limit category {category!r}") from None

    def hit(self, category: str, key: str, cost: int = 1) -> Decision:
        """Count ``cost`` against every limit of ``category`` for ``key``; never raises 429.

        Raises :class:`ServiceUnavailable` when the store (Redis) is unreachable.
        """
        items = self.limits(category)
        if not self.enabled:
            return Decision(True, category, items[0].amount, items[0].amount, time.time())
        ident = self._id(key)
        tightest: Decision | None = None
        with _store_reachable():
            for item in items:
                if isinstance(self._strategy, InProcessMovingWindow):
                    allowed, stats = self._strategy.hit_with_stats(item, (category, ident), cost)
                else:
                    allowed = self._strategy.hit(item, category, ident, cost=cost)
                    stats = self._strategy.get_window_stats(item, category, ident)
                decision = Decision(
                    allowed, category, item.amount, stats.remaining, stats.reset_time
                )
                if tightest is None or _tighter(decision, tightest):
                    tightest = decision
                if not allowed:
                    break  # do not count against longer windows what was refused
        assert tightest is not None  # parse_many never returns an empty list
        if not tightest.allowed:
            self._denied[category].inc()
        return tightest

    def peek(self, category: str, key: str) -> Decision:
        """Whether one more hit would pass, without counting it (lockouts count failures
        only, so they look before the attempt and hit after a failure)."""
        items = self.limits(category)
        if not self.enabled:
            return Decision(True, category, items[0].amount, items[0].amount, time.time())
        ident = self._id(key)
        tightest: Decision | None = None
        with _store_reachable():
            for item in items:
                stats = self._strategy.get_window_stats(item, category, ident)
                decision = Decision(
                    stats.remaining > 0, category, item.amount, stats.remaining, stats.reset_time
                )
                if tightest is None or _tighter(decision, tightest):
                    tightest = decision
        assert tightest is not None
        return tightest

    def guard(self, category: str, key: str) -> None:
        """Raise :class:`RateLimited` (429) when ``key`` has used up its budget, counting
        nothing: for budgets of failures, counted with :meth:`hit` only when one happens."""
        decision = self.peek(category, key)
        if not decision.allowed:
            if self.enabled:
                self._denied[category].inc()
            raise _refusal(decision)

    def check(self, category: str, key: str, cost: int = 1) -> Decision:
        """Like :meth:`hit`, but raise :class:`RateLimited` (429) when refused."""
        decision = self.hit(category, key, cost)
        if not decision.allowed:
            raise _refusal(decision)
        return decision

    def admit(self, category: str, key: str, cost: int = 1) -> None:
        """Count ``cost`` like :meth:`check` and raise :class:`RateLimited` (429) when
        refused; read the window's figures only then (for ``Retry-After``).

        For the protocol endpoints, which send no ``X-RateLimit-*`` headers on success: on
        Redis every limit costs one round trip here, against two for :meth:`check`
        (``limits`` counts and reports in separate scripts), and the token endpoint checks
        two categories on every grant.
        """
        items = self.limits(category)
        if not self.enabled:
            return
        if isinstance(self._strategy, InProcessMovingWindow):
            self.check(category, key, cost)  # counts and reports in one call anyway
            return
        ident = self._id(key)
        with _store_reachable():
            refused = next(
                (i for i in items if not self._strategy.hit(i, category, ident, cost=cost)), None
            )  # stops at the first refusal, as ``hit`` does
            if refused is None:
                return
            stats = self._strategy.get_window_stats(refused, category, ident)
        self._denied[category].inc()
        raise _refusal(Decision(False, category, refused.amount, stats.remaining, stats.reset_time))

    def close(self) -> None:
        """Close the threads' Redis connections (in process: nothing to close)."""
        if self._scripts is not None:
            self._scripts.connections.close()

    def clear(self, category: str, key: str) -> None:
        """Forget the count (e.g. an account's failures after a successful sign-in)."""
        ident = self._id(key)
        with _store_reachable():
            for item in self.limits(category):
                self._strategy.clear(item, category, ident)


@contextlib.contextmanager
def _store_reachable() -> Iterator[None]:
    """Redis unreachable or failing: 503 (fail closed) and a server-error metric."""
    try:
        yield
    except StorageError as exc:
        SERVER_ERRORS.labels(kind="rate_limit_store").inc()
        raise ServiceUnavailable("rate-limit store unavailable", retry_after=2) from exc


def _refusal(decision: Decision) -> RateLimited:
    return RateLimited(
        f"too many requests ({decision.category})",
        retry_after=decision.retry_after_s,
        headers=decision.headers(),
    )


def _tighter(a: Decision, b: Decision) -> bool:
    if a.allowed != b.allowed:
        return not a.allowed
    return a.remaining < b.remaining
