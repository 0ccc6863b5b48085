"""Verifying what the server said, so that a wrong answer is counted as an error.

A load test that counts any 200 as a success measures how fast a server can be wrong. Every
flow here checks what a careful relying party checks: the ``state`` it sent (RFC 6749
§10.12), the ID token's signature against the JWKS and its ``iss``, ``aud``, ``exp`` and
``nonce`` (OpenID Connect Core §3.1.3.7), PKCE (RFC 7636) and, for JWT access tokens, the
RFC 9068 §4 checks a resource server makes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

__all__ = [
    "CheckFailed",
    "Form",
    "callback_code",
    "find_form",
    "find_login_form",
    "pkce_pair",
    "verify_jwt",
]

ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
CLOCK_SKEW_S = 60


class CheckFailed(Exception):
    """A response the harness must count as an error; ``kind`` names what was wrong."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 §4.1–4.2: a 43-character verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def callback_code(location: str, redirect_uri: str, state: str) -> str:
    """The code from an authorization response (RFC 6749 §4.1.2), after checking that it
    goes to our redirect URI and carries our ``state`` unchanged."""
    if not location.startswith(redirect_uri):
        raise CheckFailed("redirect_not_to_client")
    params = parse_qs(urlsplit(location).query)
    if "error" in params:
        raise CheckFailed(f"authorize_error_{params['error'][0]}")
    if params.get("state") != [state]:
        raise CheckFailed("state_mismatch")
    codes = params.get("code")
    if not codes or not codes[0]:
        raise CheckFailed("no_code")
    return codes[0]


def verify_jwt(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    audience: str | None = None,
    nonce: str | None = None,
    what: str = "id_token",
    now: float | None = None,
) -> dict[str, Any]:
    """Signature against the JWKS, then the claims (OIDC Core §3.1.3.7 steps 2, 3, 6, 9, 11).
    Raises :class:`CheckFailed` with kinds like ``id_token_signature`` or ``id_token_aud``."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise CheckFailed(f"{what}_malformed")
    try:
        decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
    except InvalidKeyIdError as exc:
        raise CheckFailed(f"{what}_unknown_key") from exc
    except JoseError as exc:
        raise CheckFailed(f"{what}_signature") from exc
    claims = decoded.claims
    moment = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise CheckFailed(f"{what}_iss")
    if audience is not None:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if audience not in auds:
            raise CheckFailed(f"{what}_aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != audience:
            raise CheckFailed(f"{what}_azp")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp + CLOCK_SKEW_S < moment:
        raise CheckFailed(f"{what}_exp")
    iat = claims.get("iat")
    if iat is not None and (not isinstance(iat, int | float) or iat - CLOCK_SKEW_S > moment):
        raise CheckFailed(f"{what}_iat")
    if nonce is not None and claims.get("nonce") != nonce:
        raise CheckFailed(f"{what}_nonce")
    if not claims.get("sub") and what == "id_token":
        raise CheckFailed(f"{what}_sub")
    return claims


@dataclass
class Form:
    """An HTML sign-in form: where it posts and what it carries (hidden CSRF fields too)."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    username_field: str | None = None
    password_field: str | None = None


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a: Mapping[str, str] = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None:
            name, kind = a.get("name", ""), a.get("type", "text").lower()
            if not name:
                return
            if kind == "password":
                self._current.password_field = self._current.password_field or name
            elif kind in ("text", "email") and self._current.username_field is None:
                self._current.username_field = name
            elif kind in ("hidden", "submit") or kind not in ("checkbox", "radio"):
                self._current.fields[name] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def find_form(html: str, page_url: str, field_name: str) -> Form:
    """The first POST form carrying a field named ``field_name`` (a hidden one, such as
    the badge page's ``payload``), its action made absolute."""
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        if form.method == "post" and field_name in form.fields:
            form.action = urljoin(page_url, form.action or page_url)
            return form
    raise CheckFailed(f"no_form_with_{field_name}")


def find_login_form(html: str, page_url: str) -> Form:
    """The first form with a password field, its action made absolute."""
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        if form.password_field and form.username_field:
            form.action = urljoin(page_url, form.action or page_url)
            return form
    raise CheckFailed("no_login_form")
