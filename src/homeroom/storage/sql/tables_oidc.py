"""Tables of the OpenID Provider: refresh tokens (tenant). (The signing keys are secret
versions in the secret store, see ``oidc/keys.py``.)

Refresh tokens are tenant data (district first in the key, RLS on PostgreSQL); the token
itself names its district so that a lookup can open the right ``TenantScope`` before
touching the table. Only the SHA-256 of a token is stored.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from homeroom.storage.sql.tables import ID, TENANT, metadata
from homeroom.storage.sql.types import UTCDateTime

__all__ = ["refresh_tokens"]

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("family_id", String(64), nullable=False),
    Column("client_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("scope", Text, nullable=False),
    Column("sid", String(64)),
    Column("auth_time", Integer),
    Column("access_jti", String(64)),  # the access token issued with it (for revocation)
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("rotated_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    PrimaryKeyConstraint("district_id", "token_hash"),
    Index("ix_refresh_tokens_family", "district_id", "family_id"),
    Index("ix_refresh_tokens_user", "district_id", "user_id"),
    info=TENANT,
)
