"""Route probes of the portal's usage-goal page (``/d/<slug>/usage``).

A's teacher and A's district admin (who reaches every section of A) must see nothing of
B there: B's goals and sections are not listed, and naming B's section or goal in a form
answers exactly like an identifier that exists nowhere, changing nothing of B. On B's
slug, A's session counts for nothing (the same answer as an anonymous browser).
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from homeroom.ids import new_id
from tests.isolation.portal_probes import _csrf, _same_as_anonymous
from tests.isolation.routes import probe
from tests.isolation.world import PASSWORD, HttpResponse, World, assert_same_answer


def _teacher(world: World) -> TestClient:
    """A browser signed in to A's portal as A's teacher."""
    client = world.browser()
    slug = world.a.district.slug
    r = client.post(
        f"/d/{slug}/signin",
        data={
            "username": world.a.teacher.username,
            "password": PASSWORD,
            "csrf_token": _csrf(client, f"/d/{slug}"),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def _callers(world: World) -> list[TestClient]:
    assert world.a.admin_client is not None
    return [world.a.admin_client, _teacher(world)]


def _post(client: TestClient, slug: str, action: str, data: dict[str, str]) -> HttpResponse:
    token = _csrf(client, f"/d/{slug}/apps")
    return client.post(
        f"/d/{slug}/usage/{action}",
        data={**data, "csrf_token": token},
        follow_redirects=False,
    )


@probe(("GET", "/d/{slug}/usage"))
def probe_usage_page(world: World) -> None:
    a = world.a.district.slug
    admin, teacher = _callers(world)
    page = admin.get(f"/d/{a}/usage")
    assert page.status_code == 200, page.text
    # A's admin sees A's seeded goal (the probe can fail) and nothing of B.
    assert world.a.usage_ids[-1] in page.text
    world.assert_clean(page)
    mine = teacher.get(f"/d/{a}/usage")
    assert mine.status_code == 200, mine.text
    world.assert_clean(mine)
    _same_as_anonymous(world, f"/d/{world.b.district.slug}/usage")


@probe(("POST", "/d/{slug}/usage/goals"))
def probe_usage_page_create(world: World) -> None:
    a = world.a.district.slug
    today = dt.date.today()
    before = world.b_rows()
    for client in _callers(world):
        for field, b_id in (
            ("section_id", world.b.section.id),
            ("app_id", world.b.app.id),
        ):
            form = {
                "section_id": world.a.section.id,
                "app_id": world.a.app.id,
                "minutes_per_week": "20",
                "starts_on": today.isoformat(),
                "ends_on": (today + dt.timedelta(days=7)).isoformat(),
            }
            missing = new_id("section" if field == "section_id" else "app")
            b = _post(client, a, "goals", {**form, field: b_id})
            none = _post(client, a, "goals", {**form, field: missing})
            assert b.status_code == 404, (field, b.status_code, b.text[:300])
            world.assert_clean(b, sent=[b_id])
            assert_same_answer(b, none)
    assert world.b_rows() == before
    # On B's slug, A's admin session does not count: the sign-in redirect, nothing written.
    admin = _callers(world)[0]
    token = _csrf(admin, f"/d/{a}/apps")
    r = admin.post(
        f"/d/{world.b.district.slug}/usage/goals",
        data={"section_id": world.b.section.id, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/d/{world.b.district.slug}"
    assert world.b_rows() == before


@probe(("POST", "/d/{slug}/usage/goals/delete"))
def probe_usage_page_delete(world: World) -> None:
    a = world.a.district.slug
    b_goal = world.b.usage_ids[-1]
    before = world.b_rows()
    for client in _callers(world):
        missing = new_id("goal")
        b = _post(client, a, "goals/delete", {"goal_id": b_goal})
        none = _post(client, a, "goals/delete", {"goal_id": missing})
        assert b.status_code == 404, b.text[:300]
        world.assert_clean(b, sent=[b_goal])
        assert_same_answer(b, none)
    admin = _callers(world)[0]
    token = _csrf(admin, f"/d/{a}/apps")
    r = admin.post(
        f"/d/{world.b.district.slug}/usage/goals/delete",
        data={"goal_id": b_goal, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/d/{world.b.district.slug}"
    assert world.b_rows() == before
