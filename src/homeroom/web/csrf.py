"""CSRF protection for HTML forms: a signed double-submit token (OWASP CSRF Cheat Sheet).

A random value lives in an HttpOnly, SameSite=Strict cookie; the form carries its HMAC under
a server key. A cross-site page can neither read the cookie nor compute the HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["CSRF_COOKIE", "CsrfProtector"]

CSRF_COOKIE = "homeroom_csrf"


class CsrfProtector:
    def __init__(self, key: bytes, secure: bool) -> None:
        self._key = key
        self.secure = secure

    def _mac(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def issue(self, request: Request) -> tuple[str, str]:
        """(cookie value, form token) for this browser; reuses its cookie when present."""
        value = request.cookies.get(CSRF_COOKIE)
        if not value or len(value) > 64:
            value = secrets.token_urlsafe(24)
        return value, self._mac(value)

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            CSRF_COOKIE, value, httponly=True, secure=self.secure, samesite="strict", path="/"
        )

    def valid(self, request: Request, submitted: str | None) -> bool:
        value = request.cookies.get(CSRF_COOKIE)
        if not value or not submitted:
            return False
        return hmac.compare_digest(self._mac(value), submitted)
