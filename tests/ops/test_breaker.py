"""Circuit breaker state machine, with a controllable clock."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from homeroom.errors import ServiceUnavailable
from homeroom.ops.breaker import BreakerState, CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail() -> None:
    raise ConnectionError("upstream down")


def _state_metric(name: str) -> float | None:
    return REGISTRY.get_sample_value("homeroom_breaker_state", {"breaker": name})


def test_opens_after_consecutive_failures_and_rejects_without_calling() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t-open", failure_threshold=3, reset_timeout_s=10, clock=clock)
    calls = 0

    def counted_failure() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError

    for _ in range(3):
        with pytest.raises(ConnectionError):
            breaker.call(counted_failure)
    assert breaker.state is BreakerState.OPEN and _state_metric("t-open") == 2
    clock.now += 4
    with pytest.raises(CircuitOpen) as rejected:
        breaker.call(counted_failure)
    assert calls == 3  # the open breaker did not call the upstream
    assert isinstance(rejected.value, ServiceUnavailable)
    assert rejected.value.retry_after == 6


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("t-reset", failure_threshold=2, clock=Clock())
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    assert breaker.call(lambda: "ok") == "ok"
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    assert breaker.state is BreakerState.CLOSED


def test_half_open_trial_closes_on_success_and_reopens_on_failure() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t-half", failure_threshold=1, reset_timeout_s=5, clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    clock.now += 5
    assert breaker.state is BreakerState.HALF_OPEN and _state_metric("t-half") == 1
    with pytest.raises(ConnectionError):
        breaker.call(_fail)  # the trial failed: open again for a full timeout
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "not called")
    clock.now += 5
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state is BreakerState.CLOSED and _state_metric("t-half") == 0


def test_half_open_admits_only_the_allowed_number_of_trials() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t-trials", failure_threshold=1, reset_timeout_s=1, clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    clock.now += 1
    breaker.before_call()  # the one trial in flight
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_answers_that_are_not_failures_keep_it_closed() -> None:
    breaker = CircuitBreaker(
        "t-filter",
        failure_threshold=1,
        is_failure=lambda exc: not isinstance(exc, ValueError),
        clock=Clock(),
    )

    def bad_input() -> None:
        raise ValueError("invalid_grant")

    with pytest.raises(ValueError, match="invalid_grant"):
        breaker.call(bad_input)
    assert breaker.state is BreakerState.CLOSED


def test_async_calls_use_the_same_machine() -> None:
    breaker = CircuitBreaker("t-async", failure_threshold=1, clock=Clock())

    async def failing() -> None:
        raise TimeoutError

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await breaker.call_async(failing)
        with pytest.raises(CircuitOpen):
            await breaker.call_async(failing)

    asyncio.run(scenario())


def test_transitions_are_counted() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t-count", failure_threshold=1, reset_timeout_s=1, clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    labels = {"breaker": "t-count", "state": "open"}
    assert REGISTRY.get_sample_value("homeroom_breaker_transitions_total", labels) == 1


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        CircuitBreaker("t-bad", failure_threshold=0)
