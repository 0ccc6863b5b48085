"""Index audit events by (district, seq): appending one reads the district's last ``seq``.

Without it every append counted the district's whole audit log (one per client-credentials
grant, so the cost grew with every token ever issued).

Revision ID: 0008_perf
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008_perf"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_district_id_seq", "audit_events", ["district_id", "seq"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_district_id_seq", table_name="audit_events")
