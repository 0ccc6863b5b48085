"""Full-jitter backoff, retry budget, deadline; and the upstream guard combining them."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from homeroom.ops.breaker import CircuitBreaker, CircuitOpen
from homeroom.ops.retry import RetryBudget, RetryPolicy


class Flaky:
    def __init__(self, failures: int, exc: Exception | None = None) -> None:
        self.failures = failures
        self.calls = 0
        self.exc = exc or ConnectionError("refused")

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return "ok"


def _policy(name: str, **kw: object) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []
    policy = RetryPolicy(name, sleep=slept.append, rand=lambda lo, hi: hi, **kw)  # type: ignore[arg-type]
    return policy, slept


def test_retries_transient_failures_with_exponential_backoff() -> None:
    policy, slept = _policy("t-exp", attempts=4, base_s=0.1, cap_s=0.3)
    flaky = Flaky(failures=3)
    assert policy.call(flaky) == "ok"
    assert flaky.calls == 4
    assert slept == [0.1, 0.2, 0.3]  # upper bounds of the jitter: doubled, then capped


def test_jitter_is_uniform_between_zero_and_the_bound() -> None:
    seen: list[tuple[float, float]] = []
    policy = RetryPolicy(
        "t-jit", base_s=0.5, cap_s=10, rand=lambda lo, hi: seen.append((lo, hi)) or lo
    )
    policy.backoff(3)
    assert seen == [(0.0, 2.0)]


def test_gives_up_after_the_attempts_and_raises_the_last_error() -> None:
    policy, _ = _policy("t-giveup", attempts=2)
    flaky = Flaky(failures=5)
    with pytest.raises(ConnectionError):
        policy.call(flaky)
    assert flaky.calls == 2
    assert (
        REGISTRY.get_sample_value(
            "homeroom_retries_total", {"operation": "t-giveup", "outcome": "gave_up"}
        )
        == 1
    )


def test_non_transient_errors_are_not_retried() -> None:
    policy, slept = _policy("t-perm")
    flaky = Flaky(failures=1, exc=ValueError("invalid_client"))
    with pytest.raises(ValueError, match="invalid_client"):
        policy.call(flaky)
    assert flaky.calls == 1 and slept == []


def test_an_open_breaker_is_never_retried() -> None:
    breaker = CircuitBreaker("t-open-retry", failure_threshold=1)
    policy, _ = _policy("t-open-retry", attempts=5)
    calls = 0

    def through_breaker() -> str:
        nonlocal calls
        calls += 1
        return breaker.call(Flaky(failures=10))

    with pytest.raises(CircuitOpen):
        policy.call(through_breaker)
    assert calls == 2  # one real failure opened it; the retry met the open breaker and stopped


def test_the_budget_caps_retries_to_a_fraction_of_attempts() -> None:
    now = [0.0]
    budget = RetryBudget(ratio=0.1, min_per_s=0.0, window_s=10, clock=lambda: now[0])
    for _ in range(20):
        budget.record_attempt()
    assert [budget.try_withdraw() for _ in range(3)] == [True, True, False]
    now[0] += 11  # the window slides: old attempts and retries no longer count
    assert budget.try_withdraw() is False
    budget.record_attempt()
    assert budget.try_withdraw() is False  # 0.1 of one attempt is less than one retry


def test_an_exhausted_budget_stops_retrying() -> None:
    budget = RetryBudget(ratio=0.0, min_per_s=0.0)
    policy, slept = _policy("t-budget", attempts=5, budget=budget)
    flaky = Flaky(failures=1)
    with pytest.raises(ConnectionError):
        policy.call(flaky)
    assert flaky.calls == 1 and slept == []
    assert (
        REGISTRY.get_sample_value(
            "homeroom_retries_total", {"operation": "t-budget", "outcome": "budget_exhausted"}
        )
        == 1
    )


def test_no_retry_sleeps_past_the_deadline() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    policy = RetryPolicy(
        "t-deadline",
        attempts=5,
        base_s=1,
        cap_s=1,
        deadline_s=1.5,
        sleep=sleep,
        rand=lambda lo, hi: hi,
        clock=lambda: now[0],
    )
    flaky = Flaky(failures=5)

    def slow_failure() -> str:
        now[0] += 0.4
        return flaky()

    with pytest.raises(ConnectionError):
        policy.call(slow_failure)
    # 0.4 s + 1 s sleep ends before 1.5 s: one retry; then 1.8 s + 1 s would not: stop.
    assert slept == [1.0] and flaky.calls == 2


def test_async_retries() -> None:
    slept: list[float] = []

    async def scenario() -> str:
        policy = RetryPolicy("t-async", attempts=3, base_s=0.001, cap_s=0.001)
        flaky = Flaky(failures=2)

        async def call() -> str:
            return flaky()

        result = await policy.call_async(call)
        slept.append(float(flaky.calls))
        return result

    assert asyncio.run(scenario()) == "ok" and slept == [3.0]
