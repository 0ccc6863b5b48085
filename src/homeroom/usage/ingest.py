"""Accepting usage events from an app, for the one district its token names.

Rules, checked per event (a bad event never sinks the batch):

- the user must be in the district *and* shared with the app by its connection's sharing
  policy; anything else is ``unknown_user``, whether the id exists elsewhere or nowhere
  (the answer must not reveal another district's, or an unshared student's, existence);
- ``occurred_at`` may be at most ``future_skew_s`` ahead of the server clock, and not older
  than the district's retention (``usage.retention.retention_days``: such an event would
  be purged at once);
- the (app, event id) pair is the idempotency key: a replay of an accepted event is
  ``duplicate`` (accepted, not counted twice); the same id with other content is
  ``id_reused`` (rejected: the app has a bug, and the first report stands).

Accepted events and their daily rollups are written in one transaction: when the answer
says ``accepted``, both are committed; on any failure neither is.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from homeroom.ops.metrics import (
    USAGE_EVENTS_ACCEPTED,
    USAGE_EVENTS_DUPLICATE,
    USAGE_EVENTS_REJECTED,
)
from homeroom.sharing.service import SharingService
from homeroom.storage.sql import Database, UnitOfWork
from homeroom.storage.sql import tables as t
from homeroom.storage.sql.types import utcnow
from homeroom.storage.sql.visibility import Visibility
from homeroom.tenancy import TenantScope
from homeroom.usage.models import UsageEvent, UsageKind
from homeroom.usage.retention import retention_days

__all__ = ["MAX_BATCH", "MAX_MINUTES", "EventReport", "Outcome", "UsageIngest"]

MAX_BATCH = 1000
"""Events per request: a class of 30 reporting every minute fits; a backlog is paged."""
MAX_MINUTES = 1440
"""Whole minutes in one event: a day."""


@dataclass(frozen=True, slots=True)
class EventReport:
    """One event as received (types already checked by the adapter)."""

    id: str
    user_id: str
    kind: UsageKind
    occurred_at: dt.datetime
    minutes: int | None = None
    progress: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one event: ``accepted``, ``duplicate`` or ``rejected`` (+ reason)."""

    index: int
    id: str
    status: str
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"index": self.index, "id": self.id, "status": self.status}
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def _invalid(report: EventReport) -> bool:
    if report.occurred_at.tzinfo is None:
        return True
    if report.kind is UsageKind.MINUTES:
        return (
            report.minutes is None
            or report.progress is not None
            or not 0 <= report.minutes <= MAX_MINUTES
        )
    return report.progress is None or report.minutes is not None or not 0 <= report.progress <= 1


def shared_users(uow: UnitOfWork, app_id: str, user_ids: Sequence[str]) -> set[str]:
    """Of ``user_ids``, those in this district that the app's connection shares with it."""
    policy = SharingService.policy(uow, app_id)
    if policy is None or not user_ids:
        return set()
    condition = Visibility(policy).users() & t.users.c.id.in_(sorted(set(user_ids)))
    return uow.roster.ids_where("user", condition)


@dataclass
class UsageIngest:
    db: Database
    retention_days: int
    future_skew_s: int = 300

    def report(
        self,
        district_id: str,
        app_id: str,
        reports: Sequence[EventReport],
        now: dt.datetime | None = None,
    ) -> list[Outcome]:
        """Store what is valid of ``reports``; one outcome per report, in order."""
        now = now or utcnow()
        latest = now + dt.timedelta(seconds=self.future_skew_s)
        outcomes: list[Outcome] = []
        accepted: list[UsageEvent] = []
        with TenantScope(district_id), self.db.scoped(write=True) as uow:
            keep = retention_days(uow.districts.get(district_id), self.retention_days)
            oldest = now.date() - dt.timedelta(days=keep)
            visible = shared_users(uow, app_id, [r.user_id for r in reports])
            seen: dict[str, UsageEvent] = {}
            for index, report in enumerate(reports):
                reason: str | None = None
                if _invalid(report):
                    reason = "invalid"
                elif report.user_id not in visible:
                    reason = "unknown_user"
                elif report.occurred_at > latest:
                    reason = "in_future"
                elif report.occurred_at.astimezone(dt.UTC).date() < oldest:
                    reason = "too_old"
                if reason is not None:
                    outcomes.append(Outcome(index, report.id, "rejected", reason))
                    continue
                event = UsageEvent(
                    district_id=district_id,
                    app_id=app_id,
                    event_id=report.id,
                    user_id=report.user_id,
                    kind=report.kind,
                    minutes=report.minutes,
                    progress=report.progress,
                    occurred_at=report.occurred_at,
                    received_at=now,
                )
                earlier = seen.get(report.id) or uow.usage_events.get(app_id, report.id)
                if earlier is None and uow.usage_events.add(event):
                    seen[report.id] = event
                    accepted.append(event)
                    outcomes.append(Outcome(index, report.id, "accepted"))
                    continue
                earlier = earlier or uow.usage_events.get(app_id, report.id)
                if earlier is not None and earlier.same_report(event):
                    outcomes.append(Outcome(index, report.id, "duplicate"))
                else:
                    outcomes.append(Outcome(index, report.id, "rejected", "id_reused"))
            _roll_up(uow, accepted, now)
        # Counted only once committed: "accepted" means durably stored.
        for event in accepted:
            USAGE_EVENTS_ACCEPTED.labels(kind=event.kind.value).inc()
        for outcome in outcomes:
            if outcome.status == "duplicate":
                USAGE_EVENTS_DUPLICATE.inc()
            elif outcome.reason is not None:
                USAGE_EVENTS_REJECTED.labels(reason=outcome.reason).inc()
        return outcomes


@dataclass
class _Sum:
    minutes: int = 0
    events: int = 0
    progress: float | None = None


def _roll_up(uow: UnitOfWork, events: Sequence[UsageEvent], now: dt.datetime) -> None:
    """Add the accepted events to their (user, app, day) rollups, one write per rollup."""
    sums: dict[tuple[str, str, dt.date], _Sum] = defaultdict(_Sum)
    for event in events:
        total = sums[(event.user_id, event.app_id, event.day)]
        total.minutes += event.minutes or 0
        total.events += 1
        if event.progress is not None:
            total.progress = max(total.progress or 0.0, event.progress)
    for (user_id, app_id, day), total in sorted(sums.items()):
        uow.usage_rollups.add(
            user_id,
            app_id,
            day,
            minutes=total.minutes,
            events=total.events,
            progress=total.progress,
            at=now,
        )
