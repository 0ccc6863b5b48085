"""The tenant scope a unit of work runs under.

A district is the tenant. Every access to a tenant table happens inside
``TenantScope(district_id)``; on PostgreSQL the scope is also enforced by row-level security
(see ``homeroom.storage.sql.engine``), so a bug in a repository cannot read across districts.
"""

from homeroom.tenancy.rights import Capability, RequestScope
from homeroom.tenancy.scope import TenantScope, current_district, require_district

__all__ = [
    "Capability",
    "RequestScope",
    "TenantScope",
    "current_district",
    "require_district",
]
