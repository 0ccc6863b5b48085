"""Import every table module so that ``metadata`` knows the whole schema.

Each domain keeps its tables in ``storage/sql/tables_<domain>.py`` (on the shared
``metadata`` from ``tables.py``) and adds one import line here.
"""

from homeroom.storage.sql import (
    tables,
    tables_oidc,
    tables_portal,
    tables_roster,
    tables_secrets,
    tables_usage,
)
from homeroom.storage.sql.tables import metadata, tenant_tables

__all__ = [
    "metadata",
    "tables",
    "tables_oidc",
    "tables_portal",
    "tables_roster",
    "tables_secrets",
    "tables_usage",
    "tenant_tables",
]
