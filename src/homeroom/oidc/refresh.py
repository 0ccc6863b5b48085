"""Refresh tokens: RFC 6749 §6 and the OAuth 2.0 Security BCP §4.14.2.

* Opaque: ``<district_id>.<256 random bits>``. The district prefix lets the server open
  the right ``TenantScope`` before reading the (tenant) table; only SHA-256 is stored.
* Rotation: every use returns a new refresh token of the same *family* and marks the old
  one rotated (compare-and-set, so two concurrent uses cannot both succeed).
* Reuse detection (BCP §4.14.2): "If a refresh token is compromised and subsequently used
  by both the attacker and the legitimate client, one of them will present an invalidated
  refresh token, which will inform the authorization server of the breach. The
  authorization server cannot determine which party submitted the invalid refresh token,
  but it will revoke the active refresh token." We revoke the whole family, and the access
  tokens it issued.
* A family lives at most ``Lifetimes.refresh_token`` from the original sign-in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from homeroom.ids import is_id
from homeroom.oidc.context import OidcContext
from homeroom.oidc.tokens import RevocationList
from homeroom.storage.sql.repos_oidc import RefreshTokenRow
from homeroom.storage.sql.uow import UnitOfWork
from homeroom.tenancy import TenantScope

__all__ = [
    "NewRefreshToken",
    "hash_token",
    "issue_refresh_token",
    "new_family_id",
    "parse",
    "revoke_family",
]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse(token: str) -> str | None:
    """The district a refresh token belongs to, or None if it is not one of ours."""
    if not token or len(token) > 128:
        return None
    district_id, sep, secret = token.partition(".")
    if not sep or not is_id(district_id, "district") or len(secret) < 40:
        return None
    return district_id


@dataclass(frozen=True)
class NewRefreshToken:
    token: str
    family_id: str


def new_family_id() -> str:
    """A new rotation family's id (a code exchange names it before the code is redeemed)."""
    return secrets.token_urlsafe(16)


def issue_refresh_token(
    uow: UnitOfWork,
    *,
    family_id: str | None,
    client_id: str,
    user_id: str,
    scope: str,
    sid: str | None,
    auth_time: int | None,
    access_jti: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> NewRefreshToken:
    """Store a new refresh token (in the unit of work's district) and return it once."""
    assert uow.district_id is not None
    token = f"{uow.district_id}.{secrets.token_urlsafe(32)}"
    family = family_id or new_family_id()
    uow.refresh_tokens.add(
        RefreshTokenRow(
            district_id=uow.district_id,
            token_hash=hash_token(token),
            family_id=family,
            client_id=client_id,
            user_id=user_id,
            scope=scope,
            sid=sid,
            auth_time=auth_time,
            access_jti=access_jti,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return NewRefreshToken(token, family)


def revoke_family(ctx: OidcContext, district_id: str, family_id: str, now: dt.datetime) -> None:
    """Revoke every refresh token of a family and every access token it issued."""
    with TenantScope(district_id), ctx.db.scoped(write=True) as uow:
        jtis = uow.refresh_tokens.revoke_family(family_id, now)
    revocations = RevocationList(ctx.kv, ctx.lifetimes.access_token)
    for jti in jtis:
        revocations.revoke(jti)
