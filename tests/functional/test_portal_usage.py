"""The portal's usage-goal page over HTTP (TestClient, SQLite and PostgreSQL): who may see
it, the admin's adoption table, form errors, CSRF, and deleting a goal."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from homeroom.demo import DemoInfo, seed_demo
from homeroom.tenancy import TenantScope
from homeroom.web.app import create_app
from homeroom.wiring import Container


def _client(container: Container) -> TestClient:
    return TestClient(create_app(container), base_url=container.settings.issuer)


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def _sign_in(client: TestClient, info: DemoInfo, username: str, password: str) -> None:
    slug = info.district_slug
    r = client.post(
        f"/d/{slug}/signin",
        data={
            "username": username,
            "password": password,
            "csrf_token": _csrf(client, f"/d/{slug}"),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_students_get_the_bare_404_and_no_launchpad_link(container: Container) -> None:
    info = seed_demo(container)
    with _client(container) as client:
        assert (
            client.get(f"/d/{info.district_slug}/usage", follow_redirects=False).status_code == 303
        )
        _sign_in(client, info, info.student_username, info.student_password)
        assert "/usage" not in client.get(f"/d/{info.district_slug}/apps").text
        page = client.get(f"/d/{info.district_slug}/usage")
        assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
        token = _csrf(client, f"/d/{info.district_slug}/apps")
        r = client.post(
            f"/d/{info.district_slug}/usage/goals/delete",
            data={"goal_id": "goal_x", "csrf_token": token},
        )
        assert r.status_code == 404


def test_admin_sees_adoption_and_teacher_does_not(container: Container) -> None:
    info = seed_demo(container)
    slug = info.district_slug
    with _client(container) as admin, _client(container) as teacher:
        _sign_in(admin, info, info.admin_username, info.admin_password)
        _sign_in(teacher, info, info.teacher_username, info.teacher_password)
        assert f'href="/d/{slug}/usage"' in admin.get(f"/d/{slug}/apps").text
        assert f'href="/d/{slug}/usage"' in teacher.get(f"/d/{slug}/apps").text
        page = admin.get(f"/d/{slug}/usage")
        assert page.status_code == 200
        [row] = container.usage_data.adoption(info.district_id)
        cells = [
            row["last_7_days"]["active_students"],
            row["last_7_days"]["minutes"],
            row["last_30_days"]["active_students"],
            row["last_30_days"]["minutes"],
        ]
        expected = "".join(f"<td>{c}</td>" for c in cells)
        assert expected in re.sub(r"\s+", "", page.text)
        assert "App use in the district" not in teacher.get(f"/d/{slug}/usage").text


def test_bad_input_and_missing_csrf_store_nothing_and_delete_works(container: Container) -> None:
    info = seed_demo(container)
    slug = info.district_slug
    district = container.roster_admin.district(slug)
    with TenantScope(district.id), container.db.scoped() as uow:
        rivera = uow.users.by_username(info.teacher_username)
    assert rivera is not None
    [goal] = container.usage_goals.progress(district.id, rivera.id)
    with _client(container) as client:
        _sign_in(client, info, info.teacher_username, info.teacher_password)
        form = {
            "section_id": goal["section_id"],
            "app_id": goal["app_id"],
            "minutes_per_week": "30",
            "starts_on": "2026-05-10",
            "ends_on": "2026-05-01",  # before the start
        }
        token = _csrf(client, f"/d/{slug}/usage")
        bad = client.post(f"/d/{slug}/usage/goals", data={**form, "csrf_token": token})
        assert bad.status_code == 400
        assert 'role="alert"' in bad.text and "end date" in bad.text
        assert 'value="2026-05-01"' in bad.text  # the form keeps what was typed
        no_csrf = client.post(f"/d/{slug}/usage/goals", data={**form, "ends_on": "2026-06-01"})
        assert no_csrf.status_code == 400 and "This page expired" in no_csrf.text
        assert len(container.usage_goals.progress(district.id, rivera.id)) == 1
        token = _csrf(client, f"/d/{slug}/usage")
        gone = client.post(
            f"/d/{slug}/usage/goals/delete",
            data={"goal_id": goal["id"], "csrf_token": token},
            follow_redirects=False,
        )
        assert gone.status_code == 303 and gone.headers["location"].endswith("done=deleted")
        assert container.usage_goals.progress(district.id, rivera.id) == []
