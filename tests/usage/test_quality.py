"""Data-quality checks: each passes on healthy data and fails once the data is broken."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from homeroom.quality.checks import CheckResult, Thresholds, run_checks
from homeroom.storage.sql.tables_usage import usage_daily, usage_events
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.usage.ingest import EventReport
from homeroom.usage.models import UsageKind
from homeroom.wiring import Container
from tests.usage.conftest import Classroom

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
YESTERDAY = NOW.date() - dt.timedelta(days=1)


def report(container: Container, c: Classroom, at: dt.datetime, n: int, tag: str) -> None:
    """``n`` events received at ``at`` (spread over both students)."""
    students = [c.ava.id, c.ben.id]
    events = [
        EventReport(f"{tag}-{i}", students[i % 2], UsageKind.MINUTES, at, minutes=i % 7)
        for i in range(n)
    ]
    outcomes = container.usage_ingest.report(c.district.id, c.app.id, events, now=at)
    assert {o.status for o in outcomes} == {"accepted"}


def checks(container: Container, c: Classroom, now: dt.datetime = NOW) -> dict[str, CheckResult]:
    results = run_checks(container.db, [c.district], Thresholds(), now=now)
    return {r.check: r for r in results}


def history(container: Container, c: Classroom, yesterday_events: int) -> None:
    for days_ago in range(2, 9):  # the seven days before yesterday
        at = NOW - dt.timedelta(days=days_ago)
        report(container, c, at, 20, f"d{days_ago}")
    report(container, c, NOW - dt.timedelta(days=1), yesterday_events, "y")
    report(container, c, NOW - dt.timedelta(hours=2), 3, "today")


def test_healthy_pipeline_passes(container: Container, classroom: Classroom) -> None:
    history(container, classroom, yesterday_events=18)
    found = checks(container, classroom)
    assert {k: r.status for k, r in found.items()} == {
        "freshness": "ok",
        "volume": "ok",
        "reconciliation": "ok",
    }
    assert found["freshness"].app_id == classroom.app.id
    assert found["volume"].detail == {
        "day": YESTERDAY.isoformat(),
        "events": 18,
        "trailing_mean": 20.0,
    }


def test_volume_drop_fails(container: Container, classroom: Classroom) -> None:
    history(container, classroom, yesterday_events=4)
    volume = checks(container, classroom)["volume"]
    assert volume.failed and volume.detail["events"] == 4, volume


def test_volume_without_history_is_skipped(container: Container, classroom: Classroom) -> None:
    report(container, classroom, NOW - dt.timedelta(days=1), 2, "y")
    assert checks(container, classroom)["volume"].status == "skip"


def test_stale_app_fails_freshness(container: Container, classroom: Classroom) -> None:
    report(container, classroom, NOW - dt.timedelta(hours=30), 2, "old")
    fresh = checks(container, classroom)["freshness"]
    assert fresh.failed and fresh.detail["age_hours"] == 30.0
    assert checks(container, classroom, now=NOW - dt.timedelta(hours=8))["freshness"].status == "ok"


def test_reconciliation_fails_on_a_changed_rollup_or_event(
    container: Container, classroom: Classroom
) -> None:
    c = classroom
    report(container, c, NOW - dt.timedelta(hours=1), 6, "r")
    assert checks(container, c)["reconciliation"].status == "ok"
    with TenantScope(c.district.id), container.db.scoped() as uow:
        uow.conn.execute(
            update(usage_daily)
            .where(usage_daily.c.district_id == c.district.id, usage_daily.c.user_id == c.ava.id)
            .values(minutes=usage_daily.c.minutes + 1)
        )
    broken = checks(container, c)["reconciliation"]
    assert broken.failed and broken.detail["mismatches"] == 1
    (example,) = broken.detail["examples"]
    assert example["user_id"] == c.ava.id
    assert example["rollup"]["minutes"] == example["events"]["minutes"] + 1
    with TenantScope(c.district.id), container.db.scoped() as uow:  # undo, break the events
        uow.conn.execute(
            update(usage_daily)
            .where(usage_daily.c.district_id == c.district.id)
            .values(minutes=usage_daily.c.minutes - 1)
            .where(usage_daily.c.user_id == c.ava.id)
        )
        uow.conn.execute(
            usage_events.delete().where(
                usage_events.c.district_id == c.district.id, usage_events.c.event_id == "r-1"
            )
        )
    assert checks(container, c)["reconciliation"].detail["mismatches"] == 1


def test_checks_read_only_their_district(container: Container, classroom: Classroom) -> None:
    """The other district's events are not counted in this one's checks."""
    c = classroom
    other = [EventReport("x", c.outsider.id, UsageKind.MINUTES, utcnow(), minutes=5)]
    assert container.usage_ingest.report(c.other_district.id, c.app.id, other)[0].status == (
        "accepted"
    )
    results = run_checks(container.db, [c.district])
    assert [r.check for r in results] == ["volume", "reconciliation"]  # no freshness: no events
    assert results[1].detail["rollups"] == 0
