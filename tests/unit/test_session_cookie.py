"""The session cookie is signed, rotates keys without logging anyone out, and is HttpOnly."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from homeroom.web.session_cookie import COOKIE_NAME, SessionCookie


def request_with(cookie: str) -> Request:
    return Request({"type": "http", "headers": [(b"cookie", f"{COOKIE_NAME}={cookie}".encode())]})


def cookie_value(response: Response) -> str:
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header
    return header.split(";")[0].split("=", 1)[1]


def test_roundtrip_and_forgery() -> None:
    c = SessionCookie([b"k1"], secure=True, max_age_s=60)
    r = Response()
    c.write(r, "abc")
    assert "Secure" in r.headers["set-cookie"]
    value = cookie_value(r)
    assert c.read(request_with(value)) == "abc"
    assert c.read(request_with(value.replace("abc", "abd"))) is None
    assert c.read(request_with("abc")) is None


def test_rotation_keeps_old_cookies_valid() -> None:
    old = SessionCookie([b"k1"], secure=False, max_age_s=60)
    r = Response()
    old.write(r, "sess")
    value = cookie_value(r)
    rotated = SessionCookie([b"k2", b"k1"], secure=False, max_age_s=60)  # newest first
    assert rotated.read(request_with(value)) == "sess"
    r2 = Response()
    rotated.write(r2, "sess")
    assert (
        SessionCookie([b"k1"], secure=False, max_age_s=60).read(request_with(cookie_value(r2)))
        is None
    )  # new cookies are signed with the new key
    retired = SessionCookie([b"k2"], secure=False, max_age_s=60)
    assert retired.read(request_with(value)) is None
