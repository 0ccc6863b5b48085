"""The upstream button in a real browser: Chromium clicks "Sign in with Springfield ID",
signs in at a second Homeroom acting as the district's IdP, and lands on the launchpad."""

from __future__ import annotations

from typing import Any

from tests.upstream.conftest import Federation
from tests.upstream.conftest import federation as federation  # the fixture, re-exported


def test_student_signs_in_with_the_district_idp(page: Any, federation: Federation) -> None:
    page.goto(f"{federation.portal_url}/d/alpha")
    page.get_by_role("link", name="Sign in with Springfield ID").click()
    page.wait_for_url(f"{federation.idp_url}/login?*")
    page.get_by_label("District").fill("springfield")
    page.get_by_label("Username").fill("lisa")
    page.get_by_label("Password").fill("correct-horse-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{federation.portal_url}/d/alpha/apps")
    assert page.locator("#hello").inner_text() == "Hi, Lisa!"


def test_unknown_user_sees_the_refusal_page(page: Any, federation: Federation) -> None:
    page.goto(f"{federation.portal_url}/d/alpha?lang=es")
    page.get_by_role("link", name="Entrar con Springfield ID").click()
    page.wait_for_url(f"{federation.idp_url}/login?*")
    page.get_by_label("District").fill("springfield")
    page.get_by_label("Username").fill("hoover")
    page.get_by_label("Password").fill("correct-horse-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{federation.portal_url}/d/alpha/upstream/callback?*")
    assert page.get_by_role("heading", level=1).inner_text() == "No te encontramos en este distrito"
