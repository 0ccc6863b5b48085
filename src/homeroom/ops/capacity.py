"""The database connection budget: pools sized below what the database allows.

One of the worst sign-in outages came from a database concurrency limit nobody knew about.
The rule, checked by ``homeroom serve`` before it binds a port::

    (db_pool_size + db_pool_max_overflow) x workers x db_app_hosts
        <= max_connections - db_reserved_connections

``max_connections`` is the ``db_server_max_connections`` setting, or asked of the server
(``SHOW max_connections``) when that is 0. Reserved connections stay free for migrations,
administrators, monitoring and a rolling deploy's overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from homeroom.config import Settings
from homeroom.errors import ConfigError
from homeroom.storage.sql import Database

__all__ = ["PoolBudget", "check_pool_budget", "server_max_connections"]


@dataclass(frozen=True)
class PoolBudget:
    per_worker: int
    workers: int
    hosts: int
    server_max: int
    reserved: int

    @property
    def needed(self) -> int:
        return self.per_worker * self.workers * self.hosts

    @property
    def available(self) -> int:
        return self.server_max - self.reserved

    @property
    def largest_pool(self) -> int:
        """The largest per-worker pool (size + overflow) that fits the budget."""
        return max(0, self.available // (self.workers * self.hosts))


def check_pool_budget(settings: Settings, workers: int, server_max: int) -> PoolBudget:
    """Raise :class:`ConfigError` (one line, with the fix) when the pools would not fit."""
    budget = PoolBudget(
        per_worker=settings.db_pool_size + settings.db_pool_max_overflow,
        workers=workers,
        hosts=settings.db_app_hosts,
        server_max=server_max,
        reserved=settings.db_reserved_connections,
    )
    if budget.needed > budget.available:
        raise ConfigError(
            f"config: database pool too large: {budget.per_worker} per worker x {workers} "
            f"workers x {budget.hosts} hosts = {budget.needed} connections, but the database "
            f"allows {budget.server_max} with {budget.reserved} reserved; set db_pool_size + "
            f"db_pool_max_overflow <= {budget.largest_pool}"
        )
    return budget


def server_max_connections(settings: Settings, db: Database) -> int | None:
    """``max_connections`` from the setting, else from the server; None for SQLite."""
    if settings.db_server_max_connections:
        return settings.db_server_max_connections
    if not db.is_postgres:
        return None
    with db.platform() as uow:
        return int(uow.conn.execute(text("SHOW max_connections")).scalar_one())
