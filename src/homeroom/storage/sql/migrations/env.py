"""Alembic environment: the URL comes from ``homeroom migrate`` via config attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from homeroom.storage.sql.all_tables import metadata

config = context.config


def run() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through homeroom.storage.sql.migrate only")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
