"""CSRF protection for HTML forms: a signed double-submit token (OWASP CSRF Cheat Sheet).

A random value lives in an HttpOnly, SameSite=Strict cookie; the form carries its HMAC under
a server key. A cross-site page can neither read the cookie nor compute the HMAC. A request
whose ``Origin`` header names another site is refused before the token is compared.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "CsrfProtector"]

CSRF_COOKIE = "homeroom_csrf"
CSRF_FIELD = "csrf_token"


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
        origin = request.headers.get("origin")
        if origin and origin != "null":
            issuer_host = urlsplit(str(request.app.state.container.settings.issuer)).netloc
            if urlsplit(origin).netloc not in (request.headers.get("host", ""), issuer_host):
                return False
        value = request.cookies.get(CSRF_COOKIE)
        if not value or not submitted:
            return False
        return hmac.compare_digest(self._mac(value), submitted)
