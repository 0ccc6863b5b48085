"""Tables of usage reporting (migration 0008_usage): raw events, daily rollups, goals.

All three are tenant data (student activity is sensitive): ``district_id`` first in every
key, row-level security on PostgreSQL. Raw events are idempotent by (district, app, the
app's own event id); the daily rollup of a (user, app, UTC day) is updated in the same
transaction as the events it counts, so ``quality.reconciliation`` can prove they agree.
Deleting a user deletes their usage (composite foreign keys, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from homeroom.storage.sql.tables import ID, TENANT, metadata
from homeroom.storage.sql.types import UTCDateTime

__all__ = ["EVENT_ID", "usage_daily", "usage_events", "usage_goals"]

EVENT_ID = 64
"""Longest event id an app may send (a UUID is 36 characters)."""

usage_events = Table(
    "usage_events",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("app_id", String(ID), nullable=False),
    Column("event_id", String(EVENT_ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("kind", String(16), nullable=False),  # minutes | progress
    Column("minutes", Integer),  # whole minutes, kind = minutes
    Column("progress", Float),  # fraction 0..1, kind = progress
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("day", Date, nullable=False),  # UTC date of occurred_at: the rollup it counts in
    Column("received_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("district_id", "app_id", "event_id"),
    ForeignKeyConstraint(
        ["district_id", "user_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    Index("ix_usage_events_user", "district_id", "user_id"),
    Index("ix_usage_events_day", "district_id", "day"),
    Index("ix_usage_events_received", "district_id", "app_id", "received_at"),
    info=TENANT,
)

usage_daily = Table(
    "usage_daily",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("app_id", String(ID), nullable=False),
    Column("day", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("progress", Float),  # highest progress reported that day
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("district_id", "user_id", "app_id", "day"),
    ForeignKeyConstraint(
        ["district_id", "user_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    Index("ix_usage_daily_app_day", "district_id", "app_id", "day"),
    info=TENANT,
)

usage_goals = Table(
    "usage_goals",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("section_id", String(ID), nullable=False),
    Column("app_id", String(ID), nullable=False),
    Column("minutes_per_week", Integer, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("district_id", "id"),
    ForeignKeyConstraint(
        ["district_id", "section_id"],
        ["sections.district_id", "sections.id"],
        ondelete="CASCADE",
    ),
    Index("ix_usage_goals_section", "district_id", "section_id"),
    info=TENANT,
)
