"""Access-token verification for resource servers (RFC 9068 §4, RFC 6750).

``verify_access_token(ctx, token)`` returns a :class:`Principal` or raises
:class:`~homeroom.oidc.errors.InvalidToken`. Checks, in the order RFC 9068 §4 lists them:
``typ`` is ``at+jwt``; the signature verifies with a key of our published key ring and an
allowed algorithm (never ``none``, never HMAC); ``iss`` is our issuer; ``aud`` includes our
issuer; ``exp`` has not passed; and the token has not been revoked.

The web adapter (a FastAPI dependency enforcing bearer auth with RFC 6750 errors) is
``homeroom.web.bearer``.
"""

from __future__ import annotations

import time

from joserfc.errors import JoseError

from homeroom.oidc.errors import InvalidToken
from homeroom.oidc.keys import KeyRing
from homeroom.oidc.tokens import RevocationList
from homeroom.sharing.principal import Principal

__all__ = ["ALLOWED_ALGS", "Principal", "verify_access_token"]

ALLOWED_ALGS = ("ES256", "RS256")
_LEEWAY_S = 5


def verify_access_token(
    token: str,
    *,
    issuer: str,
    keys: KeyRing,
    revocations: RevocationList | None,
    now: int | None = None,
) -> Principal:
    if not token or len(token) > 4096 or token.count(".") != 2:
        raise InvalidToken("malformed access token")
    try:
        decoded = keys.decode(token, ALLOWED_ALGS)
    except (JoseError, ValueError) as exc:
        raise InvalidToken("access token signature is invalid") from exc
    # RFC 9068 §4: "Resource servers MUST verify that the typ header value is "at+jwt" or
    # "application/at+jwt" and reject tokens carrying any other value."
    if str(decoded.header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidToken("not an access token")
    claims = decoded.claims
    now = int(time.time()) if now is None else now
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    try:
        exp = int(claims["exp"])
        client_id = str(claims["client_id"])
        district_id = str(claims["district"])
        sub = str(claims["sub"])
        jti = str(claims["jti"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("access token lacks required claims") from exc
    if claims.get("iss") != issuer or issuer not in audiences:
        raise InvalidToken("access token is not for this issuer")
    if exp + _LEEWAY_S < now:
        raise InvalidToken("access token expired")
    if revocations is not None and revocations.is_revoked(jti):
        raise InvalidToken("access token revoked")
    return Principal(
        client_id=client_id,
        district_id=district_id,
        subject=None if sub == client_id else sub,
        scopes=frozenset(str(claims.get("scope", "")).split()),
        jti=jti,
        exp=exp,
    )
