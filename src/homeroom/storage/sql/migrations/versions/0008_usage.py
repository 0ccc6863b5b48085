"""Usage: raw usage/progress events, daily rollups and usage goals (tenant tables, RLS).

Revision ID: 0008_usage
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from homeroom.storage.sql.rls import enable_tenant_rls

revision = "0008_usage"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["district_id", "user_id"],
        ["users.district_id", "users.id"],
        name=op.f(f"fk_{table}_district_id_user_id"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("app_id", sa.String(length=24), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        _user_fk("usage_events"),
        sa.PrimaryKeyConstraint("district_id", "app_id", "event_id", name=op.f("pk_usage_events")),
    )
    op.create_index("ix_usage_events_user", "usage_events", ["district_id", "user_id"])
    op.create_index("ix_usage_events_day", "usage_events", ["district_id", "day"])
    op.create_index(
        "ix_usage_events_received", "usage_events", ["district_id", "app_id", "received_at"]
    )
    op.create_table(
        "usage_daily",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.String(length=24), nullable=False),
        sa.Column("app_id", sa.String(length=24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        _user_fk("usage_daily"),
        sa.PrimaryKeyConstraint(
            "district_id", "user_id", "app_id", "day", name=op.f("pk_usage_daily")
        ),
    )
    op.create_index("ix_usage_daily_app_day", "usage_daily", ["district_id", "app_id", "day"])
    op.create_table(
        "usage_goals",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("section_id", sa.String(length=24), nullable=False),
        sa.Column("app_id", sa.String(length=24), nullable=False),
        sa.Column("minutes_per_week", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id", "section_id"],
            ["sections.district_id", "sections.id"],
            name=op.f("fk_usage_goals_district_id_section_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("district_id", "id", name=op.f("pk_usage_goals")),
    )
    op.create_index("ix_usage_goals_section", "usage_goals", ["district_id", "section_id"])
    for table in ("usage_events", "usage_daily", "usage_goals"):
        enable_tenant_rls(op.get_bind(), table)


def downgrade() -> None:
    op.drop_index("ix_usage_goals_section", table_name="usage_goals")
    op.drop_table("usage_goals")
    op.drop_index("ix_usage_daily_app_day", table_name="usage_daily")
    op.drop_table("usage_daily")
    op.drop_index("ix_usage_events_received", table_name="usage_events")
    op.drop_index("ix_usage_events_day", table_name="usage_events")
    op.drop_index("ix_usage_events_user", table_name="usage_events")
    op.drop_table("usage_events")
