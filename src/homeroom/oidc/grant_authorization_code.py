"""The authorization_code grant: RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3.

Codes are single use, 60 s, bound to the client, the redirect URI, the PKCE challenge and
the nonce (``oidc.codes``). Redeeming one reads no database: the grant carries the claims
captured at the authorization step. A replayed code revokes what the first redemption
issued: the access token's ``jti`` and the refresh family are chosen before the code is
popped, and the pop marks the code spent with them in the same KV round trip.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from homeroom.oidc import pkce
from homeroom.oidc.codes import CodeStore, SpentCode
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidGrant, InvalidRequest
from homeroom.oidc.refresh import issue_refresh_token, new_family_id, revoke_family
from homeroom.oidc.responses import bearer_response
from homeroom.oidc.tokens import RevocationList, TokenSigner, new_jti
from homeroom.sharing.models import App
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["authorization_code_grant"]


def authorization_code_grant(ctx: OidcContext, app: App, form: Mapping[str, str]) -> dict[str, Any]:
    code = form.get("code", "")
    if not code:
        raise InvalidRequest("code is required")
    codes = CodeStore(ctx.kv, ctx.lifetimes.code)
    # What this redemption will issue, named before the pop so that the pop can mark the code
    # spent with it. The family is used only if the grant asks for offline_access; when it
    # does not, a replay's revocation of it finds no token.
    jti, family_id = new_jti(), new_family_id()
    spent = SpentCode(code.partition(".")[0], jti, family_id)
    grant = codes.redeem(code, spent, spent_ttl_s=ctx.lifetimes.access_token)
    if grant is None:
        earlier = codes.spent(code)
        if earlier is not None:
            # RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously issued
            # based on that authorization code."
            RevocationList(ctx.kv, ctx.lifetimes.access_token).revoke(earlier.access_jti)
            if earlier.family_id is not None:
                revoke_family(ctx, earlier.district_id, earlier.family_id, utcnow())
        raise InvalidGrant("authorization code is invalid, expired or already used")
    # RFC 6749 §4.1.3: "ensure that the authorization code was issued to the authenticated
    # confidential client, or if the client is public, ensure that the code was issued to
    # "client_id" in the request"
    if grant.client_id != app.id:
        raise InvalidGrant("authorization code was issued to another client")
    # "ensure that the "redirect_uri" parameter is present if the "redirect_uri" parameter
    # was included in the initial authorization request [...] and if included ensure that
    # their values are identical."
    if form.get("redirect_uri") != grant.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    pkce.verify(grant.code_challenge, form.get("code_verifier"))
    signer = TokenSigner(ctx.issuer, ctx.keys)
    now = int(time.time())
    access, _jti, _exp = signer.access_token(
        client_id=app.id,
        district_id=grant.district_id,
        subject=grant.user_id,
        scope=grant.scope,
        ttl_s=ctx.lifetimes.access_token,
        auth_time=grant.auth_time,
        jti=jti,
        now=now,
    )
    body = bearer_response(access, ctx.lifetimes.access_token, grant.scope)
    scopes = grant.scope.split()
    if "offline_access" in scopes:
        at = dt.datetime.fromtimestamp(now, dt.UTC)
        with TenantScope(grant.district_id), ctx.db.scoped(write=True) as uow:
            refresh = issue_refresh_token(
                uow,
                family_id=family_id,
                client_id=app.id,
                user_id=grant.user_id,
                scope=grant.scope,
                sid=grant.sid,
                auth_time=grant.auth_time,
                access_jti=jti,
                now=at,
                expires_at=at + dt.timedelta(seconds=ctx.lifetimes.refresh_token),
            )
        body["refresh_token"] = refresh.token
    if "openid" in scopes:
        body["id_token"] = signer.id_token(
            client_id=app.id,
            alg=app.id_token_signed_response_alg,
            claims=grant.claims,
            ttl_s=ctx.lifetimes.id_token,
            auth_time=grant.auth_time,
            nonce=grant.nonce,
            sid=grant.sid,
            access_token=access,
            now=now,
        )
    return body
