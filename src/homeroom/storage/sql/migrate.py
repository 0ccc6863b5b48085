"""Run Alembic migrations programmatically (no alembic.ini lookup from the CWD)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from homeroom.storage.sql.engine import _make_engine
from homeroom.storage.sql.rls import grant_app_role

__all__ = ["current_heads", "upgrade"]

_HERE = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


def upgrade(owner_url: str, app_role: str = "homeroom_app") -> list[str]:
    """Upgrade to every head as the owner; grant the app role. Returns applied heads."""
    engine = _make_engine(
        owner_url, pool_size=1, max_overflow=0, pool_timeout_s=10, statement_timeout_ms=0
    )
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
            grant_app_role(conn, app_role)
        return current_heads(owner_url)
    finally:
        engine.dispose()


def current_heads(url: str) -> list[str]:
    """Revisions recorded in the database (empty before the first migration)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return []
            return sorted(
                r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            )
    finally:
        engine.dispose()
