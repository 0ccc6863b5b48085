"""The in-process moving window: exact like the library's, bounded memory, cheap per hit."""

from __future__ import annotations

import pytest
from limits import parse

from homeroom.ops import ratelimit_memory
from homeroom.ops.ratelimit import RateLimiter
from homeroom.ops.ratelimit_memory import InProcessMovingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(ratelimit_memory.time, "time", c.time)
    monkeypatch.setattr(ratelimit_memory.time, "monotonic", c.monotonic)
    return c


def test_a_moving_window_has_no_burst_at_the_window_edge(clock: Clock) -> None:
    window, item = InProcessMovingWindow(), parse("3/minute")
    assert all(window.hit(item, "ip", "a") for _ in range(2))
    clock.now += 50
    assert window.hit(item, "ip", "a")
    assert not window.hit(item, "ip", "a")
    # A fixed window would reset at the minute boundary and allow 3 more here.
    clock.now += 11  # the first two hits left the window; the third is still in it
    assert window.hit(item, "ip", "a") and window.hit(item, "ip", "a")
    assert not window.hit(item, "ip", "a")
    stats = window.get_window_stats(item, "ip", "a")
    assert stats.remaining == 0
    assert stats.reset_time == pytest.approx(clock.now - 11 + 60)  # the oldest hit + 60 s


def test_cost_counts_as_several_hits_and_a_refused_hit_counts_nothing(clock: Clock) -> None:
    window, item = InProcessMovingWindow(), parse("5/second")
    assert window.hit(item, "k", cost=4)
    assert not window.hit(item, "k", cost=2)
    assert window.get_window_stats(item, "k").remaining == 1
    assert not window.hit(item, "k", cost=6)  # more than the limit can never pass
    window.clear(item, "k")
    assert window.get_window_stats(item, "k").remaining == 5


def test_idle_keys_are_swept(clock: Clock) -> None:
    window, item = InProcessMovingWindow(), parse("10/second")
    for n in range(100):
        window.hit(item, "ip", str(n))
    assert len(window) == 100
    clock.now += 60
    window.hit(item, "ip", "fresh")
    assert len(window) == 1


def test_the_limiter_without_redis_counts_in_process() -> None:
    limiter = RateLimiter({"ip": "2/minute", "account": "1/minute", "client": "1/second"})
    assert limiter.in_process
    assert [limiter.hit("ip", "203.0.113.9").allowed for _ in range(3)] == [True, True, False]
    assert not RateLimiter({"ip": "1/minute"}, redis_url="redis://127.0.0.1:1/0").in_process
