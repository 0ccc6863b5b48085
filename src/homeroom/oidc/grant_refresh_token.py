"""The refresh_token grant: RFC 6749 §6 with rotation and reuse detection.

Storage, token format and the BCP rules are in ``oidc.refresh``. Every use rotates the
token; presenting a rotated token revokes the family. Each refresh re-checks that the user
is still active and that the district still shares the app with the user's role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeroom.oidc.claims import user_claims
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidGrant, InvalidRequest, InvalidScope
from homeroom.oidc.refresh import hash_token, issue_refresh_token, parse, revoke_family
from homeroom.oidc.responses import bearer_response
from homeroom.oidc.tokens import TokenSigner, new_jti
from homeroom.sharing.models import App
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["refresh_token_grant"]


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


def refresh_token_grant(ctx: OidcContext, app: App, form: Mapping[str, str]) -> dict[str, Any]:
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
    token_hash = hash_token(token)
    # Read (cached) before the write transaction opens: a read inside it would open a
    # second unit of work that waits for this one's write lock on SQLite.
    connection = ctx.clients.connection(district_id, app.id)
    policy = SharingPolicy.of(connection, now_dt)
    with TenantScope(district_id), ctx.db.scoped(write=True) as uow:
        # The compare-and-set comes first; any refusal below raises, rolling it back.
        # It returns the row it rotated, with the row's user and whether the district
        # shares that user with the app (one statement on PostgreSQL); only a refused
        # token (rotated before, revoked, unknown) is read again to tell reuse from garbage.
        rotated = uow.refresh_tokens.rotate_shared(token_hash, now_dt, policy)
        row = None if rotated is None else rotated.row
        if row is None:
            row = uow.refresh_tokens.find(token_hash)
        if row is None or row.client_id != app.id:
            raise InvalidGrant("refresh token is invalid")
        if row.revoked_at is not None or row.expires_at <= now_dt:
            raise InvalidGrant("refresh token is expired or revoked")
        scope = _narrow_scope(row.scope, form.get("scope"))
        if rotated is None:
            refused, family_to_revoke = "refresh token reuse detected", row.family_id
        else:
            user = rotated.user
            if (
                not rotated.shared
                or user is None
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
                body = bearer_response(access, ctx.lifetimes.access_token, scope)
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
