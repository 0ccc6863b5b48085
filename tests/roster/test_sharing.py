"""Sharing: modes, field groups, expiry, and unsharing as deleted events (SQLite and
PostgreSQL). Counts are checked against the sample package, whose shape is:

- Oak Hill (sch-oak): Rivera (Math 3, Reading 3), Chen (Math 4); students stu-001..012,
  odd-numbered in grade 03 (both of Rivera's classes), even-numbered in grade 04 (Math 4).
- Elm Street (sch-elm): Okafor (Math 3), Novak (Science 4, Homeroom); students
  stu-013..024, grade 03 in Math 3, grade 04 in Science 4 and Homeroom.
- a district administrator, two guardians (of stu-001 and stu-002), demographics for
  every student.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from homeroom.errors import InvalidInput, NotFound
from homeroom.roster.models import District
from homeroom.sharing.models import FieldGroup, ScopeMode
from homeroom.sharing.service import SharingService
from homeroom.storage.sql import Database
from homeroom.storage.sql import tables as t
from homeroom.tenancy import TenantScope


def counts(sharing: SharingService, district: District, app_id: str) -> dict[str, int]:
    info = sharing.show(district, app_id)
    return {kind: r["count"] for kind, r in info["records"].items()}


def names(db: Database, district: District, app_id: str) -> set[str]:
    with TenantScope(district.id), db.scoped() as uow:
        users = SharingService.visible(uow, SharingService.policy(uow, app_id))["user"]
        rows = uow.conn.execute(select(t.users.c.id, t.users.c.sourced_id))
        return {sid for id_, sid in rows if id_ in users}


def test_not_connected_shares_nothing(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    with pytest.raises(NotFound):
        sharing.show(riverside, app_id)
    with TenantScope(riverside.id), db.scoped() as uow:
        policy = SharingService.policy(uow, app_id)
        assert policy is None
        assert all(not ids for ids in SharingService.visible(uow, policy).values())


def test_whole_district_basic(riverside: District, app_id: str, sharing: SharingService) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT)
    assert counts(sharing, riverside, app_id) == {
        "school": 2,
        "term": 3,
        "course": 4,
        "section": 6,
        "user": 28,  # 24 students + 4 teachers; no staff, no guardians by default
        "enrollment": 42,
        "demographics": 0,  # sensitive: only when granted
    }
    fields = sharing.show(riverside, app_id)["records"]["user"]["fields"]
    assert "given_name" in fields and "email" not in fields and "demographics" not in fields


def test_chosen_schools(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.SCHOOLS, schools=["sch-oak"])
    assert counts(sharing, riverside, app_id) == {
        "school": 1,
        "term": 3,
        "course": 3,
        "section": 3,
        "user": 14,
        "enrollment": 21,
        "demographics": 0,
    }
    assert "tch-okafor" not in names(db, riverside, app_id)


def test_chosen_sections(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.SECTIONS, sections=["cls-elm-s4"])
    assert counts(sharing, riverside, app_id) == {
        "school": 1,
        "term": 3,
        "course": 1,
        "section": 1,
        "user": 7,
        "enrollment": 7,
        "demographics": 0,
    }
    assert names(db, riverside, app_id) == {
        "tch-novak",
        *(f"stu-{i:03d}" for i in range(14, 25, 2)),
    }


def test_rules_grade_and_school(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.RULES, rules=[{"grade": 3}])
    assert counts(sharing, riverside, app_id)["user"] == 14  # 12 third graders + 2 teachers
    assert counts(sharing, riverside, app_id)["section"] == 3
    assert counts(sharing, riverside, app_id)["enrollment"] == 21
    sharing.set_connection(
        riverside, app_id, mode=ScopeMode.RULES, rules=[{"school": "sch-elm", "grade": "04"}]
    )
    assert names(db, riverside, app_id) == {
        "tch-novak",
        *(f"stu-{i:03d}" for i in range(14, 25, 2)),
    }
    with pytest.raises(InvalidInput):
        sharing.set_connection(riverside, app_id, mode=ScopeMode.RULES, rules=[{"color": "red"}])


def test_sensitive_groups_only_when_granted(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(
        riverside,
        app_id,
        mode=ScopeMode.DISTRICT,
        field_groups=[FieldGroup.DEMOGRAPHICS, FieldGroup.GUARDIANS],
        roles=["student", "teacher", "guardian"],
    )
    got = counts(sharing, riverside, app_id)
    assert got["demographics"] == 24 and got["user"] == 30
    # Guardians follow their children: Elm Street only has no guardian's child.
    sharing.set_connection(
        riverside,
        app_id,
        mode=ScopeMode.SCHOOLS,
        schools=["sch-elm"],
        field_groups=[FieldGroup.DEMOGRAPHICS, FieldGroup.GUARDIANS],
        roles=["student", "teacher", "guardian"],
    )
    assert not {"gdn-1", "gdn-2"} & names(db, riverside, app_id)
    assert counts(sharing, riverside, app_id)["demographics"] == 12


def test_expired_or_paused_shares_nothing(
    riverside: District, app_id: str, sharing: SharingService
) -> None:
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT, expires_at=past)
    info = sharing.show(riverside, app_id)
    assert info["effective"] is False
    assert set(counts(sharing, riverside, app_id).values()) == {0}
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT, status="paused")
    assert set(counts(sharing, riverside, app_id).values()) == {0}


def test_unsharing_emits_deleted_events_for_that_app_only(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    _, first = sharing.set_connection(
        riverside, app_id, mode=ScopeMode.SCHOOLS, schools=["sch-oak"]
    )
    assert first["user"] == {"shared": 14, "unshared": 0}
    _, second = sharing.set_connection(
        riverside, app_id, mode=ScopeMode.SECTIONS, sections=["cls-oak-m4"]
    )
    assert second["section"] == {"shared": 0, "unshared": 2}
    assert second["user"] == {"shared": 0, "unshared": 7}  # Rivera and six third graders
    with TenantScope(riverside.id), db.scoped() as uow:
        mine = [e for e in uow.roster.events(app_id=app_id, limit=10_000) if e["app_id"]]
        others = uow.roster.events(app_id="app_someoneelse00000000", limit=10_000)
    deleted = [e for e in mine if e["action"] == "deleted"]
    assert len(deleted) == sum(c["unshared"] for c in second.values())
    assert not any(e["app_id"] for e in others)
    gone = sharing.disconnect(riverside, app_id)
    assert gone["user"] == {"shared": 0, "unshared": 7}
    with pytest.raises(NotFound):
        sharing.show(riverside, app_id)


def test_connection_in_one_district_shares_nothing_of_another(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    from homeroom.identity.passwords import PasswordHasher
    from homeroom.roster.admin import RosterAdmin

    other = RosterAdmin(db, PasswordHasher()).create_district("hillview", "Hillview")
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT)
    with TenantScope(other.id), db.scoped() as uow:
        assert SharingService.policy(uow, app_id) is None
    with pytest.raises(NotFound):
        sharing.set_connection(riverside, app_id, mode=ScopeMode.SCHOOLS, schools=["sch-nope"])


def test_user_fields_for_token_claims(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.SCHOOLS, schools=["sch-oak"])
    with TenantScope(riverside.id), db.scoped() as uow:
        ids = dict(uow.conn.execute(select(t.users.c.sourced_id, t.users.c.id)).all())
        oak = SharingService.user_fields(uow, app_id, ids["tch-rivera"])
        assert oak is not None and "given_name" in oak and "email" not in oak
        assert SharingService.user_fields(uow, app_id, ids["tch-novak"]) is None  # Elm Street
        assert SharingService.user_fields(uow, "app_notconnected000000", ids["tch-rivera"]) is None
