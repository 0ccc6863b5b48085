"""The token endpoint: RFC 6749 §3.2, §4.1.3, §4.4, §5, §6.

Framework-free: ``token_request(ctx, form, authorization)`` returns the JSON body of a
successful response (RFC 6749 §5.1) or raises an :class:`OAuthError` (§5.2). Grants:

* ``authorization_code`` — §4.1.3, with PKCE (RFC 7636 §4.6); codes single use, 60 s, bound
  to client, redirect URI, PKCE challenge and nonce; a replayed code revokes what it issued.
* ``refresh_token`` — §6, with rotation and reuse detection (see ``oidc.refresh``).
* ``client_credentials`` — §4.4, for one connected district (``district`` = its slug).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from homeroom.oidc import pkce
from homeroom.oidc.claims import user_claims
from homeroom.oidc.client_auth import authenticate_client
from homeroom.oidc.codes import CodeStore, SpentCode
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from homeroom.oidc.metrics import TOKENS_ISSUED
from homeroom.oidc.refresh import hash_token, issue_refresh_token, parse, revoke_family
from homeroom.oidc.tokens import RevocationList, TokenSigner, new_jti
from homeroom.sharing.models import App
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["DEFAULT_SERVICE_SCOPE", "GRANT_TYPES", "SERVICE_SCOPES", "token_request"]

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SERVICE_SCOPES = ("roster.read", "usage.write")
"""Scopes for client_credentials tokens (the roster and usage APIs)."""
DEFAULT_SERVICE_SCOPE = "roster.read"


def token_request(
    ctx: OidcContext, form: Mapping[str, str], authorization: str | None
) -> dict[str, Any]:
    app, _method = authenticate_client(ctx, form, authorization, ctx.endpoints.token)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    if grant_type == "authorization_code":
        body = _authorization_code(ctx, app, form)
    elif grant_type == "refresh_token":
        body = _refresh_token(ctx, app, form)
    elif grant_type == "client_credentials":
        body = _client_credentials(ctx, app, form)
    else:
        raise UnsupportedGrantType(f"unsupported grant_type {grant_type[:40]!r}")
    TOKENS_ISSUED.labels(grant_type=grant_type).inc()
    return body


def _authorization_code(ctx: OidcContext, app: App, form: Mapping[str, str]) -> dict[str, Any]:
    code = form.get("code", "")
    if not code:
        raise InvalidRequest("code is required")
    codes = CodeStore(ctx.kv, ctx.lifetimes.code)
    grant = codes.redeem(code)
    if grant is None:
        spent = codes.spent(code)
        if spent is not None:
            # RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously issued
            # based on that authorization code."
            RevocationList(ctx.kv, ctx.lifetimes.access_token).revoke(spent.access_jti)
            if spent.family_id is not None:
                revoke_family(ctx, spent.district_id, spent.family_id, utcnow())
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
    access, jti, _exp = signer.access_token(
        client_id=app.id,
        district_id=grant.district_id,
        subject=grant.user_id,
        scope=grant.scope,
        ttl_s=ctx.lifetimes.access_token,
        auth_time=grant.auth_time,
        now=now,
    )
    body = _bearer(access, ctx.lifetimes.access_token, grant.scope)
    scopes = grant.scope.split()
    family_id: str | None = None
    if "offline_access" in scopes:
        at = dt.datetime.fromtimestamp(now, dt.UTC)
        with TenantScope(grant.district_id), ctx.db.scoped() as uow:
            refresh = issue_refresh_token(
                uow,
                family_id=None,
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
        family_id = refresh.family_id
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
    codes.mark_spent(
        code, SpentCode(grant.district_id, jti, family_id), ttl_s=ctx.lifetimes.access_token
    )
    return body


def _bearer(access_token: str, expires_in: int, scope: str) -> dict[str, Any]:
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope,
    }


def _narrow_scope(granted: str, requested: str | None) -> str:
    """RFC 6749 §6: the requested scope "MUST NOT include any scope not originally granted
    by the resource owner, and if omitted is treated as equal to the scope originally
    granted"."""
    if requested is None:
        return granted
    wanted = requested.split()
    if not wanted or not set(wanted) <= set(granted.split()):
        raise InvalidScope("scope exceeds the originally granted scope")
    return " ".join(dict.fromkeys(wanted))


