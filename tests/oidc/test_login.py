"""The sign-in page: CSRF, generic errors, cookie flags, safe ``next``, session fixation."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from homeroom.web.login import safe_next
from tests.oidc.conftest import OP, set_user_status


def _logins(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "homeroom_logins_total", {"method": "password", "outcome": outcome}
    )
    return value or 0.0


def test_successful_sign_in_sets_a_locked_down_session_cookie(op: OP) -> None:
    before = _logins("success")
    r = op.login(next_url="/authorize?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/authorize?x=1"
    cookie = r.headers["set-cookie"]
    assert "homeroom_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert _logins("success") == before + 1


@pytest.mark.parametrize(
    ("username", "password"),
    [("lisa", "wrong-password"), ("nobody", "correct-horse-1"), ("", "x")],
)
def test_failures_are_generic(op: OP, username: str, password: str) -> None:
    before = _logins("bad_credentials")
    r = op.login(username=username or "x", password=password)
    assert r.status_code == 401
    assert "That sign-in did not work" in r.text
    assert "homeroom_session=" not in r.headers.get("set-cookie", "")
    assert _logins("bad_credentials") == before + 1


def test_inactive_users_cannot_sign_in(op: OP) -> None:
    set_user_status(op.container, op.student, "inactive")
    assert op.login().status_code == 401


def test_the_form_without_its_csrf_token_is_refused(op: OP) -> None:
    r = op.client.post(
        "/login",
        data={"district": "springfield", "username": "lisa", "password": "correct-horse-1"},
    )
    assert r.status_code == 400 and "expired" in r.text
    assert "homeroom_session=" not in r.headers.get("set-cookie", "")


def test_a_new_sign_in_replaces_the_old_session(op: OP) -> None:
    op.login()
    old = op.container.session_cookie
    first = op.client.cookies.get("homeroom_session")
    op.login()
    second = op.client.cookies.get("homeroom_session")
    assert first != second
    assert old is not None


def test_district_field_is_shown_when_the_district_is_unknown(op: OP) -> None:
    page = op.client.get("/login")
    assert 'name="district"' in page.text and 'id="district"' in page.text
    known = op.client.get("/login", params={"district": "springfield"})
    assert "Springfield Public Schools" in known.text


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_next_is_never_an_open_redirect(value: str) -> None:
    assert safe_next(value) is None


def test_next_keeps_local_paths() -> None:
    assert safe_next("/authorize?client_id=a&x=%2F%2F") == "/authorize?client_id=a&x=%2F%2F"


def test_repeated_failures_lock_the_account_for_that_address(op: OP) -> None:
    limit = op.container.rate_limiter.limits("account")[0].amount
    before = _logins("locked")
    for _ in range(limit):
        assert op.login(password="wrong-password").status_code == 401
    blocked = op.login()  # even the right password, until the window passes
    assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.headers["x-ratelimit-remaining"] == "0"
    assert "homeroom_session=" not in blocked.headers.get("set-cookie", "")
    assert _logins("locked") == before + 1
    # Another account from the same address is unaffected.
    other = op.login(username="hoover")
    assert other.status_code == 200 and "You are signed in" in other.text


def test_a_success_forgets_earlier_failures(op: OP) -> None:
    limit = op.container.rate_limiter.limits("account")[0].amount
    for _ in range(limit - 1):
        assert op.login(password="wrong-password").status_code == 401
    assert op.login().status_code == 200
    for _ in range(limit - 1):
        assert op.login(password="wrong-password").status_code == 401
    assert op.login().status_code == 200
