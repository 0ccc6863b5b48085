"""What a run observed: per-step latency, a per-second timeline (with each second's flow
latency, so a report shows when in the run a tail happened), errors by kind.

Latency is measured from when a request was *due*, not from when it was sent. The first
step of a flow is due at the flow's scheduled time (open model); each later step is due the
moment the previous response arrived. A stalled server therefore shows up in the numbers of
every flow it delayed, including the ones still waiting to be sent (coordinated omission).

Down buckets (minutes by default): a bucket is *down* when 10 % or more of the login
attempts scheduled in it failed, the way districts feel an outage.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from homeroom.loadtest.histogram import LatencyHistogram
from homeroom.loadtest.plan import LOGIN_SCENARIOS

__all__ = ["DOWN_FAILURE_SHARE", "Results", "down_buckets"]

DOWN_FAILURE_SHARE = 0.10


def _counter() -> defaultdict[int, int]:
    return defaultdict(int)


@dataclass
class Results:
    start_at: float  # epoch seconds of the schedule's origin
    steps: dict[str, LatencyHistogram] = field(default_factory=dict)
    errors: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    flows_ok: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    flows_failed: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    # per second since start_at
    logins_done: defaultdict[int, int] = field(default_factory=_counter)  # by completion
    flows_done: defaultdict[int, int] = field(default_factory=_counter)  # by completion
    login_attempts: defaultdict[int, int] = field(default_factory=_counter)  # by schedule
    login_failures: defaultdict[int, int] = field(default_factory=_counter)  # by schedule
    flow_attempts: defaultdict[int, int] = field(default_factory=_counter)  # by schedule
    flow_failures: defaultdict[int, int] = field(default_factory=_counter)  # by schedule
    # completed flows' latency per second they were due in: when in the run the tail was
    flow_latency: dict[int, LatencyHistogram] = field(default_factory=dict)
    finished_at: float = 0.0
    # the generator's own pre-window heap collection (:mod:`.heap`), worst over processes
    generator_gc_ms: float = 0.0
    generator_late_ms: float = 0.0
    # open model: per second, how late the dispatcher put its latest-sent arrival on the
    # queue (worst over processes). It only waits on a timer, so a large value is the
    # generator's own stall (its core, its collector), not the server's.
    dispatch_late_ms: dict[int, float] = field(default_factory=dict)
    # flows of the settling stretch before the window (Plan.settle_s): reported apart
    settle_ok: int = 0
    settle_errors: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    settle_latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def _second(self, at: float) -> int:
        return max(0, math.floor(at - self.start_at))

    def record_step(self, name: str, due: float, done: float) -> None:
        """One step's latency: from when it was due to when its response was verified."""
        hist = self.steps.get(name)
        if hist is None:
            hist = self.steps[name] = LatencyHistogram()
        hist.record((done - due) * 1000.0)

    def record_flow(
        self, scenario: str, scheduled: float, done: float, error: str | None = None
    ) -> None:
        """A finished flow: success (``error`` None) or failure of the given kind."""
        due_second = self._second(scheduled)
        is_login = scenario in LOGIN_SCENARIOS
        self.flow_attempts[due_second] += 1
        if is_login:
            self.login_attempts[due_second] += 1
        if error is None:
            self.flows_ok[scenario] += 1
            self.flows_done[self._second(done)] += 1
            if is_login:
                self.logins_done[self._second(done)] += 1
            self.record_step(f"{scenario}.flow", scheduled, done)
            hist = self.flow_latency.get(due_second)
            if hist is None:
                hist = self.flow_latency[due_second] = LatencyHistogram()
            hist.record((done - scheduled) * 1000.0)
            return
        self.flows_failed[scenario] += 1
        self.errors[f"{scenario}: {error}"] += 1
        self.flow_failures[due_second] += 1
        if is_login:
            self.login_failures[due_second] += 1

    def record_dispatch(self, due: float, put_at: float) -> None:
        """The dispatcher put an arrival due at ``due`` on the queue at ``put_at``."""
        second = self._second(due)
        late = max(0.0, (put_at - due) * 1000.0)
        if late > self.dispatch_late_ms.get(second, -1.0):
            self.dispatch_late_ms[second] = late

    def record_settling_flow(
        self, scenario: str, scheduled: float, done: float, error: str | None = None
    ) -> None:
        """A flow of the settling stretch: counted and timed, but not in the window."""
        if error is None:
            self.settle_ok += 1
            self.settle_latency.record((done - scheduled) * 1000.0)
        else:
            self.settle_errors[f"{scenario}: {error}"] += 1

    def merge(self, other: Results) -> None:
        for name, hist in other.steps.items():
            self.steps.setdefault(name, LatencyHistogram()).merge(hist)
        shift = round(other.start_at - self.start_at)
        for mine, theirs in self._series_pairs(other):
            for second, n in theirs.items():
                mine[max(0, second + shift)] += n
        for second, hist in other.flow_latency.items():
            self.flow_latency.setdefault(max(0, second + shift), LatencyHistogram()).merge(hist)
        for mine_c, theirs_c in (
            (self.errors, other.errors),
            (self.flows_ok, other.flows_ok),
            (self.flows_failed, other.flows_failed),
        ):
            for key, n in theirs_c.items():
                mine_c[key] += n
        self.finished_at = max(self.finished_at, other.finished_at)
        self.generator_gc_ms = max(self.generator_gc_ms, other.generator_gc_ms)
        self.generator_late_ms = max(self.generator_late_ms, other.generator_late_ms)
        for second, late in other.dispatch_late_ms.items():
            at = max(0, second + shift)
            self.dispatch_late_ms[at] = max(self.dispatch_late_ms.get(at, 0.0), late)
        self.settle_ok += other.settle_ok
        for key, n in other.settle_errors.items():
            self.settle_errors[key] += n
        self.settle_latency.merge(other.settle_latency)

    def _series_pairs(
        self, other: Results
    ) -> list[tuple[defaultdict[int, int], defaultdict[int, int]]]:
        return [
            (self.logins_done, other.logins_done),
            (self.flows_done, other.flows_done),
            (self.login_attempts, other.login_attempts),
            (self.login_failures, other.login_failures),
            (self.flow_attempts, other.flow_attempts),
            (self.flow_failures, other.flow_failures),
        ]

    # ---------------------------------------------------------------- serialisation

    _SERIES = (
        "logins_done",
        "flows_done",
        "login_attempts",
        "login_failures",
        "flow_attempts",
        "flow_failures",
    )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start_at": self.start_at,
            "finished_at": self.finished_at,
            "generator_gc_ms": self.generator_gc_ms,
            "generator_late_ms": self.generator_late_ms,
            "dispatch_late_ms": {str(k): v for k, v in self.dispatch_late_ms.items()},
            "settle_ok": self.settle_ok,
            "settle_errors": dict(self.settle_errors),
            "settle_latency": self.settle_latency.to_dict(),
            "steps": {k: v.to_dict() for k, v in self.steps.items()},
            "errors": dict(self.errors),
            "flows_ok": dict(self.flows_ok),
            "flows_failed": dict(self.flows_failed),
            "flow_latency": {str(k): v.to_dict() for k, v in self.flow_latency.items()},
        }
        for name in self._SERIES:
            data[name] = {str(k): v for k, v in getattr(self, name).items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Results:
        results = cls(
            start_at=float(data["start_at"]),
            finished_at=float(data["finished_at"]),
            generator_gc_ms=float(data["generator_gc_ms"]),
            generator_late_ms=float(data["generator_late_ms"]),
            settle_ok=int(data["settle_ok"]),
            settle_latency=LatencyHistogram.from_dict(data["settle_latency"]),
        )
        results.settle_errors.update(data["settle_errors"])
        results.dispatch_late_ms = {int(k): float(v) for k, v in data["dispatch_late_ms"].items()}
        results.steps = {k: LatencyHistogram.from_dict(v) for k, v in data["steps"].items()}
        results.errors.update(data["errors"])
        results.flows_ok.update(data["flows_ok"])
        results.flows_failed.update(data["flows_failed"])
        results.flow_latency = {
            int(k): LatencyHistogram.from_dict(v) for k, v in data["flow_latency"].items()
        }
        for name in cls._SERIES:
            series: defaultdict[int, int] = getattr(results, name)
            series.update({int(k): int(v) for k, v in data[name].items()})
        return results


def down_buckets(
    attempts: dict[int, int],
    failures: dict[int, int],
    seconds: int,
    bucket_s: float = 60.0,
    share: float = DOWN_FAILURE_SHARE,
) -> list[dict[str, Any]]:
    """Split ``seconds`` of per-second attempt/failure counts into buckets of ``bucket_s``
    and mark each *down* when failures/attempts ≥ ``share``. A bucket with no attempts is
    not down: nobody tried to sign in, so nobody was turned away."""
    if bucket_s <= 0:
        raise ValueError("bucket length must be positive")
    n_buckets = max(1, math.ceil(seconds / bucket_s))
    out: list[dict[str, Any]] = []
    for b in range(n_buckets):
        lo, hi = b * bucket_s, (b + 1) * bucket_s
        tried = sum(n for s, n in attempts.items() if lo <= s < hi)
        failed = sum(n for s, n in failures.items() if lo <= s < hi)
        out.append(
            {
                "start_s": lo,
                "attempts": tried,
                "failures": failed,
                "down": tried > 0 and failed / tried >= share,
            }
        )
    return out
