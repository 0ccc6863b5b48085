"""Storage interfaces of usage: what the domain needs, nothing more.

Implementations (``homeroom.storage.sql.repos_usage``) are tenant repositories: every
method acts in the unit of work's district only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from homeroom.usage.models import AppAdoption, DailyUsage, Goal, UsageEvent

__all__ = ["DayTotals", "GoalStore", "RollupStore", "UsageEventStore"]

DayTotals = dict[tuple[str, str, dt.date], tuple[int, int]]
"""(user_id, app_id, day) -> (minutes, events): what reconciliation compares."""


class UsageEventStore(Protocol):
    def add(self, event: UsageEvent) -> bool:
        """Store the event; False (and nothing written) when its (app, event id) exists."""
        ...

    def get(self, app_id: str, event_id: str) -> UsageEvent | None: ...
    def totals_by_day(self, first: dt.date, last: dt.date) -> DayTotals: ...
    def latest_received(self) -> dict[str, dt.datetime]:
        """app_id -> when its latest event arrived."""
        ...

    def count_received(self, start: dt.datetime, end: dt.datetime) -> int: ...
    def delete_before(self, day: dt.date) -> int: ...
    def delete_for_user(self, user_id: str) -> int: ...


class RollupStore(Protocol):
    def add(
        self,
        user_id: str,
        app_id: str,
        day: dt.date,
        *,
        minutes: int,
        events: int,
        progress: float | None,
        at: dt.datetime,
    ) -> None:
        """Add to the (user, app, day) rollup, creating it (atomic under concurrency)."""
        ...

    def for_user(self, user_id: str) -> list[DailyUsage]: ...
    def minutes_by_user(
        self, user_ids: Sequence[str], app_id: str, first: dt.date, last: dt.date
    ) -> dict[str, int]: ...
    def adoption(self, first: dt.date, last: dt.date) -> list[AppAdoption]: ...
    def totals_by_day(self, first: dt.date, last: dt.date) -> DayTotals: ...
    def delete_before(self, day: dt.date) -> int: ...
    def delete_for_user(self, user_id: str) -> int: ...


class GoalStore(Protocol):
    def add(self, goal: Goal) -> None: ...
    def get(self, goal_id: str) -> Goal: ...
    def for_sections(self, section_ids: Sequence[str]) -> list[Goal]: ...
    def delete(self, goal_id: str) -> None: ...
