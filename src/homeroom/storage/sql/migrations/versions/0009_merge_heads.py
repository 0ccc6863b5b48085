"""Merge the signing-keys-in-the-store and usage branches into one head.

Both were written in parallel after 0007; neither touches the other's tables.

Revision ID: 0009
Revises: 0008_keys, 0008_usage
"""

from __future__ import annotations

revision = "0009"
down_revision = ("0008_keys", "0008_usage")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
