"""Access policies: deny by default; grants of capabilities on path patterns per identity.

A pattern has the three segments of a path, each an ``fnmatch`` glob (``*/homeroom-web/*``).
Built-in grants (``BUILTIN``) cover Homeroom's own processes; operators add more with
``homeroom secrets policy grant``. Nothing else is allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from homeroom.errors import InvalidInput

__all__ = [
    "ADMIN",
    "BOOTSTRAP",
    "BUILTIN",
    "DEMO_APP_IDENTITY",
    "WEB",
    "Capability",
    "Grant",
    "PolicySet",
]

ADMIN = "admin"
"""The operator, acting through the CLI."""
WEB = "homeroom-web"
"""The web process."""
DEMO_APP_IDENTITY = "demo-app"
"""The bundled demo relying party (reads its own client secret)."""
BOOTSTRAP = "homeroom-bootstrap"
"""Creates Homeroom's own keys on first start, in development only."""


class Capability(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    LIST = "list"
    ROTATE = "rotate"
    DESTROY = "destroy"


ALL = frozenset(Capability)


@dataclass(frozen=True)
class Grant:
    identity: str
    pattern: str
    capabilities: frozenset[Capability]

    def __post_init__(self) -> None:
        if len(self.pattern.split("/")) != 3:
            raise InvalidInput(
                f"bad policy pattern {self.pattern!r}: expected <environment>/<service>/<name> "
                "globs, e.g. '*/homeroom-web/*'"
            )

    def matches(self, path: str) -> bool:
        return all(
            fnmatchcase(seg, pat)
            for seg, pat in zip(path.split("/"), self.pattern.split("/"), strict=True)
        )


BUILTIN: tuple[Grant, ...] = (
    Grant(ADMIN, "*/*/*", ALL),
    Grant(WEB, "*/homeroom-web/*", frozenset({Capability.READ})),
    # In development only: create Homeroom's own keys on first start (a signing key ring is
    # a current key plus a pending one, published before it signs: write and rotate).
    Grant(
        BOOTSTRAP,
        "development/homeroom-web/*",
        frozenset({Capability.READ, Capability.WRITE, Capability.ROTATE}),
    ),
    Grant(DEMO_APP_IDENTITY, f"*/{DEMO_APP_IDENTITY}/*", frozenset({Capability.READ})),
)


def parse_capabilities(text: str | Iterable[str]) -> frozenset[Capability]:
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        return frozenset(Capability(c.strip()) for c in items if c.strip())
    except ValueError:
        raise InvalidInput(
            f"bad capabilities {text!r}: choose from {', '.join(c.value for c in Capability)}"
        ) from None


class PolicySet:
    """The grants in force: the built-in ones plus those stored in the database."""

    def __init__(self, grants: Iterable[Grant]) -> None:
        self.grants = tuple(grants)

    def allows(self, identity: str, capability: Capability, path: str) -> bool:
        return any(
            g.identity == identity and capability in g.capabilities and g.matches(path)
            for g in self.grants
        )
