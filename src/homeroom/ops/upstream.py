"""One guard for every call to an upstream service (a district's IdP): breaker, retry, metrics.

Usage (the upstream-IdP client builds one guard per upstream and keeps it)::

    guard = UpstreamGuard.for_upstream("district-idp:maplewood")
    response = guard.call(lambda: http.get(url, timeout=2.0))  # the timeout is the caller's

The order matters: the breaker sits *inside* the retry loop, so every real attempt is
counted by the breaker and an open breaker stops the retries at once. Transport failures
(timeouts, refused connections, 5xx answers) surface as :class:`ServiceUnavailable`, which
the web layer renders as 503 + Retry-After: never a hang, never a 200 with an error inside.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from homeroom.errors import ServiceUnavailable
from homeroom.ops.breaker import CircuitBreaker, CircuitOpen
from homeroom.ops.metrics import UPSTREAM_SECONDS
from homeroom.ops.retry import RetryBudget, RetryPolicy

__all__ = ["UpstreamGuard", "is_transient"]

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Failures worth a retry and counted by the breaker: the upstream did not answer well."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500
    return isinstance(exc, (httpx.TransportError, OSError, TimeoutError))


class UpstreamGuard:
    def __init__(self, name: str, breaker: CircuitBreaker, retry: RetryPolicy) -> None:
        self.name = name
        self.breaker = breaker
        self.retry = retry
        self._ok = UPSTREAM_SECONDS.labels(upstream=name, outcome="ok")
        self._error = UPSTREAM_SECONDS.labels(upstream=name, outcome="error")

    @classmethod
    def for_upstream(
        cls,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        attempts: int = 2,
        deadline_s: float = 5.0,
        budget: RetryBudget | None = None,
    ) -> UpstreamGuard:
        breaker = CircuitBreaker(
            name,
            failure_threshold=failure_threshold,
            reset_timeout_s=reset_timeout_s,
            is_failure=is_transient,
        )
        retry = RetryPolicy(
            name,
            attempts=attempts,
            deadline_s=deadline_s,
            retry_on=is_transient,
            budget=budget or RetryBudget(),
        )
        return cls(name, breaker, retry)

    def _once(self, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            result = self.breaker.call(fn)
        except CircuitOpen:
            raise
        except Exception:
            self._error.observe(time.perf_counter() - started)
            raise
        self._ok.observe(time.perf_counter() - started)
        return result

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one upstream request with its own timeout) under breaker and retries."""
        try:
            return self.retry.call(lambda: self._once(fn))
        except ServiceUnavailable:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise ServiceUnavailable(f"upstream {self.name} unavailable", 5) from exc
            raise
