"""Tables of the secret store (global, not per district).

``secrets`` holds one row per path with its labels (current, previous, pending);
``secret_versions`` one row per version, each sealed under its own data key;
``secret_system_keys`` the store's own keys (audit chain, value fingerprints), wrapped by the
key-encryption key like any data key; ``secret_policies`` the grants beyond the built-in
ones; ``secret_audit`` the append-only, hash-chained audit log (the app role may only
SELECT and INSERT it, see ``rls.APPEND_ONLY``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
)

from homeroom.storage.sql.tables import metadata
from homeroom.storage.sql.types import UTCDateTime

__all__ = [
    "secret_audit",
    "secret_policies",
    "secret_system_keys",
    "secret_versions",
    "secrets",
]

PATH = 300
KEK_ID = 300

secrets = Table(
    "secrets",
    metadata,
    Column("path", String(PATH), primary_key=True),
    Column("environment", String(32), nullable=False),
    Column("service", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("current_version", Integer),
    Column("previous_version", Integer),
    Column("pending_version", Integer),
    Column("max_versions", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("rotated_at", UTCDateTime),  # when ``current`` last moved (0008_keys)
    Index("ix_secrets_service", "environment", "service"),
)

secret_versions = Table(
    "secret_versions",
    metadata,
    Column("path", String(PATH), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # active | deleted | destroyed
    Column("kek_id", String(KEK_ID)),
    Column("wrapped_key", LargeBinary),
    Column("nonce", LargeBinary),
    Column("ciphertext", LargeBinary),
    Column("value_hmac", String(64)),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    Column("destroyed_at", UTCDateTime),
    PrimaryKeyConstraint("path", "version"),
    ForeignKeyConstraint(["path"], ["secrets.path"], ondelete="CASCADE"),
    Index("ix_secret_versions_value_hmac", "value_hmac"),
)

secret_system_keys = Table(
    "secret_system_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kek_id", String(KEK_ID), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

secret_policies = Table(
    "secret_policies",
    metadata,
    Column("identity", String(128), nullable=False),
    Column("pattern", String(PATH), nullable=False),
    Column("capabilities", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("identity", "pattern"),
)

secret_audit = Table(
    "secret_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("path", String(PATH)),
    Column("version", Integer),
    Column("outcome", String(16), nullable=False),
    Column("value_hmac", String(64)),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
