"""Route probes of the usage API: district A's apps, teachers and admins against B's ids.

An app of A (its own, or the shared app connected to both districts) reporting usage for
B's student gets the same per-event answer as for a student that exists nowhere, and
nothing of B is written; A's admin naming B's sections, goals, apps or district gets the
answer of an unknown one.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from homeroom.storage.sql.types import utcnow
from tests.isolation.routes import probe
from tests.isolation.world import World, assert_same_answer

NOBODY = "usr_" + "0" * 20


def _usage_token(world: World, client: TestClient, app_id: str, secret: str) -> str:
    r = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "district": world.a.district.slug,
            "scope": "usage.write",
        },
        auth=(app_id, secret),
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _events(token: str, client: TestClient, *events: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/usage/events",
        json={"events": list(events)},
        headers={"Authorization": f"Bearer {token}"},
    )


@probe(("POST", "/api/v1/usage/events"))
def probe_usage_events(world: World) -> None:
    client = world.browser()
    at = utcnow().isoformat()
    before = world.b_rows()
    b_events = world.b.usage_ids[:-1]
    for app_id, secret in (
        (world.a.app.id, world.a.app_secret),
        (world.shared_app.id, world.shared_secret),
    ):
        token = _usage_token(world, client, app_id, secret)

        def report(user_id: str, token: str = token) -> Any:
            return _events(
                token,
                client,
                {
                    "id": "probe-1",
                    "user_id": user_id,
                    "kind": "minutes",
                    "minutes": 9,
                    "occurred_at": at,
                },
            )

        b_student = report(world.b.student.id)
        nobody = report(NOBODY)
        assert b_student.json()["results"] == [
            {"index": 0, "id": "probe-1", "status": "rejected", "reason": "unknown_user"}
        ], b_student.text
        assert_same_answer(b_student, nobody)
        world.assert_clean(b_student, sent=[world.b.student.id])
        # B's event ids, reported for A's own student, are new events of A (no
        # "duplicate" that would confirm B's ids exist).
        replay = _events(
            token,
            client,
            *[
                {
                    "id": event_id,
                    "user_id": world.a.student.id,
                    "kind": "minutes",
                    "minutes": 1,
                    "occurred_at": at,
                }
                for event_id in b_events
            ],
        )
        assert [r["status"] for r in replay.json()["results"]] == ["accepted"] * len(b_events)
        world.assert_clean(replay, sent=[*b_events, world.b.marker])
    assert world.b_rows() == before


@probe(("GET", "/api/v1/usage/goals"), ("POST", "/api/v1/usage/goals"))
def probe_usage_goals(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    listed = admin.get("/api/v1/usage/goals")
    assert listed.status_code == 200 and len(listed.json()["goals"]) == 1, listed.text
    assert listed.json()["goals"][0]["id"] == world.a.usage_ids[-1]
    world.assert_clean(listed)
    nowhere = "sec_" + "0" * 20
    b_section = admin.get("/api/v1/usage/goals", params={"section_id": world.b.section.id})
    no_section = admin.get("/api/v1/usage/goals", params={"section_id": nowhere})
    assert b_section.status_code == 404
    assert_same_answer(b_section, no_section)
    world.assert_clean(b_section, sent=[world.b.section.id])
    named = admin.get("/api/v1/usage/goals", params={"district": world.b.district.slug})
    missing = admin.get("/api/v1/usage/goals", params={"district": "no-such-district"})
    assert named.status_code == 404
    assert_same_answer(named, missing)
    before = world.b_rows()
    today = utcnow().date().isoformat()
    goal = {
        "section_id": world.a.section.id,
        "app_id": world.a.app.id,
        "minutes_per_week": 10,
        "starts_on": today,
        "ends_on": today,
    }
    for field, b_value, none_value in (
        ("section_id", world.b.section.id, nowhere),
        ("app_id", world.b.app.id, "app_" + "0" * 20),
    ):
        b_answer = admin.post("/api/v1/usage/goals", json=goal | {field: b_value})
        none_answer = admin.post("/api/v1/usage/goals", json=goal | {field: none_value})
        assert b_answer.status_code == 404, b_answer.text
        assert_same_answer(b_answer, none_answer)
        world.assert_clean(b_answer, sent=[b_value])
    assert world.b_rows() == before
    # A's app token (usage.write) carries no usage.read: no goals, no adoption.
    token = world.a.service_token
    r = world.browser().get("/api/v1/usage/goals", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    world.assert_clean(r, sent=[token])


@probe(("DELETE", "/api/v1/usage/goals/{goal_id}"))
def probe_usage_goal_delete(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    before = world.b_rows()
    b_goal = world.b.usage_ids[-1]
    b_answer = admin.delete(f"/api/v1/usage/goals/{b_goal}")
    none_answer = admin.delete("/api/v1/usage/goals/gol_" + "0" * 20)
    assert b_answer.status_code == 404
    assert_same_answer(b_answer, none_answer)
    world.assert_clean(b_answer, sent=[b_goal])
    assert world.b_rows() == before


@probe(("GET", "/api/v1/usage/adoption"))
def probe_usage_adoption(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    r = admin.get("/api/v1/usage/adoption")
    assert r.status_code == 200, r.text
    assert [a["app_id"] for a in r.json()["apps"]] == [world.a.app.id]
    assert r.json()["apps"][0]["last_7_days"] == {"active_students": 1, "minutes": 17}
    world.assert_clean(r)
    named = admin.get("/api/v1/usage/adoption", params={"district": world.b.district.slug})
    missing = admin.get("/api/v1/usage/adoption", params={"district": "no-such-district"})
    assert named.status_code == 404
    assert_same_answer(named, missing)
    student = world.a.student_client
    assert student is not None
    assert student.get("/api/v1/usage/adoption").status_code == 403
