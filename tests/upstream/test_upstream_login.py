"""Portal sign-in through the district's upstream IdP: a second, independently configured
Homeroom on loopback plays the district's Google/Microsoft. Real HTTP, real tokens."""

from __future__ import annotations

import requests

from homeroom.tenancy import TenantScope
from tests.upstream.conftest import Federation


def _audit_actions(federation: Federation, slug: str) -> list[tuple[str, str, str | None]]:
    district = federation.alpha if slug == "alpha" else federation.beta
    with TenantScope(district.id), federation.portal.db.scoped() as uow:
        events = uow.audit.list(limit=100)
    return [(e.action, e.outcome, e.target_id) for e in events]


def test_the_sign_in_page_shows_the_upstream_button(federation: Federation) -> None:
    page = requests.get(f"{federation.portal_url}/d/alpha", timeout=30)
    assert "Sign in with Springfield ID" in page.text
    assert f"/d/alpha/upstream/{federation.upstream.id}/start" in page.text
    spanish = requests.get(f"{federation.portal_url}/d/alpha?lang=es", timeout=30)
    assert "Entrar con Springfield ID" in spanish.text
    other = requests.get(f"{federation.portal_url}/d/beta", timeout=30)
    assert "Springfield ID" not in other.text


def test_a_user_matched_by_email_lands_on_the_launchpad(federation: Federation) -> None:
    browser = requests.Session()
    done = federation.sign_in_upstream(browser, "lisa")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/d/alpha/apps"
    apps = browser.get(f"{federation.portal_url}/d/alpha/apps", allow_redirects=False)
    assert apps.status_code == 200 and "Hi, Lisa!" in apps.text
    cookie = str(browser.cookies.get("homeroom_session"))
    session_id = federation.portal.session_cookie._signer.unsign(cookie).decode()
    session = federation.portal.sessions.get(session_id)
    assert session is not None and session.auth_method == "upstream"
    assert session.district_id == federation.alpha.id
    # The code and state are single use: replaying the callback signs no one in.
    replay = browser.get(done.url, allow_redirects=False, timeout=30)
    assert replay.status_code == 400
    assert ("signin.upstream", "success", federation.alpha_lisa.id) in _audit_actions(
        federation, "alpha"
    )


def test_a_user_unknown_to_the_district_is_refused_with_a_clear_page(
    federation: Federation,
) -> None:
    browser = requests.Session()
    done = federation.sign_in_upstream(browser, "hoover")  # no email in the IdP
    assert done.status_code == 403
    assert "We could not find you in this district" in done.text
    assert (
        browser.get(f"{federation.portal_url}/d/alpha/apps", allow_redirects=False).status_code
        == 303
    )
    assert ("signin.upstream", "failure", None) in _audit_actions(federation, "alpha")


def test_a_user_of_another_district_is_not_matched(federation: Federation) -> None:
    browser = requests.Session()
    done = federation.sign_in_upstream(browser, "bart")  # bart@… is a user of beta only
    assert done.status_code == 403 and "could not find you" in done.text
    apps = browser.get(f"{federation.portal_url}/d/beta/apps", allow_redirects=False)
    assert apps.status_code == 303  # and no session in beta either
    assert not any(a[0] == "signin.upstream" for a in _audit_actions(federation, "beta"))


def test_a_callback_for_another_browser_or_replayed_is_refused(federation: Federation) -> None:
    browser = requests.Session()
    start = browser.get(
        f"{federation.portal_url}/d/alpha/upstream/{federation.upstream.id}/start",
        allow_redirects=False,
    )
    state = requests.utils.urlparse(start.headers["location"]).query
    assert "state=" in state and "nonce=" in state and "code_challenge=" in state
    stranger = requests.get(
        f"{federation.portal_url}/d/alpha/upstream/callback?code=x&{state}", timeout=30
    )
    assert stranger.status_code == 400  # no state cookie: login CSRF refused
