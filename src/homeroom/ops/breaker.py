"""Circuit breaker: stop calling an upstream that keeps failing, probe it now and then.

States (Nygard, *Release It!*; the same machine as pybreaker and resilience4j):

* **closed**: calls go through; ``failure_threshold`` consecutive failures open it.
* **open**: calls fail at once with :class:`CircuitOpen` (503 + Retry-After) for
  ``reset_timeout_s``: a hanging district IdP then costs nothing instead of a worker thread
  per sign-in for the whole timeout.
* **half-open**: after the timeout, up to ``half_open_max_calls`` trial calls go through;
  one success closes the breaker, one failure opens it again.

Thread-safe (sync endpoints run in a thread pool). State is per worker process, exported as
``homeroom_breaker_state`` (0 closed, 1 half-open, 2 open).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from homeroom.errors import ServiceUnavailable
from homeroom.ops.metrics import BREAKER_REJECTED, BREAKER_STATE, BREAKER_TRANSITIONS

__all__ = ["BreakerState", "CircuitBreaker", "CircuitOpen"]

T = TypeVar("T")


class BreakerState(Enum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitOpen(ServiceUnavailable):
    """The breaker is open: the upstream was not called."""


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        half_open_max_calls: int = 1,
        is_failure: Callable[[BaseException], bool] = lambda exc: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or half_open_max_calls < 1 or reset_timeout_s <= 0:
            raise ValueError("breaker thresholds must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self.half_open_max_calls = half_open_max_calls
        self.is_failure = is_failure
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0
        self._gauge = BREAKER_STATE.labels(breaker=name)
        self._rejected = BREAKER_REJECTED.labels(breaker=name)
        self._gauge.set(0)

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._maybe_half_open()
            return self._state

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            self._gauge.set(state.value)
            BREAKER_TRANSITIONS.labels(breaker=self.name, state=state.name.lower()).inc()

    def _maybe_half_open(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout_s
        ):
            self._trials = 0
            self._set(BreakerState.HALF_OPEN)

    def before_call(self) -> None:
        """Admit a call or raise :class:`CircuitOpen`; pair with ``on_success``/``on_failure``."""
        with self._lock:
            self._maybe_half_open()
            if self._state is BreakerState.CLOSED:
                return
            if self._state is BreakerState.HALF_OPEN and self._trials < self.half_open_max_calls:
                self._trials += 1
                return
            wait = max(0.0, self.reset_timeout_s - (self._clock() - self._opened_at))
        self._rejected.inc()
        raise CircuitOpen(
            f"upstream {self.name} unavailable (circuit open)",
            retry_after=max(1, math.ceil(wait)),
        )

    def on_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._set(BreakerState.CLOSED)

    def on_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
                self._set(BreakerState.OPEN)

    def _settle(self, exc: BaseException) -> None:
        if self.is_failure(exc):
            self.on_failure()
        else:
            self.on_success()  # the upstream answered; the answer was just unwelcome

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` through the breaker (sync)."""
        self.before_call()
        try:
            result = fn()
        except Exception as exc:
            self._settle(exc)
            raise
        self.on_success()
        return result

    async def call_async(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run the coroutine made by ``fn`` through the breaker."""
        self.before_call()
        try:
            result = await fn()
        except Exception as exc:
            self._settle(exc)
            raise
        self.on_success()
        return result
