"""Both roster APIs through the real app, with the bearer dependency overridden by a real
Principal (the OpenID Provider supplies the real one). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from homeroom.roster.models import District
from homeroom.sharing.models import FieldGroup, ScopeMode
from homeroom.sharing.principal import Principal
from homeroom.web.app import create_app
from homeroom.web.roster_api import require_principal
from homeroom.wiring import Container
from tests.roster.packages import copy_sample


@pytest.fixture
def world(container: Container, tmp_path: Path) -> tuple[District, District, str]:
    admin = container.roster_admin
    riverside = admin.create_district("riverside", "Riverside")
    hillview = admin.create_district("hillview", "Hillview")
    container.roster_importer.import_package(riverside.id, copy_sample(tmp_path, "a"))
    container.roster_importer.import_package(hillview.id, copy_sample(tmp_path, "b"))
    app_id = container.apps.create_app("Reader", ["https://reader.example/cb"]).app.id
    container.sharing.set_connection(
        riverside,
        app_id,
        mode=ScopeMode.SCHOOLS,
        schools=["sch-oak"],
        field_groups=[FieldGroup.EMAIL],
    )
    return riverside, hillview, app_id


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container)


@pytest.fixture
def as_principal(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def act_as(app: FastAPI, principal: Principal) -> None:
    app.dependency_overrides[require_principal] = lambda: principal


def test_without_the_dependency_it_is_401(as_principal: TestClient, world: object) -> None:
    r = as_principal.get("/ims/oneroster/v1p1/users")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="homeroom"'


def test_oneroster_returns_exactly_the_shared_subset(
    app: FastAPI, as_principal: TestClient, world: tuple[District, District, str]
) -> None:
    riverside, _, app_id = world
    act_as(app, Principal(app_id, riverside.id))
    r = as_principal.get("/ims/oneroster/v1p1/users", params={"limit": 5, "sort": "familyName"})
    assert r.status_code == 200
    assert r.headers["x-total-count"] == "14"
    assert 'rel="next"' in r.headers["link"] and "offset=5" in r.headers["link"]
    assert len(r.json()["users"]) == 5
    teachers = as_principal.get("/ims/oneroster/v1p1/teachers").json()["teachers"]
    assert sorted(t["familyName"] for t in teachers) == ["Chen", "Rivera"]
    assert teachers[0]["email"].endswith("@riverside.example.org")
    rivera = next(t for t in teachers if t["familyName"] == "Rivera")
    classes = as_principal.get(f"/ims/oneroster/v1p1/teachers/{rivera['sourcedId']}/classes")
    assert classes.headers["x-total-count"] == "2"
    one = as_principal.get(f"/ims/oneroster/v1p1/users/{rivera['sourcedId']}")
    assert one.json() == {"user": rivera}
    bad = as_principal.get("/ims/oneroster/v1p1/users", params={"filter": "password='x'"})
    assert bad.status_code == 400
    minor = bad.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    assert minor == "invalid_filter_field" and bad.json()["imsx_codeMajor"] == "failure"
    missing = as_principal.get("/ims/oneroster/v1p1/classes/sec_00000000000000000000")
    assert missing.status_code == 404
    assert "unknownobject" in missing.text


def test_clever_style_paging_and_me(
    app: FastAPI, as_principal: TestClient, world: tuple[District, District, str]
) -> None:
    riverside, _, app_id = world
    act_as(app, Principal(app_id, riverside.id))
    first = as_principal.get("/api/v3/users", params={"role": "student", "limit": 5}).json()
    assert len(first["data"]) == 5
    nxt = next(link["uri"] for link in first["links"] if link["rel"] == "next")
    second = as_principal.get(nxt).json()
    assert {u["data"]["id"] for u in first["data"]}.isdisjoint(
        u["data"]["id"] for u in second["data"]
    )
    schools = as_principal.get("/api/v3/schools").json()["data"]
    assert [s["data"]["name"] for s in schools] == ["Oak Hill Elementary"]
    sections = as_principal.get(f"/api/v3/schools/{schools[0]['data']['id']}/sections").json()
    assert len(sections["data"]) == 3
    me = as_principal.get("/api/v3/me").json()
    assert me["data"] == {"id": riverside.id, "type": "district"}
    student = first["data"][0]["data"]["id"]
    act_as(app, Principal(app_id, riverside.id, subject=student))
    assert as_principal.get("/api/v3/me").json()["data"]["type"] == "student"
    assert as_principal.get("/api/v3/users").status_code == 403
    assert as_principal.get("/ims/oneroster/v1p1/users").status_code == 403
    events = None
    act_as(app, Principal(app_id, riverside.id))
    events = as_principal.get("/api/v3/events", params={"limit": 3}).json()
    assert len(events["data"]) == 3 and events["data"][0]["data"]["type"].endswith(".created")


def test_unconnected_district_is_404_everywhere(
    app: FastAPI, as_principal: TestClient, world: tuple[District, District, str]
) -> None:
    _, hillview, app_id = world
    act_as(app, Principal(app_id, hillview.id))
    for path in (
        "/ims/oneroster/v1p1/users",
        "/ims/oneroster/v1p1/schools",
        "/api/v3/users",
        "/api/v3/districts",
        "/api/v3/events",
        f"/api/v3/districts/{hillview.id}",
    ):
        r = as_principal.get(path)
        assert r.status_code == 404, path
        assert hillview.id not in r.text and "Hillview" not in r.text


def test_openapi_documents_both_apis(as_principal: TestClient) -> None:
    paths = as_principal.get("/api/openapi.json").json()["paths"]
    assert "/ims/oneroster/v1p1/users" in paths
    assert "/ims/oneroster/v1p1/classes/{record_id}/students" in paths
    assert "/api/v3/sections/{record_id}/users" in paths and "/api/v3/events" in paths


def test_ids_of_another_district_are_404_even_when_connected_there(
    app: FastAPI,
    as_principal: TestClient,
    world: tuple[District, District, str],
    container: Container,
) -> None:
    """Isolation: the app is connected to both districts; a token for Hillview replaying
    Riverside's ids gets 404s, and nothing of Riverside in any body."""
    riverside, hillview, app_id = world
    container.sharing.set_connection(hillview, app_id, mode=ScopeMode.DISTRICT)
    act_as(app, Principal(app_id, riverside.id))
    river_user = as_principal.get("/ims/oneroster/v1p1/users", params={"limit": 1}).json()
    river_class = as_principal.get("/ims/oneroster/v1p1/classes", params={"limit": 1}).json()
    user_id = river_user["users"][0]["sourcedId"]
    class_id = river_class["classes"][0]["sourcedId"]
    act_as(app, Principal(app_id, hillview.id))
    for path in (
        f"/ims/oneroster/v1p1/users/{user_id}",
        f"/ims/oneroster/v1p1/classes/{class_id}/students",
        f"/api/v3/users/{user_id}",
        f"/api/v3/sections/{class_id}/users",
        f"/api/v3/districts/{riverside.id}",
    ):
        r = as_principal.get(path)
        assert r.status_code == 404, path
        assert "Riverside" not in r.text
    mine = as_principal.get("/ims/oneroster/v1p1/users", params={"limit": 1000}).json()
    assert user_id not in {u["sourcedId"] for u in mine["users"]}
    assert as_principal.get("/ims/oneroster/v1p1/users").headers["x-total-count"] == "28"
