"""The importer on SQLite and PostgreSQL: all or nothing, idempotent, diffed into events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from homeroom.errors import Conflict
from homeroom.identity.passwords import PasswordHasher
from homeroom.roster.admin import RosterAdmin
from homeroom.roster.importer import RosterImporter
from homeroom.roster.models import District, Role
from homeroom.roster.oneroster_csv import PackageInvalid
from homeroom.storage.sql import Database
from homeroom.storage.sql import tables as t
from homeroom.storage.sql import tables_roster as tr
from homeroom.storage.sql.all_tables import tenant_tables
from homeroom.tenancy import TenantScope
from tests.roster.packages import append, copy_sample, delta_package, edit, zip_package


@pytest.fixture
def district(db: Database) -> District:
    return RosterAdmin(db, PasswordHasher()).create_district("riverside", "Riverside")


@pytest.fixture
def importer(db: Database) -> RosterImporter:
    return RosterImporter(db)


def dump(db: Database, district: District) -> dict[str, list[tuple[Any, ...]]]:
    """Every tenant row of the district, for before/after comparisons."""
    with TenantScope(district.id), db.scoped() as uow:
        return {
            table.name: sorted(
                tuple(str(v) for v in row)
                for row in uow.conn.execute(select(table).where(table.c.district_id == district.id))
            )
            for table in tenant_tables()
        }


def rows(db: Database, district: District, table: Any, *where: Any) -> list[Any]:
    with TenantScope(district.id), db.scoped() as uow:
        return list(
            uow.conn.execute(select(table).where(table.c.district_id == district.id, *where))
        )


def events(db: Database, district: District) -> list[tuple[str, str]]:
    with TenantScope(district.id), db.scoped() as uow:
        return [(e["action"], e["record_type"]) for e in uow.roster.events(limit=10_000)]


def test_sample_import_creates_everything(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    result = importer.import_package(
        district.id, zip_package(copy_sample(tmp_path), tmp_path / "p.zip")
    )
    counts = {k: v.created for k, v in result.counts.items()}
    assert counts == {
        "org": 1,
        "school": 2,
        "term": 3,
        "course": 4,
        "section": 6,
        "user": 31,
        "demographics": 24,
        "enrollment": 42,
    }
    assert result.events == sum(counts.values()) == len(events(db, district))
    with TenantScope(district.id), db.scoped() as uow:
        assert uow.users.count(role=Role.STUDENT) == 24
        assert uow.users.count(role=Role.GUARDIAN) == 2
        admin = uow.users.by_username("jadmin")
        assert admin is not None and admin.role is Role.STAFF  # never an admin by import
        ava = uow.users.by_username("ava.park")
        assert ava is not None and ava.grade == "03" and ava.id.startswith("usr_")
        assert ava.sourced_id == "stu-001" and ava.synced_at == result.synced_at
        assert len(ava.school_ids) == 1
        assert uow.schools.count() == 2 and uow.sections.count() == 6
    links = rows(db, district, tr.user_agents)
    assert len(links) == 4  # student -> guardian and guardian -> student, twice
    hr = rows(db, district, t.sections, t.sections.c.sourced_id == "cls-elm-hr")[0]
    assert hr.title == 'Homeroom, "Blue" Group' and len(hr.term_ids) == 2
    demo = rows(db, district, tr.demographics)
    assert len(demo) == 24 and demo[0].data["white"] is True


def test_reimport_is_idempotent(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    pkg = copy_sample(tmp_path)
    importer.import_package(district.id, pkg)
    before = dump(db, district)
    again = importer.import_package(district.id, pkg)
    assert again.events == 0
    assert all(c.created == c.updated == c.deleted == 0 for c in again.counts.values())
    after = dump(db, district)
    # Only synced_at (and the run/audit logs) move.
    for table in ("users", "sections", "enrollments", "courses", "academic_sessions"):
        assert len(after[table]) == len(before[table])
    users = rows(db, district, t.users)
    assert {u.synced_at for u in users} == {again.synced_at}


def test_reimport_diff_becomes_events(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    importer.import_package(district.id, copy_sample(tmp_path, "v1"))
    v2 = copy_sample(tmp_path, "v2")
    edit(v2, "users.csv", ",Lee,Chen,", ",Leon,Chen,")  # update
    text = (v2 / "users.csv").read_text().splitlines()
    (v2 / "users.csv").write_text(
        "\n".join(line for line in text if not line.startswith("stu-024,")) + "\n"
    )  # stu-024 leaves (bulk: absent means deleted)
    lines = (v2 / "enrollments.csv").read_text().splitlines()
    (v2 / "enrollments.csv").write_text(
        "\n".join(line for line in lines if ",stu-024," not in line) + "\n"
    )
    (v2 / "demographics.csv").write_text(
        "\n".join(
            line
            for line in (v2 / "demographics.csv").read_text().splitlines()
            if not line.startswith("stu-024,")
        )
        + "\n"
    )
    append(v2, "users.csv", "stu-025,,,true,sch-elm,student,new.kid,,New,Kid,,,,,,,03,")
    result = importer.import_package(district.id, v2)
    assert result.counts["user"].as_dict() == {
        "created": 1,
        "updated": 1,
        "deleted": 1,
        "unchanged": 29,
    }
    assert result.counts["enrollment"].deleted == 2
    assert result.counts["demographics"].deleted == 1
    leaving = rows(db, district, t.users, t.users.c.sourced_id == "stu-024")[0]
    assert leaving.status == "tobedeleted"  # kept, not dropped
    chen = rows(db, district, t.users, t.users.c.sourced_id == "tch-chen")[0]
    assert chen.given_name == "Leon"
    with TenantScope(district.id), db.scoped() as uow:
        latest = [e for e in uow.roster.events(limit=10_000) if e["import_id"] == result.import_id]
    assert sorted((e["action"], e["record_type"]) for e in latest) == sorted(
        [
            ("deleted", "user"),
            ("updated", "user"),
            ("created", "user"),
            ("deleted", "enrollment"),
            ("deleted", "enrollment"),
            ("deleted", "demographics"),
        ]
    )
    updated = next(e for e in latest if e["action"] == "updated")
    assert updated["record_id"] == chen.id and updated["changed"] == ["given_name"]
    # Coming back is an update (status), and the same id is kept.
    back = importer.import_package(district.id, copy_sample(tmp_path, "v3"))
    assert back.counts["user"].updated == 2 and back.counts["user"].deleted == 1
    again = rows(db, district, t.users, t.users.c.sourced_id == "stu-024")[0]
    assert again.id == leaving.id and again.status == "active"


def test_invalid_package_changes_nothing(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    importer.import_package(district.id, copy_sample(tmp_path, "v1"))
    before = dump(db, district)
    bad = copy_sample(tmp_path, "bad")
    edit(bad, "users.csv", ",Lee,Chen,", ",Leon,Chen,")  # a valid change ...
    edit(bad, "enrollments.csv", "2026-08-17", "08/17/2026")  # ... and an error
    append(bad, "orgs.csv", "sch-oak,,,Dup,school,,")
    with pytest.raises(PackageInvalid) as caught:
        importer.import_package(district.id, bad)
    located = {(i.file, i.line, i.column) for i in caught.value.issues}
    assert ("enrollments.csv", 2, "beginDate") in located
    assert ("orgs.csv", 5, "sourcedId") in located
    after = dump(db, district)
    audit = after.pop("audit_events")  # the attempt is audited (a failure); nothing else moves
    assert after == {k: v for k, v in before.items() if k != "audit_events"}
    assert len(audit) == len(before["audit_events"]) + 1


def test_delta_file_updates_and_deletes(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    importer.import_package(district.id, copy_sample(tmp_path))
    stamp = "2026-10-01T08:00:00Z"
    delta = delta_package(
        tmp_path,
        {
            "enrollments.csv": f"enr-0001,tobedeleted,{stamp},,,,,,,\n"
            f"enr-9000,active,{stamp},cls-elm-s4,sch-elm,stu-001,student,false,,",
        },
    )
    result = importer.import_package(district.id, delta)
    assert result.counts["enrollment"].as_dict() == {
        "created": 1,
        "updated": 0,
        "deleted": 1,
        "unchanged": 0,
    }
    assert "user" not in result.counts  # absent files are untouched
    gone = rows(db, district, t.enrollments, t.enrollments.c.sourced_id == "enr-0001")[0]
    assert gone.status == "tobedeleted"
    new = rows(db, district, t.enrollments, t.enrollments.c.sourced_id == "enr-9000")[0]
    assert new.date_last_modified == dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
    assert len(rows(db, district, t.enrollments)) == 43


def test_username_moves_to_a_new_user_when_the_old_one_leaves(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    importer.import_package(district.id, copy_sample(tmp_path, "v1"))
    v2 = copy_sample(tmp_path, "v2")
    edit(v2, "users.csv", "tch-chen,", "tch-chen-2,")
    edit(v2, "enrollments.csv", ",tch-chen,", ",tch-chen-2,")
    result = importer.import_package(district.id, v2)
    assert result.counts["user"].created == 1 and result.counts["user"].deleted == 1
    holders = rows(db, district, t.users, t.users.c.username == "lchen")
    assert [h.sourced_id for h in holders] == ["tch-chen-2"]


def test_manual_user_with_same_username_blocks_import(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    RosterAdmin(db, PasswordHasher()).create_user("riverside", username="lchen", role=Role.STAFF)
    with pytest.raises(PackageInvalid) as caught:
        importer.import_package(district.id, copy_sample(tmp_path))
    assert [(i.file, i.line, i.column) for i in caught.value.errors] == [
        ("users.csv", 3, "username")
    ]
    with TenantScope(district.id), db.scoped() as uow:
        assert uow.users.count() == 1
        assert uow.conn.execute(select(func.count()).select_from(tr.roster_events)).scalar() == 0


def test_districts_do_not_share_records(
    db: Database, district: District, importer: RosterImporter, tmp_path: Path
) -> None:
    other = RosterAdmin(db, PasswordHasher()).create_district("hillview", "Hillview")
    importer.import_package(district.id, copy_sample(tmp_path, "a"))
    result = importer.import_package(other.id, copy_sample(tmp_path, "b"))
    assert result.counts["user"].created == 31  # same sourcedIds, separate district
    with TenantScope(other.id), db.scoped() as uow:
        assert uow.users.count() == 31
        assert len(uow.roster.events(limit=10_000)) == result.events


def test_foundation_repos_still_refuse_duplicates(db: Database, district: District) -> None:
    """The schema change (enrollment pairs no longer unique) keeps other uniqueness."""
    admin = RosterAdmin(db, PasswordHasher())
    admin.create_user("riverside", username="x1", role=Role.STUDENT)
    with pytest.raises(Conflict):
        admin.create_user("riverside", username="x1", role=Role.STUDENT)
