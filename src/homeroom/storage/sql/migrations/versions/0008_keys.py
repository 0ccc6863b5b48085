"""Secrets: ``secrets.rotated_at``, when the ``current`` label last moved.

Key material rotating through the store (the OIDC signing keys, the session-cookie key)
keeps accepting the ``previous`` version until what it signed has expired; that deadline
counts from the moment ``previous`` stopped being ``current``, recorded here.

Revision ID: 0008_keys
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_keys"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("secrets", sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("secrets") as batch:
        batch.drop_column("rotated_at")
