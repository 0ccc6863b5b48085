"""Roster tables beyond the foundation's schools/users/sections/enrollments (migration 0003).

OneRoster's orgs that are not schools (district, department, local, state, national),
academic sessions (terms, semesters, grading periods, school years), courses, demographics,
guardian links (OneRoster "agents"), the change-event log and the import runs.

Every imported row keeps the SIS ``sourced_id`` (for re-imports only; Homeroom's ids are
typed and opaque), ``synced_at`` (when it last came from the SIS) and ``source_hash`` (a
digest of its imported fields, so a re-import finds what changed without comparing every
column).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from homeroom.storage.sql.tables import ID, TENANT, metadata
from homeroom.storage.sql.types import UTCDateTime

__all__ = [
    "academic_sessions",
    "courses",
    "demographics",
    "roster_events",
    "roster_import_runs",
    "roster_orgs",
    "user_agents",
]


def _synced() -> list[Column[object]]:
    return [
        Column("status", String(16), nullable=False),
        Column("date_last_modified", UTCDateTime),
        Column("source_hash", String(16)),
        Column("synced_at", UTCDateTime),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
    ]


roster_orgs = Table(
    "roster_orgs",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("sourced_id", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("identifier", String(255)),
    Column("parent_id", String(ID)),
    *_synced(),
    PrimaryKeyConstraint("district_id", "id"),
    UniqueConstraint("district_id", "sourced_id"),
    info=TENANT,
)

academic_sessions = Table(
    "academic_sessions",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("sourced_id", String(255), nullable=False),
    Column("title", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("parent_id", String(ID)),
    Column("school_year", String(8)),
    *_synced(),
    PrimaryKeyConstraint("district_id", "id"),
    UniqueConstraint("district_id", "sourced_id"),
    info=TENANT,
)

courses = Table(
    "courses",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("sourced_id", String(255), nullable=False),
    Column("title", String(255), nullable=False),
    Column("school_year_id", String(ID)),
    Column("course_code", String(255)),
    Column("grades", String(128)),
    Column("org_id", String(ID), nullable=False),
    Column("subjects", String(255)),
    Column("subject_codes", String(255)),
    *_synced(),
    PrimaryKeyConstraint("district_id", "id"),
    UniqueConstraint("district_id", "sourced_id"),
    info=TENANT,
)

demographics = Table(
    "demographics",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("sourced_id", String(255), nullable=False),
    Column("birth_date", Date),
    Column("sex", String(16)),
    Column("data", JSON, nullable=False),
    *_synced(),
    PrimaryKeyConstraint("district_id", "user_id"),
    UniqueConstraint("district_id", "sourced_id"),
    ForeignKeyConstraint(
        ["district_id", "user_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    info=TENANT,
)

user_agents = Table(
    "user_agents",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("agent_id", String(ID), nullable=False),
    PrimaryKeyConstraint("district_id", "user_id", "agent_id"),
    Index("ix_user_agents_agent", "district_id", "agent_id"),
    ForeignKeyConstraint(
        ["district_id", "user_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["district_id", "agent_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    info=TENANT,
)

roster_events = Table(
    "roster_events",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(16), nullable=False),  # created | updated | deleted
    Column("record_type", String(16), nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("app_id", String(ID)),  # None: every connected app; else only this app
    Column("import_id", String(ID)),
    Column("changed", JSON),
    PrimaryKeyConstraint("district_id", "id"),
    UniqueConstraint("district_id", "seq"),
    Index("ix_roster_events_district_at", "district_id", "at"),
    info=TENANT,
)

roster_import_runs = Table(
    "roster_import_runs",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("source", String(255), nullable=False),
    Column("version", String(8), nullable=False),
    Column("modes", JSON, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("actor", String(255), nullable=False),
    PrimaryKeyConstraint("district_id", "id"),
    info=TENANT,
)
