"""The portal in a real browser: sign-in by password and badge, launchpad, badge sheets,
and the wall between districts. Real server, real Chromium, real database."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from homeroom.identity.badges import credential_from_payload
from homeroom.roster.models import Role, User
from homeroom.tenancy import TenantScope
from tests.browser.conftest import OTHER_PASSWORD, OTHER_SLUG, Chromium, Portal
from tests.browser.media import pdf_qr_texts, qr_png, write_y4m


def _student(portal: Portal, username: str, slug: str = "maplewood") -> User:
    district = portal.district(slug)
    with TenantScope(district.id), portal.container.db.scoped() as uow:
        user = uow.users.by_username(username)
    assert user is not None
    return user


def _issue_badge(portal: Portal, username: str, slug: str = "maplewood") -> str:
    district = portal.district(slug)
    [issued] = portal.container.badges.issue(district, [_student(portal, username, slug)], "test")
    return issued.payload


def _sign_in(page: Any, portal: Portal, username: str, password: str, slug: str) -> None:
    page.goto(f"{portal.url}/d/{slug}")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_student_signs_in_by_password_and_opens_the_demo_app(page: Any, portal: Portal) -> None:
    demo = portal.demo
    _sign_in(page, portal, demo.student_username, demo.student_password, "maplewood")
    page.wait_for_url(f"{portal.url}/d/maplewood/apps")
    assert page.locator("#hello").inner_text() == "Hi, Ava!"
    tile = page.get_by_role("link", name="Open Demo Reader")
    assert tile.is_visible()
    # The tile starts the app's own login (OIDC Core §4): its initiate_login_uri with iss
    # and login_hint; the app's authorization request finds the portal session, so the app
    # gets a code at once and the student lands signed in, with no second sign-in.
    student = _student(portal, demo.student_username)
    with page.expect_request(lambda r: "/demo-app/login" in r.url) as launched:
        tile.click()
    query = parse_qs(urlsplit(launched.value.url).query)
    assert query["iss"] == [portal.url]
    assert query["login_hint"] == [student.id]
    page.wait_for_url(f"{portal.url}/demo-app/")
    signed_in = page.get_by_text("Signed in as")
    assert signed_in.locator("strong").inner_text() == f"{student.given_name} {student.family_name}"
    assert student.id in page.content()


def test_wrong_password_gets_a_generic_message(page: Any, portal: Portal) -> None:
    _sign_in(page, portal, "student02", "not-the-password", "maplewood")
    alert = page.get_by_role("alert")
    assert "did not work" in alert.inner_text()
    _sign_in(page, portal, "no-such-kid", "not-the-password", "maplewood")
    assert page.get_by_role("alert").inner_text() == alert.inner_text()
    assert page.url == f"{portal.url}/d/maplewood/signin"


def test_student_signs_in_with_a_badge_shown_to_the_webcam(
    chromium: Chromium, portal: Portal, tmp_path: Path
) -> None:
    payload = _issue_badge(portal, "student03")
    video = write_y4m(payload, tmp_path / "badge.y4m")
    browser = chromium.launch(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    try:
        context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-US")
        context.grant_permissions(["camera"], origin=portal.url)
        page = context.new_page()
        page.goto(f"{portal.url}/d/maplewood")
        page.get_by_role("link", name="Use my badge").click()
        page.wait_for_url(f"{portal.url}/d/maplewood/apps", timeout=30_000)
        assert page.locator("#hello").inner_text() == "Hi, Mia!"  # student03
        assert page.get_by_role("link", name="Open Demo Reader").is_visible()
    finally:
        browser.close()


def test_photo_of_badge_signs_in_until_the_badge_is_voided(
    browser: Any, portal: Portal, tmp_path: Path
) -> None:
    payload = _issue_badge(portal, "student04")
    photo = qr_png(payload, tmp_path / "badge.png")

    def try_photo() -> Any:
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.goto(f"{portal.url}/d/maplewood/badge")
        page.get_by_label("Photo of the badge").set_input_files(str(photo))
        page.get_by_role("button", name="Sign in with this photo").click()
        page.wait_for_load_state()
        return context, page

    context, page = try_photo()
    assert page.url == f"{portal.url}/d/maplewood/apps"
    assert page.locator("#hello").inner_text() == "Hi, Noah!"  # student04
    context.close()

    district = portal.district("maplewood")
    assert portal.container.badges.void_user(district, _student(portal, "student04").id, "t")
    context, page = try_photo()
    assert page.url == f"{portal.url}/d/maplewood/badge/photo"
    assert "did not work" in page.get_by_role("alert").inner_text()
    context.close()


def test_teacher_prints_a_badge_sheet_with_one_qr_per_student(page: Any, portal: Portal) -> None:
    demo = portal.demo
    _sign_in(page, portal, demo.teacher_username, demo.teacher_password, "maplewood")
    page.wait_for_url(f"{portal.url}/d/maplewood/apps")
    page.get_by_role("link", name="Print badges").click()
    button = page.get_by_role("button", name="Print badges for Kindergarten - Room 4")
    with page.expect_download() as download:
        button.click()
    pdf = Path(download.value.path()).read_bytes()
    pages = pdf_qr_texts(pdf)
    assert [len(p) for p in pages] == [10]  # 2 x 5 labels: the ten Kindergarten students
    district = portal.district("maplewood")
    signed_in = set()
    for text in pages[0]:
        credential = credential_from_payload(text, "maplewood")
        assert credential is not None and "student" not in text  # no personal data
        user = portal.container.badges.authenticate(district, credential)
        assert user is not None and user.role is Role.STUDENT and user.grade == "KG"
        signed_in.add(user.id)
    assert len(signed_in) == 10
    # A teacher of older grades only: no Kindergarten button for Mr. Chen.
    page.goto(f"{portal.url}/d/maplewood/apps")
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, portal, "mr.chen", demo.teacher_password, "maplewood")
    page.goto(f"{portal.url}/d/maplewood/badges")
    assert page.get_by_role("button", name="Print badges for Kindergarten - Room 4").count() == 0


def test_district_a_student_cannot_use_district_b(
    page: Any, portal: Portal, tmp_path: Path
) -> None:
    demo = portal.demo
    # B's portal shows B, and nothing of A.
    page.goto(f"{portal.url}/d/{OTHER_SLUG}")
    body = page.locator("body").inner_text()
    assert "Oakridge School District" in body and "Maplewood" not in body
    # A's username and password do not work on B (B has its own "student01").
    _sign_in(page, portal, demo.student_username, demo.student_password, OTHER_SLUG)
    assert page.url == f"{portal.url}/d/{OTHER_SLUG}/signin"
    assert page.get_by_role("alert").is_visible()
    # Signed in to A, B's launchpad treats the browser as signed out.
    _sign_in(page, portal, demo.student_username, demo.student_password, "maplewood")
    page.wait_for_url(f"{portal.url}/d/maplewood/apps")
    page.goto(f"{portal.url}/d/{OTHER_SLUG}/apps")
    assert page.url == f"{portal.url}/d/{OTHER_SLUG}"
    assert "Demo Reader" not in page.locator("body").inner_text()
    page.goto(f"{portal.url}/d/{OTHER_SLUG}/launch/{demo.app_client_id}")
    assert page.url == f"{portal.url}/d/{OTHER_SLUG}"
    # A's badge is refused on B's badge page.
    photo = qr_png(_issue_badge(portal, "student05"), tmp_path / "a-badge.png")
    page.goto(f"{portal.url}/d/{OTHER_SLUG}/badge")
    page.get_by_label("Photo of the badge").set_input_files(str(photo))
    page.get_by_role("button", name="Sign in with this photo").click()
    assert page.url == f"{portal.url}/d/{OTHER_SLUG}/badge/photo"
    assert "did not work" in page.get_by_role("alert").inner_text()
    # ...while B's own student signs in on B with B's password.
    _sign_in(page, portal, "student01", OTHER_PASSWORD, OTHER_SLUG)
    page.wait_for_url(f"{portal.url}/d/{OTHER_SLUG}/apps")
    assert page.locator("#hello").inner_text() == "Hi, Olive!"


def test_unknown_district_is_a_bare_404(page: Any, portal: Portal) -> None:
    response = page.goto(f"{portal.url}/d/no-such-district")
    assert response.status == 404
    assert page.locator("body").inner_text().strip() == "Not found"


def test_spanish_from_accept_language_and_the_switch(browser: Any, portal: Portal) -> None:
    context = browser.new_context(locale="es-ES")
    page = context.new_page()
    page.goto(f"{portal.url}/d/maplewood")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == "¡Hola! Elige cómo entrar."
    page.get_by_role("link", name="Switch to English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome! Choose how to sign in."
    page.goto(f"{portal.url}/d/maplewood/badge")  # the choice sticks (cookie)
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


def test_sign_out_ends_the_session(page: Any, portal: Portal) -> None:
    demo = portal.demo
    _sign_in(page, portal, demo.student_username, demo.student_password, "maplewood")
    page.wait_for_url(f"{portal.url}/d/maplewood/apps")
    cookie = next(c for c in page.context.cookies() if c["name"] == "homeroom_session")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{portal.url}/d/maplewood?signed_out=1")
    assert page.get_by_role("status").inner_text() == "You signed out. See you soon!"
    # Replaying the old cookie does not bring the session back.
    page.context.add_cookies([cookie])
    page.goto(f"{portal.url}/d/maplewood/apps")
    assert page.url == f"{portal.url}/d/maplewood"
