"""Checks over the usage pipeline, one district at a time.

- **freshness**: per connected app that reports usage, its latest ``received_at`` must be
  younger than ``max_age`` (an app that stopped reporting is the first sign of a broken
  integration). Apps that never reported are not part of the pipeline and are skipped.
- **volume**: events received on the last *complete* UTC day against the mean of the seven
  days before it; fewer than ``drop_ratio`` × mean fails. A partial "today" would fail
  every morning, so the check looks at yesterday unless told otherwise. Too little history
  (mean below ``min_mean``) is a skip, not a pass.
- **reconciliation**: for every (user, app, day) in the window, the sums of the raw events
  (minutes, count) must equal the daily rollup. They are written in one transaction, so
  any difference means a bug or a hand edit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from homeroom.roster.models import District
from homeroom.storage.sql import Database
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["CheckResult", "Thresholds", "run_checks"]

MAX_LISTED = 20
"""Mismatches listed per result (the count is always complete)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    max_age: dt.timedelta = dt.timedelta(hours=26)
    drop_ratio: float = 0.5
    min_mean: float = 10.0
    trailing_days: int = 7
    reconcile_days: int = 35


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str  # freshness | volume | reconciliation
    district: str  # slug
    status: str  # ok | fail | skip
    message: str
    app_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def run_checks(
    db: Database,
    districts: list[District],
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
    volume_day: dt.date | None = None,
) -> list[CheckResult]:
    limits = thresholds or Thresholds()
    now = now or utcnow()
    results: list[CheckResult] = []
    for district in districts:
        with TenantScope(district.id), db.scoped() as uow:
            connected = {c.app_id for c in uow.connections.list() if c.status == "active"}
            latest = uow.usage_events.latest_received()
            results += freshness(district, latest, connected, now, limits.max_age)
            day = volume_day or now.date() - dt.timedelta(days=1)
            counts = [
                uow.usage_events.count_received(_day_start(d), _day_start(d + dt.timedelta(days=1)))
                for d in (day - dt.timedelta(days=i) for i in range(limits.trailing_days + 1))
            ]
            results.append(volume(district, day, counts[0], counts[1:], limits))
            first = now.date() - dt.timedelta(days=limits.reconcile_days)
            raw = uow.usage_events.totals_by_day(first, now.date())
            rolled = uow.usage_rollups.totals_by_day(first, now.date())
            results.append(reconciliation(district, raw, rolled, first, now.date()))
    return results


def freshness(
    district: District,
    latest: dict[str, dt.datetime],
    connected: set[str],
    now: dt.datetime,
    max_age: dt.timedelta,
) -> list[CheckResult]:
    out = []
    for app_id in sorted(set(latest) & connected):
        age = now - latest[app_id]
        hours = round(age.total_seconds() / 3600, 1)
        detail = {"latest_received_at": latest[app_id].isoformat(), "age_hours": hours}
        if age > max_age:
            message = f"no events for {hours} h (limit {max_age.total_seconds() / 3600:g} h)"
            out.append(CheckResult("freshness", district.slug, "fail", message, app_id, detail))
        else:
            out.append(
                CheckResult("freshness", district.slug, "ok", f"{hours} h old", app_id, detail)
            )
    return out


def volume(
    district: District, day: dt.date, count: int, trailing: list[int], limits: Thresholds
) -> CheckResult:
    mean = sum(trailing) / len(trailing) if trailing else 0.0
    detail = {"day": day.isoformat(), "events": count, "trailing_mean": round(mean, 1)}
    if mean < limits.min_mean:
        message = f"too little history (mean {mean:.1f} < {limits.min_mean:g} events/day)"
        return CheckResult("volume", district.slug, "skip", message, detail=detail)
    if count < limits.drop_ratio * mean:
        message = f"{count} events on {day} vs a trailing mean of {mean:.1f}: a drop"
        return CheckResult("volume", district.slug, "fail", message, detail=detail)
    message = f"{count} events on {day} (trailing mean {mean:.1f})"
    return CheckResult("volume", district.slug, "ok", message, detail=detail)


def reconciliation(
    district: District,
    raw: dict[tuple[str, str, dt.date], tuple[int, int]],
    rolled: dict[tuple[str, str, dt.date], tuple[int, int]],
    first: dt.date,
    last: dt.date,
) -> CheckResult:
    mismatches = [
        {
            "user_id": key[0],
            "app_id": key[1],
            "day": key[2].isoformat(),
            "events": {"minutes": raw.get(key, (0, 0))[0], "count": raw.get(key, (0, 0))[1]},
            "rollup": {"minutes": rolled.get(key, (0, 0))[0], "count": rolled.get(key, (0, 0))[1]},
        }
        for key in sorted(set(raw) | set(rolled))
        if raw.get(key, (0, 0)) != rolled.get(key, (0, 0))
    ]
    detail: dict[str, Any] = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "rollups": len(rolled),
        "mismatches": len(mismatches),
        "examples": mismatches[:MAX_LISTED],
    }
    if mismatches:
        message = f"{len(mismatches)} (user, app, day) rollups disagree with their events"
        return CheckResult("reconciliation", district.slug, "fail", message, detail=detail)
    message = f"{len(rolled)} rollups match their events"
    return CheckResult("reconciliation", district.slug, "ok", message, detail=detail)
