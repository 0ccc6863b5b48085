"""OpenID Provider: signing key ring (global) and refresh tokens (tenant, RLS).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from homeroom.storage.sql.rls import enable_tenant_rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("private_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.String(length=24), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=True),
        sa.Column("access_jti", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("district_id", "token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(
        "ix_refresh_tokens_family", "refresh_tokens", ["district_id", "family_id"], unique=False
    )
    op.create_index(
        "ix_refresh_tokens_user", "refresh_tokens", ["district_id", "user_id"], unique=False
    )
    enable_tenant_rls(op.get_bind(), "refresh_tokens")


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("signing_keys")
