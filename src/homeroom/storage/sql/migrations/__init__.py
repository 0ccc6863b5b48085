"""Alembic migrations. Run with ``homeroom migrate`` (as the owner role on PostgreSQL)."""
