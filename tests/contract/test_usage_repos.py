"""The usage repositories' contract, on SQLite and PostgreSQL (as the application role)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from homeroom.errors import Conflict, NotFound
from homeroom.ids import new_id
from homeroom.roster.models import District, Role, School, Section
from homeroom.storage.sql import Database
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.usage.models import Goal, UsageEvent, UsageKind
from tests.contract.test_repos import make_district, make_user

DAY = dt.date(2026, 11, 2)
AT = dt.datetime(2026, 11, 2, 15, 30, tzinfo=dt.UTC)
Seeded = tuple[District, list[str], Section]


def _event(district: District, user_id: str, event_id: str, **kw: object) -> UsageEvent:
    values: dict[str, object] = {
        "district_id": district.id,
        "app_id": "app_one",
        "event_id": event_id,
        "user_id": user_id,
        "kind": UsageKind.MINUTES,
        "minutes": 5,
        "progress": None,
        "occurred_at": AT,
        "received_at": AT + dt.timedelta(minutes=1),
    }
    values.update(kw)
    return UsageEvent(**values)  # type: ignore[arg-type]


@pytest.fixture
def seeded(db: Database) -> Seeded:
    d = make_district(db, "usage")
    school = School(d.id, new_id("school"), "North")
    section = Section(d.id, new_id("section"), school.id, "Reading")
    users = [make_user(d, name) for name in ("ava", "ben")]
    with TenantScope(d.id), db.scoped() as uow:
        uow.schools.add(school)
        uow.sections.add(section)
        for u in users:
            uow.users.add(u)
        uow.users.add(make_user(d, "tia", Role.TEACHER))
    return d, [u.id for u in users], section


def test_events_are_idempotent_by_app_and_event_id(db: Database, seeded: Seeded) -> None:
    d, (ava, _), _ = seeded
    with TenantScope(d.id), db.scoped() as uow:
        assert uow.usage_events.add(_event(d, ava, "e1")) is True
        assert uow.usage_events.add(_event(d, ava, "e1", minutes=9)) is False
        assert uow.usage_events.add(_event(d, ava, "e1", app_id="app_two")) is True
        stored = uow.usage_events.get("app_one", "e1")
        assert stored is not None and stored.minutes == 5 and stored.received_at.tzinfo
        assert uow.usage_events.get("app_one", "nope") is None
    with TenantScope(d.id), db.scoped() as uow, pytest.raises(NotFound):
        uow.usage_events.add(_event(d, new_id("user"), "e2"))  # no such user here


def test_event_totals_latest_and_counts(db: Database, seeded: Seeded) -> None:
    d, (ava, ben), _ = seeded
    progress = {"kind": UsageKind.PROGRESS, "minutes": None, "progress": 0.5}
    with TenantScope(d.id), db.scoped() as uow:
        uow.usage_events.add(_event(d, ava, "e1"))
        uow.usage_events.add(_event(d, ava, "e2", minutes=7))
        uow.usage_events.add(_event(d, ava, "e3", **progress))
        later = AT + dt.timedelta(days=1)
        uow.usage_events.add(_event(d, ben, "e4", occurred_at=later, received_at=later))
    with TenantScope(d.id), db.scoped() as uow:
        totals = uow.usage_events.totals_by_day(DAY, DAY + dt.timedelta(days=1))
        assert totals == {
            (ava, "app_one", DAY): (12, 3),
            (ben, "app_one", DAY + dt.timedelta(days=1)): (5, 1),
        }
        assert uow.usage_events.totals_by_day(DAY, DAY) == {(ava, "app_one", DAY): (12, 3)}
        assert uow.usage_events.latest_received() == {"app_one": AT + dt.timedelta(days=1)}
        start = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
        assert uow.usage_events.count_received(start, start + dt.timedelta(days=1)) == 3
        assert uow.usage_events.delete_before(DAY + dt.timedelta(days=1)) == 3
        assert uow.usage_events.delete_for_user(ben) == 1
        assert uow.usage_events.totals_by_day(DAY, DAY + dt.timedelta(days=1)) == {}


def test_rollups_add_up_and_answer_dashboards(db: Database, seeded: Seeded) -> None:
    d, (ava, ben), _ = seeded
    now = utcnow()
    with TenantScope(d.id), db.scoped() as uow:
        r = uow.usage_rollups
        r.add(ava, "app_one", DAY, minutes=10, events=2, progress=None, at=now)
        r.add(ava, "app_one", DAY, minutes=5, events=1, progress=0.4, at=now)
        r.add(ava, "app_one", DAY, minutes=0, events=1, progress=0.2, at=now)
        r.add(
            ben, "app_one", DAY + dt.timedelta(days=3), minutes=20, events=1, progress=None, at=now
        )
        r.add(ben, "app_two", DAY, minutes=1, events=1, progress=None, at=now)
    with TenantScope(d.id), db.scoped() as uow:
        r = uow.usage_rollups
        (day,) = r.for_user(ava)
        assert (day.minutes, day.events, day.progress) == (15, 4, pytest.approx(0.4))
        week = DAY + dt.timedelta(days=6)
        assert r.minutes_by_user([ava, ben], "app_one", DAY, week) == {ava: 15, ben: 20}
        assert r.minutes_by_user([ava], "app_one", DAY, week) == {ava: 15}
        assert r.minutes_by_user([], "app_one", DAY, week) == {}
        adoption = {a.app_id: (a.active_students, a.minutes) for a in r.adoption(DAY, week)}
        assert adoption == {"app_one": (2, 35), "app_two": (1, 1)}
        assert {a.app_id for a in r.adoption(DAY, DAY)} == {"app_one", "app_two"}
        assert r.totals_by_day(DAY, DAY) == {
            (ava, "app_one", DAY): (15, 4),
            (ben, "app_two", DAY): (1, 1),
        }
        assert r.delete_before(DAY + dt.timedelta(days=1)) == 2
        assert r.delete_for_user(ben) == 1
        assert r.for_user(ben) == [] and r.for_user(ava) == []


def test_concurrent_rollup_additions_all_count(db: Database, seeded: Seeded) -> None:
    """Two transactions adding to the same rollup at once: neither addition is lost."""
    d, (ava, _), _ = seeded

    def add(n: int) -> None:
        with TenantScope(d.id), db.scoped() as uow:
            uow.usage_rollups.add(ava, "app_one", DAY, minutes=n, events=1, progress=None, at=AT)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, range(1, 9)))
    with TenantScope(d.id), db.scoped() as uow:
        (day,) = uow.usage_rollups.for_user(ava)
    assert (day.minutes, day.events) == (36, 8)


def test_goals_roundtrip(db: Database, seeded: Seeded) -> None:
    d, _, section = seeded
    goal = Goal(d.id, new_id("goal"), section.id, "app_one", 60, DAY, DAY, "user:x", AT)
    with TenantScope(d.id), db.scoped() as uow:
        uow.usage_goals.add(goal)
        with pytest.raises(Conflict):
            uow.usage_goals.add(goal)
        with pytest.raises(Conflict):  # the section must exist in this district
            uow.usage_goals.add(
                Goal(d.id, new_id("goal"), new_id("section"), "a", 1, DAY, DAY, "u", AT)
            )
    with TenantScope(d.id), db.scoped() as uow:
        assert uow.usage_goals.get(goal.id) == goal
        assert uow.usage_goals.for_sections([section.id]) == [goal]
        assert uow.usage_goals.for_sections([]) == []
        uow.usage_goals.delete(goal.id)
        with pytest.raises(NotFound):
            uow.usage_goals.delete(goal.id)
        with pytest.raises(NotFound):
            uow.usage_goals.get(goal.id)
