"""What a run does: target, scenarios and their mix, and when each flow is due.

Open model (the default): flows arrive at fixed, precomputed times given by a rate curve,
whatever the server does. Each flow's latency is measured from its *scheduled* time, so a
server that stalls for a second is charged for every flow that should have started during
that second (the coordinated-omission correction, as in wrk2 and HdrHistogram). Closed model:
a fixed number of users loop back to back; simpler, but a slow server slows the load.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from homeroom.errors import InvalidInput

__all__ = [
    "LOGIN_SCENARIOS",
    "SCENARIOS",
    "Phase",
    "Plan",
    "RateCurve",
    "ScenarioMix",
    "back_to_school",
    "constant",
]

SCENARIOS = (
    "health",
    "instant_login",
    "password_login",
    "badge_login",
    "refresh",
    "client_credentials",
    "roster_paging",
)
"""Every scenario the harness knows (see :mod:`.scenarios`)."""

LOGIN_SCENARIOS = frozenset({"instant_login", "password_login", "badge_login"})
"""Flows that are a person signing in: the basis of logins/s and of down minutes."""

BACK_TO_SCHOOL_MIX: dict[str, float] = {
    "instant_login": 64.0,
    "password_login": 8.0,
    "badge_login": 8.0,
    "refresh": 10.0,
    "client_credentials": 5.0,
    "roster_paging": 5.0,
}
"""08:00 on a school day: mostly portal clicks into apps, some typed passwords and scanned
badges, apps refreshing tokens and syncing rosters in the background. Against a seed file
without badges (another provider's) the profile leaves ``badge_login`` out."""


@dataclass(frozen=True, slots=True)
class Phase:
    """A stretch of the run whose arrival rate moves linearly from ``start`` to ``end``."""

    name: str
    seconds: float
    start_rate: float
    end_rate: float


@dataclass(frozen=True, slots=True)
class RateCurve:
    """A piecewise-linear arrival rate (flows per second) over consecutive phases."""

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        if not self.phases:
            raise InvalidInput("a rate curve needs at least one phase")
        for p in self.phases:
            if p.seconds <= 0 or p.start_rate < 0 or p.end_rate < 0:
                raise InvalidInput(f"phase {p.name!r}: durations must be > 0 and rates >= 0")

    @property
    def duration(self) -> float:
        return sum(p.seconds for p in self.phases)

    def rate_at(self, t: float) -> float:
        start = 0.0
        for p in self.phases:
            if t < start + p.seconds:
                return p.start_rate + (p.end_rate - p.start_rate) * (t - start) / p.seconds
            start += p.seconds
        return 0.0

    def expected(self) -> float:
        """Λ(duration): how many flows the curve schedules in all."""
        return sum((p.start_rate + p.end_rate) / 2 * p.seconds for p in self.phases)

    def phase_at(self, t: float) -> str:
        start = 0.0
        for p in self.phases:
            if t < start + p.seconds:
                return p.name
            start += p.seconds
        return self.phases[-1].name

    def arrivals(self) -> Iterator[float]:
        """Offsets (seconds from start) of arrivals 0, 1, 2, …: the k-th arrival is where the
        cumulative rate Λ(t) reaches k + ½, so a constant rate r gives evenly spaced sends
        1/r apart, and any curve gives round(Λ(duration)) arrivals in total."""
        target = 0.5
        done = 0.0  # Λ at the start of the current phase
        offset = 0.0
        for p in self.phases:
            a = p.start_rate
            b = (p.end_rate - p.start_rate) / p.seconds
            total = (p.start_rate + p.end_rate) / 2 * p.seconds
            while target <= done + total:
                need = target - done  # solve a·u + b·u²/2 = need for u in [0, seconds]
                if abs(b) < 1e-12:
                    u = need / a
                else:
                    u = (-a + math.sqrt(max(a * a + 2 * b * need, 0.0))) / b
                yield offset + min(max(u, 0.0), p.seconds)
                target += 1.0
            done += total
            offset += p.seconds


def constant(rate: float, seconds: float) -> RateCurve:
    return RateCurve((Phase("steady", seconds, rate, rate),))


def back_to_school(peak_rate: float, seconds: float) -> RateCurve:
    """08:00–08:20 compressed into ``seconds``: the first bells (ramp from a tenth of the
    peak), every class starting at once (peak), then stragglers (tail)."""
    ramp, peak, tail = seconds * 0.35, seconds * 0.40, seconds * 0.25
    return RateCurve(
        (
            Phase("ramp", ramp, peak_rate * 0.1, peak_rate),
            Phase("peak", peak, peak_rate, peak_rate),
            Phase("tail", tail, peak_rate, peak_rate * 0.2),
        )
    )


@dataclass(frozen=True, slots=True)
class ScenarioMix:
    """Scenario weights; a seeded choice per flow so runs are repeatable."""

    weights: Mapping[str, float]

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(SCENARIOS)
        if unknown:
            raise InvalidInput(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        if not self.weights or any(w < 0 for w in self.weights.values()):
            raise InvalidInput("scenario weights must be >= 0 and name at least one scenario")
        if sum(self.weights.values()) <= 0:
            raise InvalidInput("scenario weights must not all be zero")

    @classmethod
    def parse(cls, text: str) -> ScenarioMix:
        """``instant_login`` or ``instant_login=70,refresh=30``."""
        weights: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, _, weight = part.partition("=")
            try:
                weights[name.strip().replace("-", "_")] = float(weight) if weight else 1.0
            except ValueError:
                raise InvalidInput(f"scenario weight {part!r} is not a number") from None
        return cls(weights)

    def chooser(self, seed: int) -> Iterator[str]:
        names = [n for n, w in self.weights.items() if w > 0]
        weights = [self.weights[n] for n in names]
        rng = random.Random(seed)
        while True:
            yield rng.choices(names, weights)[0]


@dataclass(frozen=True)
class Plan:
    """Everything a worker process needs; serialised to JSON for the child processes."""

    url: str
    mix: dict[str, float]
    model: str  # "open" | "closed"
    phases: tuple[Phase, ...]
    start_at: float  # epoch seconds when arrival 0 is due (same in every process)
    processes: int = 1
    concurrency: int = 64  # per process: users (browsers) available to run flows
    timeout_s: float = 10.0
    seed_file: dict[str, Any] = field(default_factory=dict)
    seed: int = 1
    down_bucket_s: float = 60.0
    profile: str = "custom"
    settle_s: float = 0.0  # open model: seconds at the first phase's rate before the window

    def __post_init__(self) -> None:
        if self.model not in ("open", "closed"):
            raise InvalidInput("model must be 'open' or 'closed'")
        if self.settle_s < 0 or (self.settle_s and self.model != "open"):
            raise InvalidInput("settling takes a positive time and the open model")
        ScenarioMix(self.mix)

    @property
    def curve(self) -> RateCurve:
        return RateCurve(self.phases)

    @property
    def duration(self) -> float:
        return self.curve.duration

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        data["phases"] = tuple(Phase(**p) for p in data["phases"])
        return cls(**data)

    def arrivals_for(self, worker: int) -> Iterator[tuple[int, float]]:
        """This worker's share of the schedule: arrivals k with k mod processes == worker,
        as (k, absolute due time). Interleaving keeps every process's load smooth."""
        for k, offset in enumerate(self.curve.arrivals()):
            if k % self.processes == worker:
                yield k, self.start_at + offset

    def settle_arrivals_for(self, worker: int) -> Iterator[tuple[int, float]]:
        """The settling stretch before the window (``settle_s``): arrivals at the rate the
        window opens with, so the window starts on a server and a generator already running
        at that rate (warm caches, open connections, a collector that has seen the load)
        rather than one idle since the sign-ins. Its flows are made and checked like any
        other and reported apart (``settling`` in the summary), never in the window's."""
        rate = self.curve.rate_at(0.0)
        if self.settle_s <= 0 or rate <= 0:
            return
        origin = self.start_at - self.settle_s
        for k, offset in enumerate(constant(rate, self.settle_s).arrivals()):
            if k % self.processes == worker:
                yield k, origin + offset
