"""Data-access audit of the roster APIs: every answer that hands records to an app is one
``roster.read`` event in the app's district (which app, resource, record, token scope,
sharing mode, how many); refusals write nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from homeroom.audit.models import AuditEvent
from homeroom.roster.models import District
from homeroom.sharing.principal import Principal
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container
from tests.roster.test_roster_api import act_as, app, as_principal, world

__all__ = ["app", "as_principal", "world"]  # fixtures shared with the roster API tests

SCOPES = frozenset({"roster.read"})


def reads(container: Container, district: District) -> list[AuditEvent]:
    with TenantScope(district.id), container.db.scoped() as uow:
        return list(uow.audit.list(action="roster.read"))


def test_a_oneroster_list_is_one_event_naming_app_resource_scope_and_count(
    app: FastAPI,
    as_principal: TestClient,
    container: Container,
    world: tuple[District, District, str],
) -> None:
    riverside, hillview, app_id = world
    act_as(app, Principal(app_id, riverside.id, scopes=SCOPES))
    r = as_principal.get("/ims/oneroster/v1p1/users", params={"limit": 5, "filter": "role='x'"})
    assert r.status_code == 200, r.text
    (event,) = reads(container, riverside)
    assert event.actor == f"app:{app_id}" and event.district_id == riverside.id
    assert (event.target_type, event.target_id) == ("users", None)
    assert event.detail == {
        "api": "oneroster",
        "route": "/ims/oneroster/v1p1/users",
        "scope": "roster.read",
        "sharing": "schools",
        "returned": len(r.json()["users"]),
        "total": int(r.headers["x-total-count"]),
        "filtered": True,
    }
    assert "role='x'" not in str(event.detail)  # the caller's filter text is not stored
    assert reads(container, hillview) == []


def test_single_records_nested_collections_and_clever_reads_are_audited(
    app: FastAPI,
    as_principal: TestClient,
    container: Container,
    world: tuple[District, District, str],
) -> None:
    riverside, _, app_id = world
    act_as(app, Principal(app_id, riverside.id, scopes=SCOPES))
    teacher = as_principal.get("/ims/oneroster/v1p1/teachers").json()["teachers"][0]
    sid = teacher["sourcedId"]
    assert as_principal.get(f"/ims/oneroster/v1p1/users/{sid}").status_code == 200
    assert as_principal.get(f"/ims/oneroster/v1p1/teachers/{sid}/classes").status_code == 200
    sections = as_principal.get("/api/v3/sections")
    assert sections.status_code == 200
    assert as_principal.get(f"/api/v3/users/{sid}/sections").status_code == 200
    assert as_principal.get("/api/v3/events").status_code == 200
    got = [(e.target_type, e.target_id, e.detail["api"]) for e in reads(container, riverside)]
    assert got == [
        ("teachers", None, "oneroster"),
        ("users", sid, "oneroster"),
        ("teachers.classes", sid, "oneroster"),
        ("sections", None, "clever"),
        ("users.sections", sid, "clever"),
        ("events", None, "clever"),
    ]
    clever = reads(container, riverside)[3]
    assert clever.detail["returned"] == len(sections.json()["data"])


def test_a_users_own_token_is_audited_with_the_user(
    app: FastAPI,
    as_principal: TestClient,
    container: Container,
    world: tuple[District, District, str],
) -> None:
    riverside, _, app_id = world
    act_as(app, Principal(app_id, riverside.id, scopes=SCOPES))
    student = as_principal.get("/ims/oneroster/v1p1/students").json()["students"][0]
    act_as(app, Principal(app_id, riverside.id, subject=student["sourcedId"]))
    assert as_principal.get("/api/v3/me").status_code == 200
    last = reads(container, riverside)[-1]
    assert (last.target_type, last.target_id) == ("me", student["sourcedId"])
    assert last.detail["user"] == student["sourcedId"]


def test_refusals_write_nothing_and_store_no_caller_ids(
    app: FastAPI,
    as_principal: TestClient,
    container: Container,
    world: tuple[District, District, str],
) -> None:
    """404 (unknown, unshared or another district's id), 403 (a user's token off /me) and
    an unconnected district: no event, so nothing the caller named lands in the log."""
    riverside, hillview, app_id = world
    act_as(app, Principal(app_id, hillview.id, scopes=SCOPES))  # not connected there
    assert as_principal.get("/ims/oneroster/v1p1/users").status_code == 404
    act_as(app, Principal(app_id, riverside.id, scopes=SCOPES))
    assert as_principal.get("/ims/oneroster/v1p1/users/usr_nothing").status_code == 404
    assert as_principal.get("/api/v3/users/usr_nothing").status_code == 404
    act_as(app, Principal(app_id, riverside.id, subject="usr_someone"))
    assert as_principal.get("/api/v3/users").status_code == 403
    assert reads(container, riverside) == [] and reads(container, hillview) == []
