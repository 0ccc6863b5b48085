"""Merge the signing-keys-in-the-store, usage and audit-sequence branches into one head.

All three were written in parallel after 0007; none touches the others' tables.

Revision ID: 0009
Revises: 0008_keys, 0008_usage, 0008_perf
"""

from __future__ import annotations

revision = "0009"
down_revision = ("0008_keys", "0008_usage", "0008_perf")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