def _refresh_token(ctx: OidcContext, app: App, form: Mapping[str, str]) -> dict[str, Any]:
    token = form.get("refresh_token", "")
    if not token:
        raise InvalidRequest("refresh_token is required")
    district_id = parse(token)
    if district_id is None:
        raise InvalidGrant("refresh token is invalid")
    now_dt = utcnow()
    now = int(now_dt.timestamp())
    signer = TokenSigner(ctx.issuer, ctx.keys)
    jti = new_jti()
    refused: str | None = None
    family_to_revoke: str | None = None
    body: dict[str, Any] = {}
    with TenantScope(district_id), ctx.db.scoped() as uow:
        row = uow.refresh_tokens.find(hash_token(token))
        if row is None or row.client_id != app.id:
            raise InvalidGrant("refresh token is invalid")
        if row.revoked_at is not None or row.expires_at <= now_dt:
            raise InvalidGrant("refresh token is expired or revoked")
        scope = _narrow_scope(row.scope, form.get("scope"))
        if row.rotated_at is not None or not uow.refresh_tokens.mark_rotated(
            row.token_hash, now_dt
        ):
            refused, family_to_revoke = "refresh token reuse detected", row.family_id
        else:
            connection = ctx.clients.connection(district_id, app.id)
            user = uow.sign_in_users.find(row.user_id)
            if (
                user is None
                or user.status != "active"
                or connection is None
                or not connection.active(now_dt)
                or user.role.value not in connection.roles_allowed
            ):
                refused, family_to_revoke = "the grant is no longer valid", row.family_id
            else:
                access, jti, _ = signer.access_token(
                    client_id=app.id,
                    district_id=district_id,
                    subject=row.user_id,
                    scope=scope,
                    ttl_s=ctx.lifetimes.access_token,
                    auth_time=row.auth_time,
                    jti=jti,
                    now=now,
                )
                new = issue_refresh_token(
                    uow,
                    family_id=row.family_id,
                    client_id=app.id,
                    user_id=row.user_id,
                    scope=row.scope,
                    sid=row.sid,
                    auth_time=row.auth_time,
                    access_jti=jti,
                    now=now_dt,
                    expires_at=row.expires_at,
                )
                body = _bearer(access, ctx.lifetimes.access_token, scope)
                body["refresh_token"] = new.token
                if "openid" in scope.split():
                    # OIDC Core §12.2: a refreshed ID token keeps sub, aud and auth_time
                    # and carries no nonce.
                    body["id_token"] = signer.id_token(
                        client_id=app.id,
                        alg=app.id_token_signed_response_alg,
                        claims=user_claims(user, connection, scope.split()),
                        ttl_s=ctx.lifetimes.id_token,
                        auth_time=row.auth_time or now,
                        nonce=None,
                        sid=row.sid,
                        access_token=access,
                        now=now,
                    )
    if refused is not None:
        assert family_to_revoke is not None
        revoke_family(ctx, district_id, family_to_revoke, now_dt)
        raise InvalidGrant(refused)
    return body


def _client_credentials(ctx: OidcContext, app: App, form: Mapping[str, str]) -> dict[str, Any]:
    # RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential
    # clients."
    if app.public:
        raise UnauthorizedClient("public clients may not use client_credentials")
    requested = form.get("scope")
    scopes = requested.split() if requested is not None else [DEFAULT_SERVICE_SCOPE]
    if not scopes or not set(scopes) <= set(SERVICE_SCOPES):
        raise InvalidScope(f"client_credentials scopes: {' '.join(SERVICE_SCOPES)}")
    slug = form.get("district")
    if slug is not None:
        district = ctx.clients.district_by_slug(slug)
        district_id = district.id if district is not None else None
    else:
        connected = ctx.clients.connected_districts(app.id)
        if len(connected) != 1:
            raise InvalidRequest(
                "district (a district slug) is required: the app is connected to "
                f"{len(connected)} districts"
            )
        district_id = connected[0]
    connection = None if district_id is None else ctx.clients.connection(district_id, app.id)
    if district_id is None or connection is None or not connection.active(utcnow()):
        raise UnauthorizedClient("the app is not connected to this district")
    scope = " ".join(dict.fromkeys(scopes))
    access, _jti, _exp = TokenSigner(ctx.issuer, ctx.keys).access_token(
        client_id=app.id,
        district_id=district_id,
        subject=None,
        scope=scope,
        ttl_s=ctx.lifetimes.access_token,
    )
    return _bearer(access, ctx.lifetimes.access_token, scope)
