"""Rights of one request: what the caller's role may do, narrowed to one district.

Like a cloud session policy that narrows a service role to one customer, a request's
effective rights are the *intersection* of two sets: the capabilities of the caller's role
(or of the token's scopes, for apps) and the capabilities the request's district allows.
A :class:`RequestScope` holds that intersection and the district; its :meth:`tenant` is the
only way a web handler opens a :class:`~homeroom.tenancy.TenantScope`, so the district can
never come from anywhere but the resolved request (see ``homeroom.web.tenant``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from homeroom.errors import PermissionDenied
from homeroom.tenancy.scope import TenantScope

__all__ = [
    "APP_SCOPE_CAPABILITIES",
    "ROLE_CAPABILITIES",
    "Capability",
    "RequestScope",
    "district_allows",
]


class Capability(StrEnum):
    """One thing a caller may do with a district's data."""

    PROFILE_READ = "profile.read"  # one's own profile
    ROSTER_READ = "roster.read"
    ROSTER_WRITE = "roster.write"
    SHARING_MANAGE = "sharing.manage"
    BADGES_PRINT = "badges.print"
    USAGE_READ = "usage.read"
    USAGE_WRITE = "usage.write"
    AUDIT_READ = "audit.read"


_ALL = frozenset(Capability)

ROLE_CAPABILITIES: Mapping[str, frozenset[Capability]] = {
    "student": frozenset({Capability.PROFILE_READ}),
    "guardian": frozenset({Capability.PROFILE_READ}),
    "teacher": frozenset(
        {Capability.PROFILE_READ, Capability.ROSTER_READ, Capability.BADGES_PRINT}
        | {Capability.USAGE_READ}
    ),
    "staff": frozenset({Capability.PROFILE_READ, Capability.ROSTER_READ}),
    "school_admin": frozenset(
        {Capability.PROFILE_READ, Capability.ROSTER_READ, Capability.BADGES_PRINT}
        | {Capability.USAGE_READ}
    ),
    "district_admin": _ALL,
}
"""Portal roles (``roster.models.Role`` values) to capabilities; unknown roles get none."""

APP_SCOPE_CAPABILITIES: Mapping[str, Capability] = {
    "roster.read": Capability.ROSTER_READ,
    "usage.write": Capability.USAGE_WRITE,
}
"""OAuth scopes of app (client_credentials) tokens to capabilities."""


def district_allows(settings: Mapping[str, object]) -> frozenset[Capability]:
    """What a district lets anyone do: everything but its ``disabled_capabilities``."""
    disabled = settings.get("disabled_capabilities", ())
    names = {str(d) for d in disabled} if isinstance(disabled, list | tuple) else set()
    return frozenset(c for c in Capability if c.value not in names)


@dataclass(frozen=True, slots=True)
class RequestScope:
    """The resolved request: one district, who is calling, and what they may do there."""

    district_id: str
    actor: str  # "user:<id>" or "app:<client_id>"
    role: str  # a portal role, or "app"
    capabilities: frozenset[Capability]
    via: str  # "portal" | "session" | "bearer"

    @classmethod
    def narrowed(
        cls,
        *,
        district_id: str,
        actor: str,
        role: str,
        granted: Iterable[Capability],
        district_settings: Mapping[str, object],
        via: str,
    ) -> RequestScope:
        """Rights = what the caller was granted ∩ what the district allows."""
        capabilities = frozenset(granted) & district_allows(district_settings)
        return cls(district_id, actor, role, capabilities, via)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise PermissionDenied(f"this action needs {capability.value}")

    def tenant(self) -> TenantScope:
        """The ``TenantScope`` of this request (the only district its handler may touch)."""
        return TenantScope(self.district_id)
