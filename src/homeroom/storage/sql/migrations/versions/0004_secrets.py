"""Secrets: secrets, secret_versions, secret_system_keys, secret_policies, secret_audit.

All global (not per district). ``secret_audit`` is append-only for the app role (the grant
is in ``rls.APPEND_ONLY``, applied by ``homeroom migrate``).

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("environment", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=True),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("pending_version", sa.Integer(), nullable=True),
        sa.Column("max_versions", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_secrets")),
    )
    op.create_index("ix_secrets_service", "secrets", ["environment", "service"])
    op.create_table(
        "secret_versions",
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kek_id", sa.String(length=300), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("nonce", sa.LargeBinary(), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("value_hmac", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        _ts("created_at"),
        _ts("deleted_at", nullable=True),
        _ts("destroyed_at", nullable=True),
        sa.PrimaryKeyConstraint("path", "version", name=op.f("pk_secret_versions")),
        sa.ForeignKeyConstraint(
            ["path"],
            ["secrets.path"],
            name=op.f("fk_secret_versions_path"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_secret_versions_value_hmac", "secret_versions", ["value_hmac"])
    op.create_table(
        "secret_system_keys",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kek_id", sa.String(length=300), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_secret_system_keys")),
    )
    op.create_table(
        "secret_policies",
        sa.Column("identity", sa.String(length=128), nullable=False),
        sa.Column("pattern", sa.String(length=300), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("identity", "pattern", name=op.f("pk_secret_policies")),
    )
    op.create_table(
        "secret_audit",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("value_hmac", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_secret_audit")),
    )


def downgrade() -> None:
    for table in (
        "secret_audit",
        "secret_policies",
        "secret_system_keys",
        "secret_versions",
        "secrets",
    ):
        op.drop_table(table)
