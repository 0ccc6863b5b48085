"""OneRoster 1.1 reads through the sharing filter, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from homeroom.roster.models import District
from homeroom.roster.query.errors import (
    InvalidBlankSelectionField,
    InvalidFilterField,
    InvalidPaging,
    InvalidSelectionField,
    InvalidSortField,
    UnknownObject,
)
from homeroom.roster.query.oneroster import ListParams, OneRosterReader
from homeroom.sharing.models import FieldGroup, ScopeMode
from homeroom.sharing.service import SharingService
from homeroom.storage.sql import Database
from homeroom.tenancy import TenantScope


@contextmanager
def reader(db: Database, district: District, app_id: str) -> Iterator[OneRosterReader]:
    with TenantScope(district.id), db.scoped() as uow:
        policy = SharingService.policy(uow, app_id)
        assert policy is not None
        yield OneRosterReader(uow, policy)


def sourced(db: Database, district: District, app_id: str, resource: str) -> list[str]:
    with reader(db, district, app_id) as r:
        page = r.collection(resource, ListParams(limit=1000, sort="familyName"))
        return [u["familyName"] for u in page.items]


def test_whole_district_collections(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT)
    with reader(db, riverside, app_id) as r:
        totals = {
            name: r.collection(name, ListParams(limit=1)).total
            for name in (
                "orgs",
                "schools",
                "academicSessions",
                "terms",
                "courses",
                "classes",
                "enrollments",
                "users",
                "students",
                "teachers",
                "demographics",
            )
        }
        assert totals == {
            "orgs": 3,
            "schools": 2,
            "academicSessions": 3,
            "terms": 0,  # the sample's terms are semesters
            "courses": 4,
            "classes": 6,
            "enrollments": 42,
            "users": 28,
            "students": 24,
            "teachers": 4,
            "demographics": 0,
        }
        page = r.collection("users", ListParams(filter="familyName='Park'"))
        assert [u["givenName"] for u in page.items] == ["Ava"]  # Grace Park is a guardian
        ava = page.items[0]
        assert ava["sourcedId"].startswith("usr_") and "email" not in ava
        assert ava["role"] == "student" and ava["grades"] == ["03"]
        assert ava["orgs"][0]["href"].startswith("/ims/oneroster/v1p1/orgs/sch_")
        one = r.get("users", ava["sourcedId"])
        assert one == ava
        klass = r.collection("classes", ListParams(filter="title~'homeroom'")).items[0]
        assert klass["title"] == 'Homeroom, "Blue" Group' and len(klass["terms"]) == 2


def test_paging_sorting_and_fields(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT)
    with reader(db, riverside, app_id) as r:
        everyone = r.collection("students", ListParams(limit=100, sort="givenName")).items
        first = r.collection("students", ListParams(limit=10, offset=0, sort="givenName"))
        second = r.collection("students", ListParams(limit=10, offset=10, sort="givenName"))
        assert first.total == second.total == 24
        assert first.items + second.items == everyone[:20]
        assert [u["givenName"] for u in everyone] == sorted(u["givenName"] for u in everyone)
        desc = r.collection("students", ListParams(sort="givenName", order_by="desc")).items
        assert desc == list(reversed(everyone))
        slim = r.collection("teachers", ListParams(fields="sourcedId,familyName")).items
        assert all(set(u) == {"sourcedId", "familyName"} for u in slim)
        with pytest.raises(InvalidSelectionField):
            r.collection("teachers", ListParams(fields="sourcedId,email"))
        with pytest.raises(InvalidBlankSelectionField):
            r.collection("teachers", ListParams(fields=","))
        with pytest.raises(InvalidSortField):
            r.collection("teachers", ListParams(sort="password"))
        with pytest.raises(InvalidFilterField):
            r.collection("teachers", ListParams(filter="email~'riverside'"))  # not granted
        with pytest.raises(InvalidPaging):
            r.collection("teachers", ListParams(limit=0))
        with pytest.raises(InvalidPaging):
            r.collection("teachers", ListParams(offset=2**70))
        dated = r.collection("academicSessions", ListParams(filter="startDate>='2026-09-01'")).items
        assert [s["title"] for s in dated] == ["Spring 2027"]


def test_chosen_school_narrows_everything(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(
        riverside,
        app_id,
        mode=ScopeMode.SCHOOLS,
        schools=["sch-oak"],
        field_groups=[FieldGroup.EMAIL],
    )
    with reader(db, riverside, app_id) as r:
        schools = r.collection("schools", ListParams()).items
        assert [s["name"] for s in schools] == ["Oak Hill Elementary"]
        oak = schools[0]["sourcedId"]
        teachers = r.collection("teachers", ListParams(sort="familyName")).items
        assert [t["familyName"] for t in teachers] == ["Chen", "Rivera"]
        assert teachers[0]["email"] == "lchen@riverside.example.org"
        rivera = teachers[1]["sourcedId"]
        classes = r.nested("teachers", rivera, "classes", ListParams(sort="title"))
        assert [c["title"] for c in classes.items] == ["Math 3 - Rivera", "Reading 3 - Rivera"]
        pupils = r.nested("classes", classes.items[0]["sourcedId"], "students", ListParams())
        assert pupils.total == 6
        assert r.nested("schools", oak, "classes", ListParams()).total == 3
    # Elm Street exists in the district but is not shared: 404, like a made-up id.
    with TenantScope(riverside.id), db.scoped() as uow:
        from sqlalchemy import select

        from homeroom.storage.sql import tables as t

        elm = uow.conn.execute(
            select(t.schools.c.id).where(t.schools.c.sourced_id == "sch-elm")
        ).scalar_one()
        elm_class = uow.conn.execute(
            select(t.sections.c.id).where(t.sections.c.sourced_id == "cls-elm-s4")
        ).scalar_one()
    with reader(db, riverside, app_id) as r:
        for resource, record_id in (("schools", elm), ("classes", elm_class)):
            with pytest.raises(UnknownObject):
                r.get(resource, record_id)
        with pytest.raises(UnknownObject):
            r.nested("schools", elm, "classes", ListParams())
        with pytest.raises(UnknownObject):
            r.get("users", "usr_00000000000000000000")


def test_demographics_and_guardians_only_when_granted(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT)
    with reader(db, riverside, app_id) as r:
        ava = r.collection("users", ListParams(filter="username='ava.park'")).items[0]
        assert "agents" not in ava
        with pytest.raises(UnknownObject):
            r.get("demographics", ava["sourcedId"])
    sharing.set_connection(
        riverside,
        app_id,
        mode=ScopeMode.DISTRICT,
        field_groups=[FieldGroup.DEMOGRAPHICS, FieldGroup.GUARDIANS],
        roles=["student", "teacher", "guardian"],
    )
    with reader(db, riverside, app_id) as r:
        ava = r.collection("users", ListParams(filter="username='ava.park'")).items[0]
        assert len(ava["agents"]) == 1
        grace = r.get("users", ava["agents"][0]["sourcedId"])
        assert grace["role"] == "parent" and grace["givenName"] == "Grace"
        demo = r.get("demographics", ava["sourcedId"])
        assert demo["sex"] == "female" and demo["white"] == "true"
        assert r.collection("demographics", ListParams()).total == 24
