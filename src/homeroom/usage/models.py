"""Usage records as plain dataclasses (no storage imports: repositories import these).

Units, fixed here once: ``minutes`` are whole minutes of use (0..1440 per event);
``progress`` is a fraction from 0 to 1 (0.42 = 42 % of the app's unit, course or level).
A usage day is the UTC date of ``occurred_at``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["AppAdoption", "DailyUsage", "Goal", "UsageEvent", "UsageKind"]


class UsageKind(StrEnum):
    MINUTES = "minutes"
    PROGRESS = "progress"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One event as an app reported it; ``event_id`` is the app's own id (idempotency key)."""

    district_id: str
    app_id: str
    event_id: str
    user_id: str
    kind: UsageKind
    minutes: int | None
    progress: float | None
    occurred_at: dt.datetime
    received_at: dt.datetime

    @property
    def day(self) -> dt.date:
        return self.occurred_at.astimezone(dt.UTC).date()

    def same_report(self, other: UsageEvent) -> bool:
        """True when ``other`` says the same thing (a replay, not a reuse of the id)."""
        return (self.user_id, self.kind, self.minutes, self.progress, self.occurred_at) == (
            other.user_id,
            other.kind,
            other.minutes,
            other.progress,
            other.occurred_at,
        )


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """The rollup of one (user, app, UTC day): sums of what was accepted."""

    district_id: str
    user_id: str
    app_id: str
    day: dt.date
    minutes: int
    events: int
    progress: float | None


@dataclass(frozen=True, slots=True)
class Goal:
    """A teacher's goal: each student of ``section_id`` uses ``app_id`` for
    ``minutes_per_week`` minutes every week from ``starts_on`` to ``ends_on``."""

    district_id: str
    id: str
    section_id: str
    app_id: str
    minutes_per_week: int
    starts_on: dt.date
    ends_on: dt.date
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AppAdoption:
    """One app's reach in a window: distinct active students and their minutes."""

    app_id: str
    active_students: int
    minutes: int
