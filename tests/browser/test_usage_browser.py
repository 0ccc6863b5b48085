"""The usage-goal page in a real browser: the demo teacher sees her seeded goal with each
student's minutes this week, sets a new goal, and sees it listed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from homeroom.tenancy import TenantScope
from tests.browser.conftest import Portal
from tests.browser.test_portal_browser import _sign_in


def test_teacher_sees_goal_progress_and_sets_a_goal(page: Any, portal: Portal) -> None:
    demo = portal.demo
    district = portal.district("maplewood")
    with TenantScope(district.id), portal.container.db.scoped() as uow:
        teacher = uow.users.by_username(demo.teacher_username)
    assert teacher is not None
    _sign_in(page, portal, demo.teacher_username, demo.teacher_password, "maplewood")
    page.wait_for_url(f"{portal.url}/d/maplewood/apps")
    page.get_by_role("link", name="App time goals").click()
    page.wait_for_url(f"{portal.url}/d/maplewood/usage")

    # The seeded goal, and each student's minutes as the domain computes them.
    [seeded] = portal.container.usage_goals.progress(district.id, teacher.id)
    goal = page.locator(f'[data-goal-id="{seeded["id"]}"]')
    goal.get_by_role("heading", name="Grade 2 Reading: Demo Reader").wait_for()
    assert "Goal: 60 minutes a week" in goal.inner_text()
    assert seeded["students"], "the demo section has students"
    for student in seeded["students"]:
        name = f"{student['given_name']} {student['family_name']}"
        bar = goal.get_by_role("progressbar", name=name, exact=True)
        assert bar.get_attribute("value") == str(min(student["minutes"], 60))
        row = goal.locator("li", has=page.get_by_role("progressbar", name=name, exact=True))
        assert f"{student['minutes']} of 60 minutes" in row.inner_text()

    # A new goal for the Kindergarten class.
    today = dt.date.today()
    page.get_by_label("Class", exact=True).select_option(label="Kindergarten - Room 4")
    page.get_by_label("App", exact=True).select_option(label="Demo Reader")
    page.get_by_label("Minutes per week").fill("45")
    page.get_by_label("Starts on").fill(today.isoformat())
    page.get_by_label("Ends on").fill((today + dt.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Save goal").click()
    page.wait_for_url(re.compile(r".*/d/maplewood/usage\?done=created$"))
    assert page.get_by_role("status").inner_text() == "Done: the goal is saved."
    new = page.locator(
        ".usage-goal", has=page.get_by_role("heading", name="Kindergarten - Room 4: Demo Reader")
    )
    assert new.count() == 1
    assert "Goal: 45 minutes a week" in new.inner_text()
    # Stored by the domain, not just rendered.
    goals = portal.container.usage_goals.progress(district.id, teacher.id)
    assert sorted(g["minutes_per_week"] for g in goals) == [45, 60]
