"""The usage HTTP API through the real app: apps report, teachers set goals, admins look."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.web.app import create_app
from homeroom.wiring import Container
from tests.usage.conftest import PASSWORD, Classroom

ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), base_url=ISSUER) as c:
        yield c


def login(client: TestClient, slug: str, username: str) -> None:
    page = client.get("/login", params={"district": slug})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf.group(1),
            "district": slug,
            "username": username,
            "password": PASSWORD,
        },
    )
    assert r.status_code == 200, r.text


def service_token(client: TestClient, c: Classroom, scope: str = "usage.write") -> str:
    r = client.post(
        "/token",
        data={"grant_type": "client_credentials", "district": c.district.slug, "scope": scope},
        auth=(c.app.id, c.app_secret),
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def event(event_id: str, user_id: str, **kw: Any) -> dict[str, Any]:
    body = {
        "id": event_id,
        "user_id": user_id,
        "kind": "minutes",
        "minutes": 12,
        "occurred_at": utcnow().isoformat(),
    }
    return body | kw


def post_events(client: TestClient, token: str, *events: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/usage/events",
        json={"events": list(events)},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_app_reports_events_with_per_event_results(
    client: TestClient, classroom: Classroom
) -> None:
    c = classroom
    token = service_token(client, c)
    first = event("e-1", c.ava.id)
    r = post_events(
        client,
        token,
        first,
        event("e-2", c.ava.id, kind="progress", minutes=None, progress=0.5),
        event("e-3", c.teacher.id),
        first,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 1, 1)
    assert [x["status"] for x in body["results"]] == [
        "accepted",
        "accepted",
        "rejected",
        "duplicate",
    ]
    assert body["results"][2]["reason"] == "unknown_user"
    assert r.headers["cache-control"] == "no-store" and "x-ratelimit-limit" in r.headers


def test_event_batch_errors(client: TestClient, classroom: Classroom) -> None:
    c = classroom
    token = service_token(client, c)
    naive = post_events(client, token, event("n", c.ava.id, occurred_at="2026-11-02T10:00:00"))
    assert naive.status_code == 422
    too_many = post_events(client, token, *[event(f"e{i}", c.ava.id) for i in range(1001)])
    assert too_many.status_code == 422
    assert post_events(client, token).status_code == 422
    with TenantScope(c.district.id), client.app.state.container.db.scoped() as uow:  # type: ignore[attr-defined]
        assert uow.usage_rollups.for_user(c.ava.id) == []  # nothing of a bad batch stored


def test_event_authentication(client: TestClient, classroom: Classroom) -> None:
    c = classroom
    missing = client.post("/api/v1/usage/events", json={"events": [event("x", c.ava.id)]})
    assert missing.status_code == 401 and "www-authenticate" in missing.headers
    roster_only = service_token(client, c, scope="roster.read")
    r = post_events(client, roster_only, event("x", c.ava.id))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    forged = post_events(client, "a.b.c", event("x", c.ava.id))
    assert forged.status_code == 401


def test_district_can_turn_usage_reporting_off(
    client: TestClient, container: Container, classroom: Classroom
) -> None:
    c = classroom
    token = service_token(client, c)
    with container.db.platform() as uow:
        settings = dict(uow.districts.get(c.district.id).settings)
        settings["disabled_capabilities"] = ["usage.write"]
        uow.districts.update_settings(c.district.id, settings)
    r = post_events(client, token, event("x", c.ava.id))
    assert r.status_code == 403, r.text


def _goal(c: Classroom, **kw: Any) -> dict[str, Any]:
    today = utcnow().date()
    return {
        "section_id": c.section.id,
        "app_id": c.app.id,
        "minutes_per_week": 20,
        "starts_on": (today - dt.timedelta(days=7)).isoformat(),
        "ends_on": (today + dt.timedelta(days=60)).isoformat(),
    } | kw


def test_teacher_goals_show_weekly_progress(
    client: TestClient, container: Container, classroom: Classroom
) -> None:
    c = classroom
    token = service_token(client, c)
    assert post_events(client, token, event("w1", c.ava.id, minutes=25)).json()["accepted"] == 1
    login(client, c.district.slug, c.teacher.username)
    created = client.post("/api/v1/usage/goals", json=_goal(c))
    assert created.status_code == 201, created.text
    goal_id = created.json()["id"]
    listed = client.get("/api/v1/usage/goals").json()["goals"]
    assert [g["id"] for g in listed] == [goal_id]
    students = {s["user_id"]: (s["minutes"], s["met"]) for s in listed[0]["students"]}
    assert students == {c.ava.id: (25, True), c.ben.id: (0, False)}
    assert listed[0]["students_met"] == 1
    one = client.get("/api/v1/usage/goals", params={"section_id": c.section.id})
    assert one.json()["goals"][0]["id"] == goal_id
    with TenantScope(c.district.id), container.db.scoped() as uow:
        actions = [e.action for e in uow.audit.list()]
    assert "usage.goal.create" in actions
    assert client.delete(f"/api/v1/usage/goals/{goal_id}").status_code == 204
    assert client.delete(f"/api/v1/usage/goals/{goal_id}").status_code == 404
    assert client.get("/api/v1/usage/goals").json()["goals"] == []


def test_goal_validation(client: TestClient, classroom: Classroom) -> None:
    c = classroom
    login(client, c.district.slug, c.teacher.username)
    bad_dates = _goal(c, starts_on="2026-12-01", ends_on="2026-11-01")
    assert client.post("/api/v1/usage/goals", json=bad_dates).status_code == 400
    assert client.post("/api/v1/usage/goals", json=_goal(c, minutes_per_week=0)).status_code == 422
    unknown_app = _goal(c, app_id="app_" + "0" * 20)
    assert client.post("/api/v1/usage/goals", json=unknown_app).status_code == 404
    as_text = client.post(
        "/api/v1/usage/goals", content=str(_goal(c)), headers={"Content-Type": "text/plain"}
    )
    assert as_text.status_code == 422  # CSRF: JSON bodies only


def test_teachers_reach_only_their_sections(
    client: TestClient, container: Container, classroom: Classroom
) -> None:
    c = classroom
    login(client, c.district.slug, c.teacher.username)
    goal_id = client.post("/api/v1/usage/goals", json=_goal(c)).json()["id"]
    other = TestClient(client.app, base_url=ISSUER)
    with other:
        login(other, c.district.slug, c.other_teacher.username)
        assert other.get("/api/v1/usage/goals").json()["goals"] == []
        denied = other.post("/api/v1/usage/goals", json=_goal(c))
        nowhere = other.post("/api/v1/usage/goals", json=_goal(c, section_id="sec_" + "0" * 20))
        assert denied.status_code == nowhere.status_code == 404
        assert denied.json() == nowhere.json()
        assert (
            other.get("/api/v1/usage/goals", params={"section_id": c.section.id}).status_code == 404
        )
        assert other.delete(f"/api/v1/usage/goals/{goal_id}").status_code == 404
        assert other.get("/api/v1/usage/adoption").status_code == 403
    with TestClient(client.app, base_url=ISSUER) as student:
        login(student, c.district.slug, c.ava.username)
        assert student.get("/api/v1/usage/goals").status_code == 403
    with TestClient(client.app, base_url=ISSUER) as admin:
        login(admin, c.district.slug, c.admin.username)
        assert [g["id"] for g in admin.get("/api/v1/usage/goals").json()["goals"]] == [goal_id]


def test_admin_sees_adoption(client: TestClient, classroom: Classroom) -> None:
    c = classroom
    token = service_token(client, c)
    old = (utcnow() - dt.timedelta(days=20)).isoformat()
    post_events(
        client,
        token,
        event("a1", c.ava.id, minutes=10),
        event("a2", c.ben.id, minutes=5, occurred_at=old),
    )
    login(client, c.district.slug, c.admin.username)
    r = client.get("/api/v1/usage/adoption")
    assert r.status_code == 200, r.text
    (app,) = r.json()["apps"]
    assert app["app_id"] == c.app.id and app["name"] == "Reading Rocket"
    assert app["last_7_days"] == {"active_students": 1, "minutes": 10}
    assert app["last_30_days"] == {"active_students": 2, "minutes": 15}
    assert (
        client.get(
            "/api/v1/usage/adoption", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 403
    )
    # `district` names the admin's own district, or none: a value that is no slug (a NUL
    # byte, which PostgreSQL refuses in text) is the same 404 as another district's slug.
    assert client.get("/api/v1/usage/adoption", params={"district": c.district.slug}).is_success
    for named in ("\x00F", "NOT A SLUG", "beta-county"):
        r = client.get("/api/v1/usage/adoption", params={"district": named})
        assert r.status_code == 404, (named, r.text)


def test_openapi_documents_the_usage_api(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    paths = spec["paths"]
    assert {"post"} <= set(paths["/api/v1/usage/events"])
    assert {"get", "post"} <= set(paths["/api/v1/usage/goals"])
    assert "delete" in paths["/api/v1/usage/goals/{goal_id}"]
    assert "get" in paths["/api/v1/usage/adoption"]
    event_schema = spec["components"]["schemas"]["UsageEventIn"]
    progress = event_schema["properties"]["progress"]
    assert 1 in [s.get("maximum") for s in progress.get("anyOf", [progress])]


def test_method_not_allowed_lists_every_method_of_the_path(client: TestClient) -> None:
    """RFC 9110 §15.5.6: the Allow header names GET and POST of /goals, not just one."""
    r = client.put("/api/v1/usage/goals")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert client.get("/api/v1/usage/events").headers["allow"] == "POST"


def test_an_expired_connection_cannot_report(
    client: TestClient, container: Container, classroom: Classroom
) -> None:
    c = classroom
    token = service_token(client, c)
    with TenantScope(c.district.id), container.db.scoped() as uow:
        connection = uow.connections.get(c.app.id)
        expired = dataclasses.replace(connection, expires_at=utcnow() - dt.timedelta(minutes=1))
        uow.connections.put(expired)
    # Within the connection cache's lifetime (30 s) the sharing policy, read uncached, already
    # shares nobody: nothing can be stored.
    cached = post_events(client, token, event("x", c.ava.id))
    assert cached.json()["results"][0]["reason"] == "unknown_user"
    container.oidc.clients.invalidate()
    r = post_events(client, token, event("x", c.ava.id))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token", r.text
