"""The load generator settles its own heap before the window, and says when it could not."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeroom.loadtest.heap import SETTLE_LEADS_S, settle_heap
from homeroom.loadtest.report import summarize, write_report
from homeroom.loadtest.results import Results

from .test_report import sample_run


@pytest.fixture(autouse=True)
def _unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process keeps collecting what these tests froze


class FakeClock:
    """Wall time that moves only when the worker sleeps, or by ``cost`` per collection."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept_until: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept_until.append(self.now)


def test_each_pass_runs_at_its_lead_and_freezes_the_heap() -> None:
    clock = FakeClock(now=100.0)
    gc.unfreeze()
    garbage = [[i] for i in range(1000)]
    settled = settle_heap(110.0, clock.sleep, clock)
    assert clock.slept_until == [110.0 - lead for lead in SETTLE_LEADS_S]
    assert gc.get_freeze_count() >= len(garbage)  # what was built is out of reach
    assert settled.longest_pass_ms > 0
    assert settled.into_window_ms == 0  # this clock did not move while collecting


def test_a_pass_that_runs_into_the_window_is_reported() -> None:
    clock = FakeClock(now=100.0)

    def slow_sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept_until) == len(SETTLE_LEADS_S):
            clock.now += 0.4  # the collection after the last sleep "took" 400 ms

    settled = settle_heap(110.0, slow_sleep, clock)
    assert settled.into_window_ms == pytest.approx(150.0)  # 400 ms from 250 ms before


def test_late_settling_reaches_the_report_and_survives_the_merge(tmp_path: Path) -> None:
    plan, results = sample_run()
    worker = Results.from_dict(
        {**Results(start_at=plan.start_at).to_dict(), "generator_gc_ms": 310.0,
         "generator_late_ms": 60.0}
    )  # fmt: skip
    results.merge(Results.from_dict(worker.to_dict()))
    results.merge(Results(start_at=plan.start_at, generator_gc_ms=5.0))  # another process
    s = summarize(plan, results)
    assert s["generator"] == {"heap_settling_ms": 310.0, "late_into_window_ms": 60.0}
    _, page = write_report(tmp_path / "late", s)
    assert "heap collection ran 60 ms into the window" in page.read_text()
    on_time = summarize(*sample_run())
    assert on_time["generator"]["late_into_window_ms"] == 0
    _, page = write_report(tmp_path / "on-time", on_time)
    assert "into the window" not in page.read_text()
    # sample_run is an open-model run that recorded no dispatches: the line is drawn empty
    assert on_time["timeline"][0]["dispatch_late_ms"] is None
