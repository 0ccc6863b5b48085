"""Clever-style reads: cursor paging and links, nested collections, /me and events, all
through the sharing filter (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest

from homeroom.roster.models import District
from homeroom.roster.query.clever import CleverReader, Cursor
from homeroom.roster.query.errors import InvalidPaging, UnknownObject
from homeroom.sharing.models import FieldGroup, ScopeMode
from homeroom.sharing.service import SharingService
from homeroom.storage.sql import Database
from homeroom.tenancy import TenantScope


@contextmanager
def reader(db: Database, district: District, app_id: str) -> Iterator[CleverReader]:
    with TenantScope(district.id), db.scoped() as uow:
        policy = SharingService.policy(uow, app_id)
        assert policy is not None
        yield CleverReader(uow, policy)


def link(page: dict[str, object], rel: str) -> dict[str, str] | None:
    for item in page["links"]:  # type: ignore[attr-defined]
        if item["rel"] == rel:
            return {k: v[0] for k, v in parse_qs(urlsplit(item["uri"]).query).items()}
    return None


def test_cursor_paging_walks_forward_and_back(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.DISTRICT)
    with reader(db, riverside, app_id) as r:
        everyone = [
            u["data"]["id"]
            for u in r.collection("users", Cursor(limit=100), role="student")["data"]
        ]
        assert len(everyone) == 24 and everyone == sorted(everyone)
        seen, cursor, pages = [], Cursor(limit=10), 0
        while True:
            page = r.collection("users", cursor, role="student")
            seen += [u["data"]["id"] for u in page["data"]]
            pages += 1
            after = link(page, "next")
            if after is None:
                break
            assert after["role"] == "student"
            cursor = Cursor(limit=10, starting_after=after["starting_after"])
        assert seen == everyone and pages == 3
        back = r.collection("users", Cursor(limit=5, ending_before=everyone[12]), role="student")
        assert [u["data"]["id"] for u in back["data"]] == everyone[7:12]
        assert link(back, "prev") == {"role": "student", "limit": "5", "ending_before": everyone[7]}
        with pytest.raises(InvalidPaging):
            r.collection("users", Cursor(limit=0))
        with pytest.raises(InvalidPaging):
            r.collection("users", Cursor(starting_after="a", ending_before="b"))


def test_shapes_and_nesting(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(
        riverside,
        app_id,
        mode=ScopeMode.SCHOOLS,
        schools=["sch-oak"],
        field_groups=[FieldGroup.DEMOGRAPHICS],
    )
    with reader(db, riverside, app_id) as r:
        assert r.district()["data"]["name"] == "Riverside"
        schools = r.collection("schools", Cursor())["data"]
        assert [s["data"]["name"] for s in schools] == ["Oak Hill Elementary"]
        oak = schools[0]["data"]["id"]
        sections = r.nested("schools", oak, "sections", Cursor())["data"]
        assert len(sections) == 3
        math3 = next(s["data"] for s in sections if s["data"]["name"] == "Math 3 - Rivera")
        assert len(math3["students"]) == 6 and len(math3["teachers"]) == 1
        pupils = r.nested("sections", math3["id"], "users", Cursor())["data"]
        assert len(pupils) == 7
        student = next(p["data"] for p in pupils if "student" in p["data"]["roles"])
        details = student["roles"]["student"]
        assert details["school"] == oak and details["grade"] == "03" and "dob" in details
        assert "email" not in student
        mine = r.nested("users", student["id"], "sections", Cursor())["data"]
        assert {s["data"]["id"] for s in mine} >= {math3["id"]}
        assert r.me(student["id"])["data"]["type"] == "student"
        with pytest.raises(UnknownObject):
            r.get("users", "usr_00000000000000000000")


def test_events_follow_the_share(
    db: Database, riverside: District, app_id: str, sharing: SharingService
) -> None:
    sharing.set_connection(riverside, app_id, mode=ScopeMode.SCHOOLS, schools=["sch-oak"])
    with reader(db, riverside, app_id) as r:
        events = r.events(Cursor(limit=1000))["data"]
    types = [e["data"]["type"] for e in events]
    # Import events of Oak Hill's records (1 school, 3 sections, 14 people, 3 courses,
    # 3 terms), then the connection's own "created" events for the same records.
    assert types.count("schools.created") == 2
    assert types.count("users.created") == 28
    created = [e["data"] for e in events if e["data"]["type"] == "users.created"]
    assert all(e["data"]["object"]["district"] == riverside.id for e in created)
    sharing.set_connection(riverside, app_id, mode=ScopeMode.SECTIONS, sections=["cls-oak-m4"])
    with reader(db, riverside, app_id) as r:
        page = r.events(Cursor(limit=1000))
        last = page["data"][-1]["data"]
        deleted = [e for e in page["data"] if e["data"]["type"] == "users.deleted"]
        assert len(deleted) == 7 and last["type"].endswith(".deleted")
        assert deleted[0]["data"]["data"]["object"] == {
            "id": deleted[0]["data"]["data"]["object"]["id"]
        }
        first = r.events(Cursor(limit=5))
        nxt = link(first, "next")
        assert nxt is not None
        second = r.events(Cursor(limit=5, starting_after=nxt["starting_after"]))
        ids = [e["data"]["id"] for e in first["data"] + second["data"]]
        assert ids == [e["data"]["id"] for e in page["data"][:10]]
