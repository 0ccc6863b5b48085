"""The authorization endpoint: RFC 6749 §4.1.1-4.1.2, OIDC Core §3.1.2, RFC 9207."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from prometheus_client import REGISTRY

from homeroom.sharing.models import Connection
from homeroom.tenancy import TenantScope
from tests.oidc.conftest import ISSUER, OP, REDIRECT, pkce_pair, query_of


def _errors(error: str) -> float:
    labels = {"endpoint": "authorize", "error": error}
    return REGISTRY.get_sample_value("homeroom_oidc_errors_total", labels) or 0.0


def test_without_a_session_the_user_signs_in_and_goes_straight_on_to_the_app(op: OP) -> None:
    r = op.authorize(district="springfield", login_hint="lisa")
    assert r.status_code == 302
    login = r.headers["location"]
    assert login.startswith("/login?")
    q = query_of(login)
    assert q["district"] == "springfield" and q["username"] == "lisa"
    assert q["next"].startswith("/authorize?")
    # The sign-in's answer is the authorization's (web.oidc.continue_authorization): the
    # browser goes back to the app with its code, not first to /authorize again.
    done = op.login(next_url=q["next"])
    assert done.status_code == 303
    assert done.headers["location"].startswith(REDIRECT + "?")
    back = query_of(done.headers["location"])
    assert set(back) == {"code", "state", "iss"}
    assert back["state"] == "st-123" and back["iss"] == ISSUER
    assert "homeroom_session=" in done.headers["set-cookie"]
    assert op.exchange(back["code"]).status_code == 200
    assert op.exchange(back["code"]).status_code == 400  # still single-use
    again = op.authorize()  # the session the form started: no second sign-in
    assert again.headers["location"].startswith(REDIRECT + "?")


def test_signing_in_for_a_request_the_app_must_refuse_sends_its_error_once(op: OP) -> None:
    """A redirectable error (RFC 6749 §4.1.2.1) goes to the app from the form's answer,
    counted once."""
    next_url = "/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": op.app.id,
            "redirect_uri": REDIRECT,
            "scope": "openid no-such-scope",
            "state": "st-9",
        }
    )
    before = _errors("invalid_scope")
    done = op.login(next_url=next_url)
    assert done.status_code == 303
    assert done.headers["location"].startswith(REDIRECT + "?")
    back = query_of(done.headers["location"])
    assert back["error"] == "invalid_scope" and back["state"] == "st-9"
    assert _errors("invalid_scope") == before + 1


def test_signing_in_for_a_request_with_an_unverified_redirect_shows_our_page(op: OP) -> None:
    """An error that must not redirect (unknown client) is left to GET /authorize, which
    shows it on our page at that URL: the form never sends the browser anywhere else, and
    the error is counted once."""
    next_url = "/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": "app_nonexistent000000000",
            "redirect_uri": "https://evil.example/callback",
            "scope": "openid",
            "state": "st-9",
        }
    )
    counted = sum(_errors(e) for e in ("invalid_request", "invalid_client", "unauthorized_client"))
    done = op.login(next_url=next_url)
    assert done.status_code == 303 and done.headers["location"] == next_url
    page = op.client.get(next_url, follow_redirects=False)
    assert page.status_code == 400 and "location" not in page.headers
    after = sum(_errors(e) for e in ("invalid_request", "invalid_client", "unauthorized_client"))
    assert after == counted + 1


def test_a_code_is_issued_with_state_and_iss(op: OP) -> None:
    op.login()
    r = op.authorize()
    assert r.status_code == 302
    q = query_of(r.headers["location"])
    assert set(q) == {"code", "state", "iss"}
    assert q["state"] == "st-123"
    assert q["iss"] == ISSUER  # RFC 9207 §2
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "app_nonexistent000000000"},
        {"client_id": ""},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": REDIRECT + "/extra"},
        {"redirect_uri": REDIRECT + "?x=1"},
        {"redirect_uri": ""},
    ],
)
def test_bad_client_or_redirect_uri_shows_a_page_and_never_redirects(
    op: OP, params: dict[str, str]
) -> None:
    op.login()
    r = op.authorize(**params)
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "text/html" in r.headers["content-type"]


def test_a_repeated_redirect_uri_is_not_trusted(op: OP) -> None:
    query = urlencode(
        [
            ("response_type", "code"),
            ("client_id", op.app.id),
            ("redirect_uri", REDIRECT),
            ("redirect_uri", "https://evil.example/"),
            ("scope", "openid"),
        ]
    )
    r = op.client.get("/authorize?" + query, follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": ""}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "select_account"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"request": "eyJ..."}, "invalid_request"),
        ({"district": "atlantis"}, "invalid_request"),
    ],
)
def test_other_errors_redirect_with_the_rfc_code_and_state(
    op: OP, params: dict[str, str], error: str
) -> None:
    from prometheus_client import REGISTRY

    op.login()
    labels = {"endpoint": "authorize", "error": error}
    before = REGISTRY.get_sample_value("homeroom_oidc_errors_total", labels) or 0
    r = op.authorize(**params)
    assert REGISTRY.get_sample_value("homeroom_oidc_errors_total", labels) == before + 1
    assert r.status_code == 302
    assert r.headers["location"].startswith(REDIRECT + "?")
    q = query_of(r.headers["location"])
    assert q["error"] == error
    assert q["state"] == "st-123" and q["iss"] == ISSUER
    assert "code" not in q


def test_public_clients_must_use_pkce(op: OP) -> None:
    op.login()
    base = {"client_id": op.public_app.id, "redirect_uri": "https://pad.example/cb"}
    r = op.authorize(**base)
    assert query_of(r.headers["location"])["error"] == "invalid_request"
    _verifier, challenge = pkce_pair()
    r = op.authorize(**base, code_challenge=challenge, code_challenge_method="S256")
    assert "code" in query_of(r.headers["location"])


def test_prompt_none_without_a_session_is_login_required(op: OP) -> None:
    r = op.authorize(prompt="none")
    q = query_of(r.headers["location"])
    assert q["error"] == "login_required" and q["state"] == "st-123"


def test_prompt_none_with_a_session_issues_a_code_silently(op: OP) -> None:
    op.login()
    r = op.authorize(prompt="none")
    assert "code" in query_of(r.headers["location"])


def test_prompt_login_forces_a_new_sign_in_once(op: OP) -> None:
    op.login()
    r = op.authorize(prompt="login")
    assert r.headers["location"].startswith("/login?")
    back_to = query_of(r.headers["location"])["next"]
    assert "prompt" not in back_to
    op.login(next_url=back_to)
    assert "code" in query_of(op.client.get(back_to, follow_redirects=False).headers["location"])


def _age_session(op: OP, seconds: int) -> None:
    """Make the browser's session look as if the user signed in ``seconds`` ago."""
    session_id = op.client.cookies["homeroom_session"].rsplit(".", 1)[0]
    raw = op.container.kv.get("sess:" + session_id)
    assert raw is not None
    data = json.loads(raw)
    data["auth_time"] -= seconds
    op.container.kv.set("sess:" + session_id, json.dumps(data).encode(), ttl_s=600)


