"""Accepting usage events: validation, sharing, idempotency, rollups in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from homeroom.ops.metrics import USAGE_EVENTS_ACCEPTED, USAGE_EVENTS_REJECTED
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.usage.ingest import EventReport, Outcome
from homeroom.usage.models import UsageKind
from homeroom.wiring import Container
from tests.usage.conftest import Classroom

NOW = dt.datetime(2026, 11, 4, 12, 0, tzinfo=dt.UTC)


def minutes(event_id: str, user_id: str, n: int = 10, at: dt.datetime = NOW) -> EventReport:
    return EventReport(event_id, user_id, UsageKind.MINUTES, at, minutes=n)


def statuses(outcomes: list[Outcome]) -> list[tuple[str, str | None]]:
    return [(o.status, o.reason) for o in outcomes]


def rollup_minutes(container: Container, c: Classroom, user_id: str) -> list[tuple[int, int]]:
    with TenantScope(c.district.id), container.db.scoped() as uow:
        return [(d.minutes, d.events) for d in uow.usage_rollups.for_user(user_id)]


def test_accepted_events_are_rolled_up_and_replays_not_counted(
    container: Container, classroom: Classroom
) -> None:
    c = classroom
    ingest = container.usage_ingest
    batch = [
        minutes("e1", c.ava.id, 10),
        minutes("e2", c.ava.id, 5),
        EventReport("e3", c.ava.id, UsageKind.PROGRESS, NOW, progress=0.25),
        minutes("e1", c.ava.id, 10),  # a replay inside the batch
    ]
    first = ingest.report(c.district.id, c.app.id, batch, now=NOW)
    assert statuses(first) == [("accepted", None)] * 3 + [("duplicate", None)]
    again = ingest.report(c.district.id, c.app.id, batch[:3], now=NOW)
    assert statuses(again) == [("duplicate", None)] * 3
    assert rollup_minutes(container, c, c.ava.id) == [(15, 3)]
    reused = ingest.report(c.district.id, c.app.id, [minutes("e1", c.ava.id, 99)], now=NOW)
    assert statuses(reused) == [("rejected", "id_reused")]
    assert rollup_minutes(container, c, c.ava.id) == [(15, 3)]


def test_unknown_unshared_and_foreign_users_are_rejected_alike(
    container: Container, classroom: Classroom
) -> None:
    """A teacher (not shared: students only), a student of another district and an id that
    exists nowhere get the same reason, so the answer reveals no existence."""
    c = classroom
    out = container.usage_ingest.report(
        c.district.id,
        c.app.id,
        [
            minutes("t", c.teacher.id),
            minutes("o", c.outsider.id),
            minutes("n", "usr_" + "0" * 20),
            minutes("ok", c.ben.id),
        ],
        now=NOW,
    )
    assert statuses(out) == [("rejected", "unknown_user")] * 3 + [("accepted", None)]
    with TenantScope(c.other_district.id), container.db.scoped() as uow:
        assert uow.usage_rollups.for_user(c.outsider.id) == []


def test_time_limits_and_invalid_values(container: Container, classroom: Classroom) -> None:
    c = classroom
    retention = container.settings.usage_retention_days
    out = container.usage_ingest.report(
        c.district.id,
        c.app.id,
        [
            minutes("future", c.ava.id, at=NOW + dt.timedelta(hours=1)),
            minutes("skew", c.ava.id, at=NOW + dt.timedelta(seconds=60)),  # within skew
            minutes("old", c.ava.id, at=NOW - dt.timedelta(days=retention + 1)),
            minutes("edge", c.ava.id, at=NOW - dt.timedelta(days=retention - 1)),
            EventReport("both", c.ava.id, UsageKind.MINUTES, NOW, minutes=3, progress=0.1),
            EventReport("pct", c.ava.id, UsageKind.PROGRESS, NOW, progress=42),
            minutes("long", c.ava.id, 1441),
        ],
        now=NOW,
    )
    assert statuses(out) == [
        ("rejected", "in_future"),
        ("accepted", None),
        ("rejected", "too_old"),
        ("accepted", None),
        ("rejected", "invalid"),
        ("rejected", "invalid"),
        ("rejected", "invalid"),
    ]


def test_disconnected_app_has_nobody(container: Container, classroom: Classroom) -> None:
    c = classroom
    with TenantScope(c.district.id), container.db.scoped() as uow:
        uow.connections.delete(c.app.id)
    out = container.usage_ingest.report(c.district.id, c.app.id, [minutes("x", c.ava.id)])
    assert statuses(out) == [("rejected", "unknown_user")]


def test_metrics_count_accepted_and_rejected(container: Container, classroom: Classroom) -> None:
    c = classroom
    accepted = USAGE_EVENTS_ACCEPTED.labels(kind="minutes")._value.get()
    rejected = USAGE_EVENTS_REJECTED.labels(reason="unknown_user")._value.get()
    container.usage_ingest.report(
        c.district.id,
        c.app.id,
        [minutes("a", c.ava.id, at=utcnow()), minutes("b", c.teacher.id, at=utcnow())],
    )
    assert USAGE_EVENTS_ACCEPTED.labels(kind="minutes")._value.get() == accepted + 1
    assert USAGE_EVENTS_REJECTED.labels(reason="unknown_user")._value.get() == rejected + 1


def test_nothing_is_kept_when_the_transaction_fails(
    container: Container, classroom: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events and rollups commit together: a failing rollup write leaves no event behind,
    and the metric does not count what was not stored."""
    from homeroom.storage.sql import repos_usage

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(repos_usage.SqlUsageRollups, "add", broken)
    before = USAGE_EVENTS_ACCEPTED.labels(kind="minutes")._value.get()
    c = classroom
    with pytest.raises(RuntimeError):
        container.usage_ingest.report(c.district.id, c.app.id, [minutes("lost", c.ava.id)], now=NOW)
    assert USAGE_EVENTS_ACCEPTED.labels(kind="minutes")._value.get() == before
    with TenantScope(c.district.id), container.db.scoped() as uow:
        assert uow.usage_events.get(c.app.id, "lost") is None


def test_a_districts_shorter_retention_applies(container: Container, classroom: Classroom) -> None:
    c = classroom
    with container.db.platform() as uow:
        uow.districts.update_settings(c.district.id, {"usage_retention_days": 30})
    out = container.usage_ingest.report(
        c.district.id,
        c.app.id,
        [
            minutes("a", c.ava.id, at=NOW - dt.timedelta(days=31)),
            minutes("b", c.ava.id, at=NOW - dt.timedelta(days=29)),
        ],
        now=NOW,
    )
    assert statuses(out) == [("rejected", "too_old"), ("accepted", None)]
