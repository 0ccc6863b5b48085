"""District-admin API: what an app can read, and OneRoster package upload, authorized by a
district admin's portal session of that district only. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeroom.roster.models import Role
from homeroom.tenancy import TenantScope
from tests.conftest import SqlTarget
from tests.roster.packages import copy_sample, edit
from tests.roster.test_roster_e2e import World, open_world

PASSWORD = "correct-horse-1"
SHARING = "/api/v1/admin/sharing"
IMPORT = "/api/v1/admin/roster/import"


@pytest.fixture
def world(sql_target: SqlTarget, tmp_path: Path) -> Iterator[World]:
    for w in open_world(sql_target, tmp_path):
        for slug in ("riverside", "hillview"):
            for username, role in (("admin", Role.DISTRICT_ADMIN), ("teach", Role.TEACHER)):
                w.container.roster_admin.create_user(
                    slug, username=username, role=role, password=PASSWORD
                )
        yield w


def login(world: World, district: str, username: str = "admin") -> None:
    page = world.client.get("/login", params={"district": district})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    r = world.client.post(
        "/login",
        data={
            "csrf_token": token.group(1),
            "district": district,
            "username": username,
            "password": PASSWORD,
            "next": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 200 and "Signed in" in r.text, r.text


def zipped(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted(folder.glob("*.csv")):
            zf.write(f, f.name)
    return buf.getvalue()


def test_the_sharing_report_matches_the_api(world: World) -> None:
    login(world, "riverside")
    r = world.client.get(f"{SHARING}/{world.app_id}")
    assert r.status_code == 200, r.text
    records = r.json()["records"]
    assert records["user"]["count"] == 7 and records["section"]["count"] == 1
    assert "email" not in records["user"]["fields"] and "username" in records["user"]["fields"]
    api = world.client.get("/ims/oneroster/v1p1/users", headers=world.bearer())
    assert api.headers["x-total-count"] == str(records["user"]["count"])


def test_only_district_admins_of_that_district(world: World) -> None:
    assert world.client.get(f"{SHARING}/{world.app_id}").status_code == 401
    login(world, "riverside", "teach")
    assert world.client.get(f"{SHARING}/{world.app_id}").status_code == 403
    # Hillview's admin: the app is connected to Riverside only, so it is unknown here.
    login(world, "hillview")
    r = world.client.get(f"{SHARING}/{world.app_id}")
    assert r.status_code == 404 and world.riverside.id not in r.text


def test_an_upload_imports_into_the_admins_district_only(world: World, tmp_path: Path) -> None:
    login(world, "hillview")
    pkg = copy_sample(tmp_path, "upload")
    edit(pkg, "users.csv", ",Maria,Rivera,", ",Mariana,Rivera,")
    r = world.client.post(IMPORT, content=zipped(pkg), headers={"Content-Type": "application/zip"})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["user"]["updated"] == 1
    assert r.json()["district_id"] == world.hillview.id
    for district, given in ((world.hillview, "Mariana"), (world.riverside, "Maria")):
        with TenantScope(district.id), world.container.db.scoped() as uow:
            user = uow.users.by_username("mrivera")
            assert user is not None and user.given_name == given
    with TenantScope(world.hillview.id), world.container.db.scoped() as uow:
        imports = uow.audit.list(action="roster.import")
    assert imports[-1].actor.startswith("user:")


def test_a_bad_package_lists_every_error_and_changes_nothing(world: World, tmp_path: Path) -> None:
    login(world, "riverside")
    pkg = copy_sample(tmp_path, "bad")
    edit(pkg, "users.csv", "tch-rivera,,,true,", "tch-rivera,,,maybe,")
    edit(pkg, "classes.csv", "cls-oak-m3,,,Math 3 - Rivera,03,c-math3", "cls-oak-m3,,,,03,c-nope")
    r = world.client.post(IMPORT, content=zipped(pkg), headers={"Content-Type": "application/zip"})
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert len(errors) >= 2
    assert {e["file"] for e in errors} >= {"users.csv", "classes.csv"}
    assert all(e["line"] and e["column"] for e in errors)


def test_uploads_must_be_zip_typed_and_capped(world: World) -> None:
    login(world, "riverside")
    r = world.client.post(IMPORT, data={"x": "y"})
    assert r.status_code == 415
    r = world.client.post(
        IMPORT,
        content=b"x",
        headers={"Content-Type": "application/zip", "Content-Length": str(10**12)},
    )
    assert r.status_code == 413
    r = world.client.post(IMPORT, content=b"not a zip", headers={"Content-Type": "application/zip"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_package"
    # the server's temporary path is not the caller's business
    assert "homeroom-import-" not in r.text and "/tmp" not in r.text