def test_max_age_requires_a_recent_sign_in(op: OP) -> None:
    op.login()
    _age_session(op, 120)
    assert (
        query_of(op.authorize(max_age="60", prompt="none").headers["location"])["error"]
        == "login_required"
    )
    r = op.authorize(max_age="60")
    assert r.headers["location"].startswith("/login?")
    assert "code" in query_of(op.authorize(max_age="3600").headers["location"])


def test_a_session_in_another_district_must_sign_in_again(op: OP) -> None:
    op.container.roster_admin.create_district("shelbyville", "Shelbyville")
    op.login()
    r = op.authorize(district="shelbyville")
    assert r.headers["location"].startswith("/login?")


def test_apps_the_district_has_not_connected_are_access_denied(op: OP) -> None:
    other = op.container.apps.create_app("Unconnected", [REDIRECT])
    op.login()
    r = op.authorize(client_id=other.app.id)
    q = query_of(r.headers["location"])
    assert q["error"] == "access_denied" and q["state"] == "st-123"


def test_roles_the_connection_does_not_allow_are_access_denied(op: OP) -> None:
    with TenantScope(op.district.id), op.container.db.scoped() as uow:
        uow.connections.put(Connection(op.district.id, op.app.id, roles_allowed=("teacher",)))
    op.container.oidc.clients.invalidate()
    op.login()
    assert query_of(op.authorize().headers["location"])["error"] == "access_denied"
    op.login(username="hoover")
    assert "code" in query_of(op.authorize().headers["location"])


def test_paused_or_expired_connections_are_access_denied(op: OP) -> None:
    import datetime as dt

    op.login()
    for change in (
        {"status": "paused"},
        {"expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)},
    ):
        with TenantScope(op.district.id), op.container.db.scoped() as uow:
            uow.connections.put(Connection(op.district.id, op.app.id, **change))  # type: ignore[arg-type]
        op.container.oidc.clients.invalidate()
        assert query_of(op.authorize().headers["location"])["error"] == "access_denied"


def test_a_deactivated_user_with_a_live_session_must_sign_in_again(op: OP) -> None:
    from tests.oidc.conftest import set_user_status

    op.login()
    set_user_status(op.container, op.student, "inactive")
    assert op.authorize().headers["location"].startswith("/login?")
    assert query_of(op.authorize(prompt="none").headers["location"])["error"] == "login_required"


def test_the_request_may_be_posted_as_a_form(op: OP) -> None:
    """OIDC Core §3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET and
    POST methods"."""
    op.login()
    r = op.client.post(
        "/authorize",
        data={
            "response_type": "code",
            "client_id": op.app.id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": "p1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 302
    q = query_of(r.headers["location"])
    assert "code" in q and q["state"] == "p1"
