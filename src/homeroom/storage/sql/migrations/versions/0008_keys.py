"""Keys through the secret store: ``secrets.rotated_at``; ``signing_keys`` dropped.

Key material rotating through the store (the OIDC signing keys, the session-cookie key)
keeps accepting the ``previous`` version until what it signed has expired; that deadline
counts from the moment ``previous`` stopped being ``current``, recorded here.

The signing keys now live in the store (``secret://<env>/homeroom-web/signing-key-<alg>``),
so the old ``signing_keys`` table goes; a deployment that had keys there creates its ring
with ``homeroom keys rotate`` (development creates one on first start).

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
    op.drop_table("signing_keys")


def downgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("private_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    with op.batch_alter_table("secrets") as batch:
        batch.drop_column("rotated_at")
