"""Retries with full-jitter exponential backoff, inside a retry budget.

Why each part:

* **Full jitter** (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): sleep a
  uniform random time in ``[0, min(cap, base * 2**attempt)]``, so that clients that failed
  together do not retry together.
* **Budget** (Finagle/Envoy retry budgets): retries may add at most ``ratio`` of the recent
  first attempts (plus a small floor per second). When an upstream is down, every caller
  retrying 3x would triple its load exactly when it can least take it; with a budget of 10 %
  the extra load is bounded at 10 %.
* **Deadline**: no sleep that would end past the caller's deadline.

Only exceptions for which ``retry_on`` says yes are retried (connection errors, timeouts,
5xx), never client errors. Retrying through an open circuit breaker is pointless, so
:class:`CircuitOpen` is never retried.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from homeroom.ops.breaker import CircuitOpen
from homeroom.ops.metrics import RETRIES

__all__ = ["RetryBudget", "RetryPolicy"]

T = TypeVar("T")


class RetryBudget:
    """Allow a retry only while retries stay under ``ratio`` x first attempts in a window."""

    def __init__(
        self,
        ratio: float = 0.1,
        min_per_s: float = 1.0,
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_per_s = min_per_s
        self.window_s = window_s
        self._clock = clock
        self._attempts: deque[float] = deque()
        self._retries: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        for q in (self._attempts, self._retries):
            while q and q[0] <= now - self.window_s:
                q.popleft()

    def record_attempt(self) -> None:
        now = self._clock()
        with self._lock:
            self._trim(now)
            self._attempts.append(now)

    def try_withdraw(self) -> bool:
        """Take one retry from the budget; False when it is spent."""
        now = self._clock()
        with self._lock:
            self._trim(now)
            allowed = self.min_per_s * self.window_s + self.ratio * len(self._attempts)
            if len(self._retries) + 1 > allowed:
                return False
            self._retries.append(now)
            return True


def _default_retry_on(exc: BaseException) -> bool:
    return isinstance(exc, (ConnectionError, TimeoutError, OSError))


@dataclass
class RetryPolicy:
    """``policy.call(fn)``: up to ``attempts`` tries of ``fn`` in all."""

    name: str
    attempts: int = 3
    base_s: float = 0.05
    cap_s: float = 1.0
    deadline_s: float | None = None
    retry_on: Callable[[BaseException], bool] = _default_retry_on
    budget: RetryBudget = field(default_factory=RetryBudget)
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[float, float], float] = random.uniform
    clock: Callable[[], float] = time.monotonic

    def backoff(self, retry: int) -> float:
        """The sleep before retry number ``retry`` (1-based), full jitter."""
        return self.rand(0.0, min(self.cap_s, self.base_s * 2 ** (retry - 1)))

    def _next_delay(self, exc: Exception, attempt: int, started: float) -> float | None:
        """The delay before another try, or None to give up (and re-raise ``exc``)."""
        if isinstance(exc, CircuitOpen) or not self.retry_on(exc):
            return None
        if attempt >= self.attempts:
            RETRIES.labels(operation=self.name, outcome="gave_up").inc()
            return None
        delay = self.backoff(attempt)
        if self.deadline_s is not None and self.clock() - started + delay >= self.deadline_s:
            RETRIES.labels(operation=self.name, outcome="gave_up").inc()
            return None
        if not self.budget.try_withdraw():
            RETRIES.labels(operation=self.name, outcome="budget_exhausted").inc()
            return None
        RETRIES.labels(operation=self.name, outcome="retried").inc()
        return delay

    def call(self, fn: Callable[[], T]) -> T:
        started = self.clock()
        self.budget.record_attempt()
        attempt = 1
        while True:
            try:
                return fn()
            except Exception as exc:
                delay = self._next_delay(exc, attempt, started)
                if delay is None:
                    raise
            self.sleep(delay)
            attempt += 1

    async def call_async(self, fn: Callable[[], Awaitable[T]]) -> T:
        started = self.clock()
        self.budget.record_attempt()
        attempt = 1
        while True:
            try:
                return await fn()
            except Exception as exc:
                delay = self._next_delay(exc, attempt, started)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
            attempt += 1
