"""Client authentication at the token, introspection and revocation endpoints.

* ``client_secret_basic`` — RFC 6749 §2.3.1: HTTP Basic, id and secret form-urlencoded first.
* ``client_secret_post`` — RFC 6749 §2.3.1: ``client_id`` and ``client_secret`` in the body.
* ``private_key_jwt`` — OIDC Core §9, RFC 7523 §2.2/§3: a JWT signed with a key from the
  client's registered JWKS; ``iss`` = ``sub`` = client_id, ``aud`` = our token endpoint or
  issuer, ``exp`` required, ``jti`` single use.
* ``none`` — public clients (RFC 6749 §2.1), which must then use PKCE.

RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
request." Secrets are checked with a keyed hash (``sharing.credentials``): no slow password
hash on this hot path.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from urllib.parse import unquote_plus

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from homeroom.oidc.cache import TTLCache
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidClient, InvalidRequest
from homeroom.sharing.credentials import verify_client_secret
from homeroom.sharing.models import App

__all__ = ["AUTH_METHODS", "JWT_BEARER", "authenticate_client"]

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ("ES256", "RS256")
_MAX_ASSERTION_LIFETIME_S = 300
_PRIVATE_KEY_JWT = "private_key_jwt"


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(
    ctx: OidcContext, form: Mapping[str, str], authorization: str | None, endpoint: str
) -> tuple[App, str]:
    """Return the authenticated app and the method it used; raise ``InvalidClient``."""
    basic = _basic(authorization)
    has_secret = "client_secret" in form
    has_assertion = "client_assertion" in form or "client_assertion_type" in form
    if sum((basic is not None, has_secret, has_assertion)) > 1:
        raise InvalidRequest("more than one client authentication method")
    if basic is not None:
        client_id, secret = basic
        if form.get("client_id") not in (None, client_id):
            raise InvalidRequest("client_id does not match the Basic credentials")
        return _by_secret(ctx, client_id, secret), "client_secret_basic"
    if has_secret:
        return _by_secret(ctx, form.get("client_id", ""), form["client_secret"]), (
            "client_secret_post"
        )
    if has_assertion:
        return _by_assertion(ctx, form, endpoint), "private_key_jwt"
    client_id = form.get("client_id", "")
    app = ctx.clients.app(client_id)
    if app is None or not app.public:
        raise InvalidClient("client authentication failed")
    return app, "none"


def _by_secret(ctx: OidcContext, client_id: str, secret: str) -> App:
    app = ctx.clients.app(client_id)
    if app is None or app.public or app.token_endpoint_auth_method == _PRIVATE_KEY_JWT:
        raise InvalidClient("client authentication failed")
    if not verify_client_secret(ctx.client_secret_key, secret, app.client_secret_hash):
        raise InvalidClient("client authentication failed")
    return app


_KEY_CACHE: TTLCache[KeySet] = TTLCache(ttl_s=300, max_size=1000)


def _client_keys(app: App) -> KeySet:
    """The client's registered public keys, parsed once per registration (not per call)."""
    assert app.jwks is not None
    fingerprint = json.dumps(app.jwks, sort_keys=True)
    return _KEY_CACHE.get_or_load(
        (app.id, fingerprint),
        lambda: KeySet.import_key_set(app.jwks),  # type: ignore[arg-type]
    )


def _by_assertion(ctx: OidcContext, form: Mapping[str, str], endpoint: str) -> App:
    if form.get("client_assertion_type") != JWT_BEARER:
        raise InvalidClient("unsupported client_assertion_type")
    assertion = form.get("client_assertion", "")
    if not assertion or len(assertion) > 8192:
        raise InvalidClient("client_assertion is required")
    try:
        # Unverified peek at "iss" only to choose the client's JWKS; verified just below.
        peeked = json.loads(jws.extract_compact(assertion.encode()).payload)
        unverified_iss = str(peeked.get("iss", "")) if isinstance(peeked, dict) else ""
    except (JoseError, ValueError):
        raise InvalidClient("malformed client_assertion") from None
    app = ctx.clients.app(unverified_iss)
    if app is None or not app.jwks or app.public:
        raise InvalidClient("client authentication failed")
    if form.get("client_id") not in (None, app.id):
        raise InvalidClient("client_id does not match the assertion")
    try:
        token = jwt.decode(assertion, _client_keys(app), algorithms=ASSERTION_ALGS)
    except (JoseError, ValueError):
        raise InvalidClient("client_assertion signature is invalid") from None
    claims = token.claims
    now = int(time.time())
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    allowed = {ctx.issuer, ctx.endpoints.token, endpoint}
    # RFC 7523 §3: iss and sub MUST be the client_id; aud MUST identify the server.
    if claims.get("iss") != app.id or claims.get("sub") != app.id:
        raise InvalidClient("client_assertion iss and sub must be the client_id")
    if not allowed.intersection(str(a) for a in audiences):
        raise InvalidClient("client_assertion audience is not this server")
    try:
        exp = int(claims["exp"])
    except (KeyError, TypeError, ValueError):
        raise InvalidClient("client_assertion must have exp") from None
    if exp < now - 5 or exp > now + _MAX_ASSERTION_LIFETIME_S:
        raise InvalidClient("client_assertion expired or too long-lived")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise InvalidClient("client_assertion must have a jti")
    # OIDC Core §9: "The JWT MAY contain [...] jti [...] to prevent replay"; we require it.
    if not ctx.kv.add(f"assertion:{app.id}:{jti}", b"1", ttl_s=max(1, exp - now + 10)):
        raise InvalidClient("client_assertion was already used")
    return app
