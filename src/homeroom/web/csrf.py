"""CSRF protection for the portal's HTML forms: the double-submit cookie pattern.

OWASP CSRF Prevention Cheat Sheet: a random token in a cookie, repeated in a hidden form
field; a cross-site page can make the browser send the cookie but cannot read it to fill
the field. The cookie is SameSite=Strict and HttpOnly, and a request whose ``Origin``
header names another site is refused before the token is even compared.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "csrf_token", "csrf_valid", "set_csrf_cookie"]

CSRF_COOKIE = "homeroom_csrf"
CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The request's token (from its cookie), or a fresh one to set with the response."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(existing) <= 64:
        return existing
    return secrets.token_urlsafe(24)


def set_csrf_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, secure=secure, samesite="strict", path="/"
    )


def csrf_valid(request: Request, submitted: str | None, issuer: str) -> bool:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        netloc = urlsplit(origin).netloc
        if netloc not in (request.headers.get("host", ""), urlsplit(issuer).netloc):
            return False
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())
