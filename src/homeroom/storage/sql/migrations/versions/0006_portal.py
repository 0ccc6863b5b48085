"""Portal: QR badges (tenant table with row-level security).

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from homeroom.storage.sql.rls import enable_tenant_rls

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "badges",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.String(length=24), nullable=False),
        sa.Column("credential_hash", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id", "user_id"],
            ["users.district_id", "users.id"],
            name=op.f("fk_badges_district_id_user_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("district_id", "id", name=op.f("pk_badges")),
        sa.UniqueConstraint(
            "district_id", "credential_hash", name=op.f("uq_badges_district_id_credential_hash")
        ),
    )
    op.create_index("ix_badges_user", "badges", ["district_id", "user_id"], unique=False)
    enable_tenant_rls(op.get_bind(), "badges")


def downgrade() -> None:
    op.drop_index("ix_badges_user", table_name="badges")
    op.drop_table("badges")
