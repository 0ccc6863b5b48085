"""SQL storage: engine and tenant-scoped transactions, tables, repositories, migrations."""

from homeroom.storage.sql.engine import Database
from homeroom.storage.sql.uow import UnitOfWork

__all__ = ["Database", "UnitOfWork"]
