"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/versions`` create them.

Tenant tables carry ``district_id`` as the first primary-key column and are marked with
``info={"tenant": True}``; the RLS migration and the schema test both enumerate that mark.
Global tables: districts, apps, platform audit.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from homeroom.storage.sql.types import UTCDateTime

__all__ = [
    "apps",
    "audit_events",
    "connections",
    "districts",
    "enrollments",
    "metadata",
    "platform_audit_events",
    "schools",
    "sections",
    "tenant_tables",
    "user_schools",
    "users",
]

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)
TENANT = {"tenant": True}
ID = 24  # "usr_" + 20 chars

districts = Table(
    "districts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

schools = Table(
    "schools",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("sourced_id", String(255)),
    Column("name", String(255), nullable=False),
    Column("school_number", String(64)),
    Column("status", String(16), nullable=False),
    Column("synced_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # OneRoster (migration 0003): parent org, source timestamp, content hash for re-imports
    Column("parent_id", String(ID)),
    Column("date_last_modified", UTCDateTime),
    Column("source_hash", String(16)),
    PrimaryKeyConstraint("district_id", "id"),
    UniqueConstraint("district_id", "sourced_id"),
    info=TENANT,
)

users = Table(
    "users",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("sourced_id", String(255)),
    Column("role", String(32), nullable=False),
    Column("username", String(255), nullable=False),
    Column("email", String(320)),
    Column("given_name", String(255), nullable=False),
    Column("family_name", String(255), nullable=False),
    Column("grade", String(8)),
    Column("status", String(16), nullable=False),
    Column("password_hash", String(255)),
    Column("synced_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # OneRoster (migration 0003)
    Column("middle_name", String(255)),
    Column("identifier", String(255)),
    Column("phone", String(64)),
    Column("sms", String(64)),
    Column("enabled_user", Boolean),
    Column("grades", String(128)),
    Column("oneroster_role", String(32)),
    Column("date_last_modified", UTCDateTime),
    Column("source_hash", String(16)),
    PrimaryKeyConstraint("district_id", "id"),
    UniqueConstraint("district_id", "username"),
    UniqueConstraint("district_id", "sourced_id"),
    Index("ix_users_district_role", "district_id", "role"),
    Index("ix_users_district_grade", "district_id", "grade"),
    info=TENANT,
)

user_schools = Table(
    "user_schools",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("school_id", String(ID), nullable=False),
    PrimaryKeyConstraint("district_id", "user_id", "school_id"),
    Index("ix_user_schools_school", "district_id", "school_id"),
    ForeignKeyConstraint(
        ["district_id", "user_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["district_id", "school_id"], ["schools.district_id", "schools.id"], ondelete="CASCADE"
    ),
    info=TENANT,
)

sections = Table(
    "sections",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("sourced_id", String(255)),
    Column("school_id", String(ID), nullable=False),
    Column("title", String(255), nullable=False),
    Column("subject", String(255)),
    Column("grade", String(8)),
    Column("period", String(64)),
    Column("status", String(16), nullable=False),
    Column("synced_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # OneRoster classes (migration 0003)
    Column("course_id", String(ID)),
    Column("class_code", String(255)),
    Column("class_type", String(16)),
    Column("location", String(255)),
    Column("term_ids", JSON),
    Column("grades", String(128)),
    Column("subject_codes", String(255)),
    Column("date_last_modified", UTCDateTime),
    Column("source_hash", String(16)),
    PrimaryKeyConstraint("district_id", "id"),
    Index("ix_sections_district_school", "district_id", "school_id"),
    UniqueConstraint("district_id", "sourced_id"),
    ForeignKeyConstraint(["district_id", "school_id"], ["schools.district_id", "schools.id"]),
    info=TENANT,
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("sourced_id", String(255)),
    Column("section_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("role", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("synced_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    # OneRoster (migration 0003). A user may hold several enrollments in one class over
    # time (SIS systems re-key them), so (section, user) is indexed, no longer unique.
    Column("school_id", String(ID)),
    Column("oneroster_role", String(32)),
    Column("primary", Boolean),
    Column("begin_date", Date),
    Column("end_date", Date),
    Column("updated_at", UTCDateTime),
    Column("date_last_modified", UTCDateTime),
    Column("source_hash", String(16)),
    PrimaryKeyConstraint("district_id", "id"),
    Index("ix_enrollments_section_user", "district_id", "section_id", "user_id"),
    UniqueConstraint("district_id", "sourced_id"),
    ForeignKeyConstraint(
        ["district_id", "section_id"], ["sections.district_id", "sections.id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["district_id", "user_id"], ["users.district_id", "users.id"], ondelete="CASCADE"
    ),
    Index("ix_enrollments_user", "district_id", "user_id"),
    info=TENANT,
)

apps = Table(
    "apps",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("client_secret_hash", String(128)),
    Column("public", Boolean, nullable=False),
    Column("token_endpoint_auth_method", String(64), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("initiate_login_uri", Text),
    Column("backchannel_logout_uri", Text),
    Column("id_token_signed_response_alg", String(16), nullable=False),
    Column("jwks", JSON),
    Column("icon_url", Text),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

connections = Table(
    "connections",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("app_id", String(ID), nullable=False),
    Column("status", String(16), nullable=False),
    Column("scope_mode", String(16), nullable=False),
    Column("school_ids", JSON, nullable=False),
    Column("section_ids", JSON, nullable=False),
    Column("rules", JSON, nullable=False),
    Column("field_groups", JSON, nullable=False),
    Column("roles_allowed", JSON, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("district_id", "app_id"),
    info=TENANT,
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("district_id", String(ID), nullable=False),
    Column("id", String(ID), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32)),
    Column("target_id", String(255)),
    Column("outcome", String(16), nullable=False),
    Column("ip", String(64)),
    Column("detail", JSON, nullable=False),
    PrimaryKeyConstraint("district_id", "id"),
    Index("ix_audit_events_district_at", "district_id", "at"),
    Index("ix_audit_events_district_id_seq", "district_id", "seq"),
    info=TENANT,
)

platform_audit_events = Table(
    "platform_audit_events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32)),
    Column("target_id", String(255)),
    Column("detail", JSON, nullable=False),
)


def tenant_tables() -> list[Table]:
    """Every table marked as tenant data, in dependency order."""
    return [t for t in metadata.sorted_tables if t.info.get("tenant")]
