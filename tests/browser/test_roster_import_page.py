"""The district admin's roster upload page in a real browser: sign in through the portal,
upload a broken package (every error with file, line and column, nothing changed), then a
good one with a warning (the summary and the warning). Real server, Chromium, database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeroom.tenancy import TenantScope
from tests.browser.conftest import Portal
from tests.roster.packages import copy_sample, edit, zip_package

PATH = "/admin/roster/import"


def _user_count(portal: Portal) -> int:
    district = portal.district("maplewood")
    with TenantScope(district.id), portal.container.db.scoped() as uow:
        return uow.users.count()


def _upload(page: Any, package: Path) -> None:
    page.get_by_label("OneRoster CSV package (.zip)").set_input_files(str(package))
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()


def test_admin_uploads_a_package_and_sees_errors_then_the_summary(
    page: Any, portal: Portal, tmp_path: Path
) -> None:
    demo = portal.demo
    page.goto(f"{portal.url}{PATH}")
    # No session: the portal's sign-in page, coming back here afterwards.
    page.get_by_label("District", exact=True).fill(demo.district_slug)
    page.get_by_label("Username", exact=True).fill(demo.admin_username)
    page.get_by_label("Password", exact=True).fill(demo.admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{portal.url}{PATH}")
    assert page.get_by_role("heading", name="Roster import").is_visible()

    users_before = _user_count(portal)
    not_zip = tmp_path / "roster.zip"
    not_zip.write_text("sourcedId,status\n", encoding="utf-8")
    _upload(page, not_zip)
    assert page.get_by_role("alert").inner_text() == "roster.zip is not a zip archive."
    broken = copy_sample(tmp_path, "broken")
    edit(broken, "academicSessions.csv", "2026-08-17,2027-06-11", "2026-13-17,2027-06-11")
    _upload(page, zip_package(broken, tmp_path / "broken.zip"))
    assert "Nothing was changed" in page.get_by_role("alert").inner_text()
    row = page.get_by_role("table", name="Errors").get_by_role("row").nth(1)
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[:3] == ["academicSessions.csv", "2", "startDate"], cells
    assert _user_count(portal) == users_before

    good = copy_sample(tmp_path, "good")
    edit(
        good,
        "courses.csv",
        "c-math3,,,sy-2026,Math 3,M3,03,dist-1,Math,",
        "c-math3,,,sy-2026,Math 3,M3,03,dist-1,Math,,surplus",
    )
    _upload(page, zip_package(good, tmp_path / "good.zip"))
    status = page.get_by_role("status").inner_text()
    assert "Imported OneRoster 1.1" in status and "1 warning" in status, status
    records = page.get_by_role("table", name="Records")
    users = records.get_by_role("row", name="user")
    created = int(users.get_by_role("cell").nth(0).inner_text())
    assert created > 0 and _user_count(portal) >= users_before + created
    warning = page.get_by_role("table", name="Warnings").get_by_role("row").nth(1)
    assert warning.get_by_role("cell").all_inner_texts()[:2] == ["courses.csv", "2"]
