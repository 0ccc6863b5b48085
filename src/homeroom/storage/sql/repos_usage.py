"""SQL repositories of usage (see ``homeroom.usage.interfaces``).

The rollup is an ``INSERT … ON CONFLICT DO UPDATE`` that adds to the stored sums, so two
concurrent batches for the same student and day both count (no read-modify-write race).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from homeroom.errors import NotFound
from homeroom.storage.sql import tables as t
from homeroom.storage.sql.repos import _Tenant
from homeroom.storage.sql.tables_usage import usage_daily, usage_events, usage_goals
from homeroom.usage.interfaces import DayTotals, GoalStore, RollupStore, UsageEventStore
from homeroom.usage.models import AppAdoption, DailyUsage, Goal, UsageEvent, UsageKind

__all__ = ["SqlUsageEvents", "SqlUsageGoals", "SqlUsageRollups"]


class SqlUsageEvents(_Tenant):
    table = usage_events

    def add(self, event: UsageEvent) -> bool:
        values = {
            "district_id": self.district_id,
            "app_id": event.app_id,
            "event_id": event.event_id,
            "user_id": event.user_id,
            "kind": event.kind.value,
            "minutes": event.minutes,
            "progress": event.progress,
            "occurred_at": event.occurred_at,
            "day": event.day,
            "received_at": event.received_at,
        }
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(usage_events).values(**values))
        except IntegrityError:
            # A concurrent batch stored the same id first (primary key), or the user does
            # not exist in this district (foreign key): the caller tells them apart.
            if self.get(event.app_id, event.event_id) is not None:
                return False
            raise NotFound("user not found") from None
        return True

    def get(self, app_id: str, event_id: str) -> UsageEvent | None:
        row = self.conn.execute(
            select(usage_events).where(
                self._mine, usage_events.c.app_id == app_id, usage_events.c.event_id == event_id
            )
        ).first()
        return None if row is None else _event(row)

    def totals_by_day(self, first: dt.date, last: dt.date) -> DayTotals:
        c = usage_events.c
        rows = self.conn.execute(
            select(
                c.user_id,
                c.app_id,
                c.day,
                func.coalesce(func.sum(c.minutes), 0),
                func.count(),
            )
            .where(self._mine, c.day >= first, c.day <= last)
            .group_by(c.user_id, c.app_id, c.day)
        )
        return {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in rows}

    def latest_received(self) -> dict[str, dt.datetime]:
        c = usage_events.c
        rows = self.conn.execute(
            select(c.app_id, func.max(c.received_at)).where(self._mine).group_by(c.app_id)
        )
        return {r[0]: _aware(r[1]) for r in rows}

    def count_received(self, start: dt.datetime, end: dt.datetime) -> int:
        c = usage_events.c
        return self._count(c.received_at >= start, c.received_at < end)

    def delete_before(self, day: dt.date) -> int:
        result = self.conn.execute(delete(usage_events).where(self._mine, usage_events.c.day < day))
        return int(result.rowcount)

    def delete_for_user(self, user_id: str) -> int:
        result = self.conn.execute(
            delete(usage_events).where(self._mine, usage_events.c.user_id == user_id)
        )
        return int(result.rowcount)


class SqlUsageRollups(_Tenant):
    table = usage_daily

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
        values = {
            "district_id": self.district_id,
            "user_id": user_id,
            "app_id": app_id,
            "day": day,
            "minutes": minutes,
            "events": events,
            "progress": progress,
            "updated_at": at,
        }
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(usage_daily).values(**values)
        c = usage_daily.c
        new = stmt.excluded
        highest = func.coalesce(
            func.greatest(c.progress, new.progress)
            if dialect is postgresql
            else func.max(c.progress, new.progress),
            c.progress,
            new.progress,
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[c.district_id, c.user_id, c.app_id, c.day],
                set_={
                    "minutes": c.minutes + new.minutes,
                    "events": c.events + new.events,
                    "progress": highest,
                    "updated_at": new.updated_at,
                },
            )
        )

    def for_user(self, user_id: str) -> list[DailyUsage]:
        c = usage_daily.c
        rows = self.conn.execute(
            select(usage_daily).where(self._mine, c.user_id == user_id).order_by(c.day, c.app_id)
        )
        return [_daily(r) for r in rows]

    def minutes_by_user(
        self, user_ids: Sequence[str], app_id: str, first: dt.date, last: dt.date
    ) -> dict[str, int]:
        if not user_ids:
            return {}
        c = usage_daily.c
        rows = self.conn.execute(
            select(c.user_id, func.sum(c.minutes))
            .where(
                self._mine,
                c.user_id.in_(list(user_ids)),
                c.app_id == app_id,
                c.day >= first,
                c.day <= last,
            )
            .group_by(c.user_id)
        )
        return {r[0]: int(r[1]) for r in rows}

    def adoption(self, first: dt.date, last: dt.date) -> list[AppAdoption]:
        """Per app: distinct students with any activity in [first, last], their minutes."""
        c, u = usage_daily.c, t.users.c
        rows = self.conn.execute(
            select(c.app_id, func.count(func.distinct(c.user_id)), func.sum(c.minutes))
            .select_from(
                usage_daily.join(t.users, and_(u.district_id == c.district_id, u.id == c.user_id))
            )
            .where(self._mine, u.role == "student", c.day >= first, c.day <= last)
            .group_by(c.app_id)
            .order_by(c.app_id)
        )
        return [AppAdoption(r[0], int(r[1]), int(r[2] or 0)) for r in rows]

    def totals_by_day(self, first: dt.date, last: dt.date) -> DayTotals:
        c = usage_daily.c
        rows = self.conn.execute(
            select(c.user_id, c.app_id, c.day, c.minutes, c.events).where(
                self._mine, c.day >= first, c.day <= last
            )
        )
        return {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in rows}

    def delete_before(self, day: dt.date) -> int:
        result = self.conn.execute(delete(usage_daily).where(self._mine, usage_daily.c.day < day))
        return int(result.rowcount)

    def delete_for_user(self, user_id: str) -> int:
        result = self.conn.execute(
            delete(usage_daily).where(self._mine, usage_daily.c.user_id == user_id)
        )
        return int(result.rowcount)


class SqlUsageGoals(_Tenant):
    table = usage_goals

    def add(self, goal: Goal) -> None:
        self._insert(
            {
                "id": goal.id,
                "section_id": goal.section_id,
                "app_id": goal.app_id,
                "minutes_per_week": goal.minutes_per_week,
                "starts_on": goal.starts_on,
                "ends_on": goal.ends_on,
                "created_by": goal.created_by,
                "created_at": goal.created_at,
            }
        )

    def get(self, goal_id: str) -> Goal:
        return _goal(self._one(goal_id, "goal"))

    def for_sections(self, section_ids: Sequence[str]) -> list[Goal]:
        if not section_ids:
            return []
        c = usage_goals.c
        rows = self.conn.execute(
            select(usage_goals)
            .where(self._mine, c.section_id.in_(list(section_ids)))
            .order_by(c.section_id, c.starts_on, c.id)
        )
        return [_goal(r) for r in rows]

    def delete(self, goal_id: str) -> None:
        result = self.conn.execute(
            delete(usage_goals).where(self._mine, usage_goals.c.id == goal_id)
        )
        if result.rowcount == 0:
            raise NotFound("goal not found")


def _aware(value: dt.datetime) -> dt.datetime:
    """Aggregates bypass the column type: SQLite hands back a naive datetime (or text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _event(row: Row[Any]) -> UsageEvent:
    return UsageEvent(
        district_id=row.district_id,
        app_id=row.app_id,
        event_id=row.event_id,
        user_id=row.user_id,
        kind=UsageKind(row.kind),
        minutes=row.minutes,
        progress=row.progress,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
    )


def _daily(row: Row[Any]) -> DailyUsage:
    return DailyUsage(
        district_id=row.district_id,
        user_id=row.user_id,
        app_id=row.app_id,
        day=row.day,
        minutes=row.minutes,
        events=row.events,
        progress=row.progress,
    )


def _goal(row: Row[Any]) -> Goal:
    return Goal(
        district_id=row.district_id,
        id=row.id,
        section_id=row.section_id,
        app_id=row.app_id,
        minutes_per_week=row.minutes_per_week,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _conforms(
    events: SqlUsageEvents, rollups: SqlUsageRollups, goals: SqlUsageGoals
) -> tuple[UsageEventStore, RollupStore, GoalStore]:
    """Never called: mypy proves here that the SQL repositories meet the interfaces."""
    return events, rollups, goals
