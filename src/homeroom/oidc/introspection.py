"""Token introspection: RFC 7662.

§2.1: the caller must authenticate; §2.2: "If the introspection call is properly
authorized but the token is not active, does not exist on this server, or the protected
resource is not allowed to introspect this particular token, then the authorization server
MUST return an introspection response with the "active" field set to false." A client sees
only its own tokens: another client's token is simply "active": false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeroom.oidc.bearer import verify_access_token
from homeroom.oidc.client_auth import authenticate_client
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidClient, InvalidRequest, InvalidToken
from homeroom.oidc.refresh import hash_token, parse
from homeroom.oidc.tokens import RevocationList
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["introspect"]

INACTIVE: dict[str, Any] = {"active": False}


def introspect(
    ctx: OidcContext, form: Mapping[str, str], authorization: str | None
) -> dict[str, Any]:
    app, method = authenticate_client(ctx, form, authorization, ctx.endpoints.introspection)
    if method == "none":
        raise InvalidClient("introspection requires client authentication")
    token = form.get("token")
    if not token:
        raise InvalidRequest("token is required")
    # §2.1: token_type_hint is only a hint; "the authorization server MAY ignore it".
    if parse(token) is not None:
        return _refresh(ctx, app.id, token)
    try:
        principal = verify_access_token(
            token,
            issuer=ctx.issuer,
            keys=ctx.keys,
            revocations=RevocationList(ctx.kv, ctx.lifetimes.access_token),
        )
    except InvalidToken:
        return INACTIVE
    if principal.client_id != app.id:
        return INACTIVE
    body: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "client_id": principal.client_id,
        "scope": " ".join(sorted(principal.scopes)),
        "exp": principal.exp,
        "jti": principal.jti,
        "iss": ctx.issuer,
        "district": principal.district_id,
    }
    body["sub"] = principal.subject or principal.client_id
    return body


def _refresh(ctx: OidcContext, client_id: str, token: str) -> dict[str, Any]:
    district_id = parse(token)
    assert district_id is not None
    with TenantScope(district_id), ctx.db.scoped() as uow:
        row = uow.refresh_tokens.find(hash_token(token))
    now = utcnow()
    if (
        row is None
        or row.client_id != client_id
        or row.revoked_at is not None
        or row.rotated_at is not None
        or row.expires_at <= now
    ):
        return INACTIVE
    return {
        "active": True,
        "token_type": "refresh_token",
        "client_id": row.client_id,
        "scope": row.scope,
        "sub": row.user_id,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created_at.timestamp()),
        "iss": ctx.issuer,
        "district": row.district_id,
    }
