"""Row-level security DDL shared by migrations (PostgreSQL only).

``FORCE`` matters: without it the table owner (the migration role) bypasses the policy, and
so would any app role that was ever made an owner by mistake. The policy reads the setting
with ``missing_ok`` so that an unset district yields NULL and therefore no rows.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["POLICY_NAME", "enable_tenant_rls", "grant_app_role"]

POLICY_NAME = "tenant_isolation"
_PREDICATE = "district_id = current_setting('homeroom.district_id', true)"


def enable_tenant_rls(conn: Connection, table: str) -> None:
    """ENABLE + FORCE row-level security on ``table`` with the tenant policy."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
    conn.execute(text(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY'))
    conn.execute(text(f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"'))
    conn.execute(
        text(
            f'CREATE POLICY {POLICY_NAME} ON "{table}" '
            f"USING ({_PREDICATE}) WITH CHECK ({_PREDICATE})"
        )
    )


APPEND_ONLY = ("audit_events", "platform_audit_events", "secret_audit")


def grant_app_role(conn: Connection, role: str) -> bool:
    """Give the application role DML on every table, and nothing more. Idempotent.

    Audit tables get SELECT and INSERT only (append-only even against a compromised app).
    Returns False when the role does not exist (single-role development setups).
    """
    if conn.dialect.name != "postgresql":
        return False
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        return False
    conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
    conn.execute(
        text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
    )
    conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    for table in APPEND_ONLY:
        conn.execute(text(f'REVOKE UPDATE, DELETE ON "{table}" FROM "{role}"'))
    conn.execute(text(f'REVOKE ALL ON alembic_version FROM "{role}"'))
    return True
