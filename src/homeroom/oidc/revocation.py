"""Token revocation: RFC 7009.

§2.1: "The authorization server first validates the client credentials [...] and then
verifies whether the token was issued to the client making the revocation request. If this
validation fails, the request is refused and the client is informed of the error."
§2.2: "The authorization server responds with HTTP status code 200 if the token has been
revoked successfully or if the client submitted an invalid token."

Revoking a refresh token revokes its whole family and the access tokens it issued
(§2.1: "If the particular token is a refresh token [...] the authorization server SHOULD
also invalidate all access tokens based on the same authorization grant").
"""

from __future__ import annotations

from collections.abc import Mapping

from homeroom.oidc.bearer import verify_access_token
from homeroom.oidc.client_auth import authenticate_client
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidRequest, InvalidToken, UnauthorizedClient
from homeroom.oidc.refresh import hash_token, parse, revoke_family
from homeroom.oidc.tokens import RevocationList
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["revoke"]


def revoke(ctx: OidcContext, form: Mapping[str, str], authorization: str | None) -> None:
    app, _ = authenticate_client(ctx, form, authorization, ctx.endpoints.revocation)
    token = form.get("token")
    if not token:
        raise InvalidRequest("token is required")
    district_id = parse(token)
    if district_id is not None:
        with TenantScope(district_id), ctx.db.scoped() as uow:
            row = uow.refresh_tokens.find(hash_token(token))
        if row is None:
            return
        if row.client_id != app.id:
            raise UnauthorizedClient("the token was not issued to this client")
        revoke_family(ctx, district_id, row.family_id, utcnow())
        return
    revocations = RevocationList(ctx.kv, ctx.lifetimes.access_token)
    try:
        principal = verify_access_token(
            token, issuer=ctx.issuer, keys=ctx.keys, revocations=revocations
        )
    except InvalidToken:
        return
    if principal.client_id != app.id:
        raise UnauthorizedClient("the token was not issued to this client")
    revocations.revoke(principal.jti, ttl_s=ctx.lifetimes.access_token + 60)
