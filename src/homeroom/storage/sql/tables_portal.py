"""Tables of the portal: QR badges (tenant data).

A badge row never holds the credential itself, only its keyed hash (HMAC-SHA256 under a
server key, bound to the district), so a copy of the table signs no one in.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from homeroom.storage.sql.tables import ID, TENANT, metadata
from homeroom.storage.sql.types import UTCDateTime

__all__ = ["badges"]

badges = Table(
    "badges",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("credential_hash", String(80), nullable=False),
    Column("status", String(16), nullable=False),  # active | voided
    Column("created_by", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("voided_at", UTCDateTime),
    PrimaryKeyConstraint("district_id", "id"),
    UniqueConstraint("district_id", "credential_hash"),
    ForeignKeyConstraint(
        ["district_id", "user_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    Index("ix_badges_user", "district_id", "user_id"),
    info=TENANT,
)
