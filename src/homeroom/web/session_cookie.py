"""The portal session cookie: a signed reference to a KV session, never the session itself.

Signed with itsdangerous under a list of keys (newest first) so that the session key can be
rotated without signing anyone out: old signatures verify until they age out. The keys may
be a callable (the key's live versions in the secret store, ``secrets.live.LiveKeys``):
the signer is rebuilt only when the list it returns changes.
HttpOnly always; Secure unless the issuer is plain-http loopback; SameSite=Lax so the OIDC
authorization redirect from an app still carries it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["COOKIE_NAME", "SessionCookie"]

COOKIE_NAME = "homeroom_session"
_SALT = "homeroom.session"


class SessionCookie:
    def __init__(
        self,
        keys: Sequence[bytes] | Callable[[], Sequence[bytes]],
        secure: bool,
        max_age_s: int,
    ) -> None:
        if callable(keys):
            self._keys: Callable[[], Sequence[bytes]] = keys
        else:
            fixed = tuple(keys)
            self._keys = lambda: fixed
        self._seen: Sequence[bytes] | None = None
        self._signer = self._build(self._keys())
        self.secure = secure
        self.max_age_s = max_age_s

    def _build(self, keys: Sequence[bytes]) -> Signer:
        if not keys:
            raise ValueError("at least one session key is required")
        self._seen = keys
        return Signer(list(reversed(keys)), salt=_SALT)  # last = newest

    def _current(self) -> Signer:
        keys = self._keys()
        if keys is not self._seen and keys != self._seen:
            self._signer = self._build(keys)
        return self._signer

    def read(self, request: Request) -> str | None:
        """The session id from the request's cookie, or None if absent or forged."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return None
        try:
            return self._current().unsign(raw).decode()
        except BadSignature:
            return None

    def write(self, response: Response, session_id: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self._current().sign(session_id.encode()).decode(),
            max_age=self.max_age_s,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME, path="/", secure=self.secure, httponly=True, samesite="lax"
        )
