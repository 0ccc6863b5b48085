"""District control over usage data: adoption, retention and deletion on request.

Usage is student data: raw events are kept ``usage_retention_days`` (default 365; a
district may set a shorter ``usage_retention_days`` in its settings, never a longer one),
then purged with their rollups. A student's usage is deleted on request. Both are audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from homeroom.audit.models import AuditEvent
from homeroom.errors import InvalidInput
from homeroom.roster.models import District
from homeroom.storage.sql import Database
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["UsageData", "retention_days"]


def retention_days(district: District, default: int) -> int:
    """The district's retention: its own setting when shorter than the platform's."""
    own = district.settings.get("usage_retention_days")
    if isinstance(own, int) and not isinstance(own, bool) and 1 <= own < default:
        return own
    return default


@dataclass
class UsageData:
    db: Database
    default_retention_days: int

    def adoption(self, district_id: str, today: dt.date | None = None) -> list[dict[str, Any]]:
        """Per app: active students and minutes over the last 7 and 30 days (today included)."""
        today = today or utcnow().date()
        with TenantScope(district_id), self.db.scoped() as uow:
            windows = {
                days: {
                    a.app_id: a
                    for a in uow.usage_rollups.adoption(today - dt.timedelta(days=days - 1), today)
                }
                for days in (7, 30)
            }
            app_ids = sorted(set(windows[7]) | set(windows[30]))
            names = {i: (app.name if (app := uow.apps.find(i)) else None) for i in app_ids}
        out = []
        for app_id in app_ids:
            row: dict[str, Any] = {"app_id": app_id, "name": names[app_id]}
            for days, found in windows.items():
                one = found.get(app_id)
                row[f"last_{days}_days"] = {
                    "active_students": one.active_students if one else 0,
                    "minutes": one.minutes if one else 0,
                }
            out.append(row)
        return out

    def purge(
        self,
        district: District,
        days: int | None = None,
        *,
        actor: str = "cli",
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Delete raw events (and rollups) of days older than the retention."""
        keep = days if days is not None else retention_days(district, self.default_retention_days)
        if keep < 1:
            raise InvalidInput("--days must be at least 1")
        cutoff = (now or utcnow()).date() - dt.timedelta(days=keep)
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            events = uow.usage_events.delete_before(cutoff)
            rollups = uow.usage_rollups.delete_before(cutoff)
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="usage.retention",
                    target_type="usage_events",
                    detail={
                        "days": keep,
                        "before": cutoff.isoformat(),
                        "events": events,
                        "rollups": rollups,
                    },
                )
            )
        return {
            "district": district.slug,
            "days": keep,
            "before": cutoff.isoformat(),
            "events_deleted": events,
            "rollups_deleted": rollups,
        }

    def delete_user(
        self, district: District, user_id: str, *, actor: str = "cli"
    ) -> dict[str, Any]:
        """Delete one student's usage (events and rollups) on request; NotFound when the
        user is not in this district."""
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            uow.users.get(user_id)
            events = uow.usage_events.delete_for_user(user_id)
            rollups = uow.usage_rollups.delete_for_user(user_id)
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="usage.delete_user",
                    target_type="user",
                    target_id=user_id,
                    detail={"events": events, "rollups": rollups},
                )
            )
        return {
            "district": district.slug,
            "user_id": user_id,
            "events_deleted": events,
            "rollups_deleted": rollups,
        }
