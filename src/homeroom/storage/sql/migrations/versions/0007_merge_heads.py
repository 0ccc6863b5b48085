"""Merge the domain branches (provider, roster, secrets, portal) into one head.

Each domain's first migration branched from the foundation so they could be written in
parallel; from here on migrations form one line again.

Revision ID: 0007
Revises: 0002, 0003, 0004, 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = ("0002", "0003", "0004", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
