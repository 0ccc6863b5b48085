"""Histograms, coordinated-omission correction, down minutes."""

from __future__ import annotations

import math
import random

import pytest

from homeroom.loadtest.histogram import LatencyHistogram
from homeroom.loadtest.results import Results, down_buckets
from homeroom.loadtest.scenarios import Flow


def exact(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


def test_percentiles_are_within_one_percent_of_the_truth() -> None:
    rng = random.Random(3)
    values = [rng.lognormvariate(1.0, 1.2) for _ in range(20000)] + [4321.0]
    hist = LatencyHistogram()
    for v in values:
        hist.record(v)
    for p in (50, 90, 95, 99, 99.9):
        truth = exact(values, p)
        assert truth <= hist.percentile(p) <= truth * 1.0101, p
    assert hist.percentile(100) == hist.max_ms == 4321.0
    assert hist.count == len(values) and hist.mean_ms == pytest.approx(sum(values) / len(values))


def test_small_samples_and_empty() -> None:
    hist = LatencyHistogram()
    assert hist.percentile(99) == 0.0 and hist.summary()["count"] == 0
    for v in (1.0, 2.0, 3.0, 4.0, 100.0):
        hist.record(v)
    assert hist.percentile(50) == pytest.approx(3.0, rel=0.011)
    assert hist.percentile(99) == 100.0  # 1 of 5 samples is above p80: p99 is the max
    assert hist.percentile(1) == 1.0  # the first-ranked sample is the exact minimum
    with pytest.raises(ValueError, match="percentile"):
        hist.percentile(0)


def test_merge_equals_recording_everything_in_one() -> None:
    rng = random.Random(5)
    a, b, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i in range(5000):
        v = rng.expovariate(0.1)
        (a if i % 2 else b).record(v)
        both.record(v)
    a.merge(LatencyHistogram.from_dict(b.to_dict()))
    assert a.buckets == both.buckets and a.count == both.count
    assert a.summary() == both.summary()


def test_latency_is_measured_from_the_scheduled_time() -> None:
    """A server stalls for 1 s. Ten flows were due 0.1 s apart during the stall; the
    generator could only send them when it came back. Timed from the send, every flow looks
    like 5 ms; timed from when it was due, the stall is visible."""
    results = Results(start_at=100.0)
    clock_now = [0.0]
    for k in range(10):
        due = 100.0 + k * 0.1
        sent = 101.0 + k * 0.005  # all sent when the server came back
        clock_now[0] = sent + 0.005
        flow = Flow(results, "health", due, clock=lambda: clock_now[0])
        with flow.step("healthz"):
            pass
        clock_now[0] += 0.002
        with flow.step("readyz"):
            pass
        results.record_flow("health", due, clock_now[0])
    first = results.steps["health.healthz"]
    assert first.max_ms == pytest.approx(1005.0, abs=0.1)  # flow 0 waited the whole stall
    assert first.percentile(50) > 500
    second = results.steps["health.readyz"]  # due when the previous response arrived
    assert second.max_ms == pytest.approx(2.0, abs=0.05)
    assert results.steps["health.flow"].max_ms == pytest.approx(1007.0, abs=0.1)


def test_flows_are_counted_by_schedule_and_completion() -> None:
    r = Results(start_at=0.0)
    r.record_flow("instant_login", 0.5, 1.2)
    r.record_flow("instant_login", 0.7, 5.0, "token: http_500")
    r.record_flow("client_credentials", 0.9, 1.1)
    assert dict(r.login_attempts) == {0: 2} and dict(r.login_failures) == {0: 1}
    assert dict(r.logins_done) == {1: 1} and dict(r.flows_done) == {1: 2}
    assert dict(r.errors) == {"instant_login: token: http_500": 1}
    other = Results.from_dict(r.to_dict())
    other.start_at = 1.0  # a process whose clock origin is one second later
    r.merge(other)
    assert r.login_attempts[1] == 2 and r.logins_done[2] == 1
    assert r.flows_ok["instant_login"] == 2 and r.flows_failed["instant_login"] == 2
    # completed flows' latency, by the second they were due; failures are not in it
    assert {s: h.count for s, h in r.flow_latency.items()} == {0: 2, 1: 2}
    assert r.flow_latency[1].max_ms == pytest.approx(700.0, abs=0.01)


def test_a_bucket_is_down_at_ten_percent_failures() -> None:
    attempts = {0: 50, 30: 50, 60: 100, 125: 1000}
    failures = {0: 5, 30: 5, 60: 9, 125: 100}
    buckets = down_buckets(attempts, failures, seconds=180, bucket_s=60)
    assert [(b["attempts"], b["failures"], b["down"]) for b in buckets] == [
        (100, 10, True),  # exactly 10 %: down
        (100, 9, False),
        (1000, 100, True),
    ]
    quiet = down_buckets({}, {}, seconds=30, bucket_s=10)
    assert len(quiet) == 3 and not any(b["down"] for b in quiet)
    with pytest.raises(ValueError, match="positive"):
        down_buckets({}, {}, 10, 0)


def test_settling_flows_are_kept_apart_from_the_window() -> None:
    r = Results(start_at=10.0)
    r.record_settling_flow("instant_login", 8.0, 8.02)
    r.record_settling_flow("instant_login", 9.0, 9.5, "token: http_503")
    assert r.settle_ok == 1 and dict(r.settle_errors) == {"instant_login: token: http_503": 1}
    assert r.settle_latency.max_ms == pytest.approx(20.0, abs=0.01)
    assert not r.flow_attempts and not r.flows_ok and not r.errors and not r.steps
    other = Results.from_dict(r.to_dict())
    r.merge(other)
    assert r.settle_ok == 2 and r.settle_errors["instant_login: token: http_503"] == 2
    assert r.settle_latency.count == 2


def test_dispatch_lateness_keeps_each_seconds_worst() -> None:
    r = Results(start_at=100.0)
    r.record_dispatch(100.2, 100.201)
    r.record_dispatch(100.5, 100.540)  # the generator stalled 40 ms here
    r.record_dispatch(101.1, 101.100)
    r.record_dispatch(101.3, 101.299)  # a timer firing early is not negative lateness
    assert r.dispatch_late_ms == {0: pytest.approx(40.0), 1: 0.0}
    other = Results.from_dict(r.to_dict())
    other.start_at = 101.0  # another process, one second later: its second 0 is our 1
    r.merge(other)
    assert r.dispatch_late_ms == {0: pytest.approx(40.0), 1: pytest.approx(40.0), 2: 0.0}
