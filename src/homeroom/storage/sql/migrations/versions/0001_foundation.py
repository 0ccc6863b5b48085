"""Foundation: districts, schools, users, sections, enrollments, apps, connections, audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from homeroom.storage.sql.rls import enable_tenant_rls

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "schools",
    "users",
    "user_schools",
    "sections",
    "enrollments",
    "connections",
    "audit_events",
)


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_secret_hash", sa.String(length=128), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=64), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("initiate_login_uri", sa.Text(), nullable=True),
        sa.Column("backchannel_logout_uri", sa.Text(), nullable=True),
        sa.Column("id_token_signed_response_alg", sa.String(length=16), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("icon_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps")),
    )
    op.create_table(
        "audit_events",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "ix_audit_events_district_at", "audit_events", ["district_id", "at"], unique=False
    )
    op.create_table(
        "connections",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("app_id", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scope_mode", sa.String(length=16), nullable=False),
        sa.Column("school_ids", sa.JSON(), nullable=False),
        sa.Column("section_ids", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("field_groups", sa.JSON(), nullable=False),
        sa.Column("roles_allowed", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "app_id", name=op.f("pk_connections")),
    )
    op.create_table(
        "districts",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
        sa.UniqueConstraint("slug", name=op.f("uq_districts_slug")),
    )
    op.create_table(
        "platform_audit_events",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_audit_events")),
    )
    op.create_table(
        "schools",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("school_number", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "id", name=op.f("pk_schools")),
        sa.UniqueConstraint(
            "district_id", "sourced_id", name=op.f("uq_schools_district_id_sourced_id")
        ),
    )
    op.create_table(
        "users",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("given_name", sa.String(length=255), nullable=False),
        sa.Column("family_name", sa.String(length=255), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "id", name=op.f("pk_users")),
        sa.UniqueConstraint(
            "district_id", "sourced_id", name=op.f("uq_users_district_id_sourced_id")
        ),
        sa.UniqueConstraint("district_id", "username", name=op.f("uq_users_district_id_username")),
    )
    op.create_index("ix_users_district_role", "users", ["district_id", "role"], unique=False)
    op.create_table(
        "sections",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=True),
        sa.Column("school_id", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("period", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id", "school_id"],
            ["schools.district_id", "schools.id"],
            name=op.f("fk_sections_district_id_school_id"),
        ),
        sa.PrimaryKeyConstraint("district_id", "id", name=op.f("pk_sections")),
        sa.UniqueConstraint(
            "district_id", "sourced_id", name=op.f("uq_sections_district_id_sourced_id")
        ),
    )
    op.create_table(
        "user_schools",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.String(length=24), nullable=False),
        sa.Column("school_id", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id", "school_id"],
            ["schools.district_id", "schools.id"],
            name=op.f("fk_user_schools_district_id_school_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["district_id", "user_id"],
            ["users.district_id", "users.id"],
            name=op.f("fk_user_schools_district_id_user_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "district_id", "user_id", "school_id", name=op.f("pk_user_schools")
        ),
    )
    op.create_table(
        "enrollments",
        sa.Column("district_id", sa.String(length=24), nullable=False),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=True),
        sa.Column("section_id", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.String(length=24), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id", "section_id"],
            ["sections.district_id", "sections.id"],
            name=op.f("fk_enrollments_district_id_section_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["district_id", "user_id"],
            ["users.district_id", "users.id"],
            name=op.f("fk_enrollments_district_id_user_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("district_id", "id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "district_id",
            "section_id",
            "user_id",
            name=op.f("uq_enrollments_district_id_section_id_user_id"),
        ),
        sa.UniqueConstraint(
            "district_id", "sourced_id", name=op.f("uq_enrollments_district_id_sourced_id")
        ),
    )
    op.create_index("ix_enrollments_user", "enrollments", ["district_id", "user_id"], unique=False)
    for table in TENANT_TABLES:
        enable_tenant_rls(op.get_bind(), table)


def downgrade() -> None:
    for table in (
        "enrollments",
        "user_schools",
        "sections",
        "users",
        "schools",
        "platform_audit_events",
        "districts",
        "connections",
        "audit_events",
        "apps",
    ):
        op.drop_table(table)
