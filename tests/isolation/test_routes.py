"""Every route of the real app is probed: district A's callers against B's identifiers."""

from __future__ import annotations

import pytest

from tests.isolation import (  # registers the probes
    portal_probes,
    probes,
    roster_page_probes,
    roster_probes,
    usage_page_probes,
    usage_probes,
)
from tests.isolation.routes import NON_TENANT, ROUTE_PROBES, enumerate_routes
from tests.isolation.world import World

__all__ = [
    "portal_probes",
    "probes",
    "roster_page_probes",
    "roster_probes",
    "usage_page_probes",
    "usage_probes",
]


def test_every_route_has_a_probe(world: World) -> None:
    """A route without a probe (or a non-tenant reason) fails here: add one in probes.py."""
    served = enumerate_routes(world.app.routes)
    assert ("POST", "/token") in served and ("*", "/demo-app") in served  # walker works
    missing = [key for key in served if key not in ROUTE_PROBES and key not in NON_TENANT]
    assert missing == [], f"routes without an isolation probe: {missing}"
    stale = [key for key in (*ROUTE_PROBES, *NON_TENANT) if key not in served]
    assert stale == [], f"probes for routes that no longer exist: {stale}"


@pytest.mark.parametrize(
    "key", sorted(ROUTE_PROBES), ids=[f"{m} {p}" for m, p in sorted(ROUTE_PROBES)]
)
def test_route_probe(world: World, key: tuple[str, str]) -> None:
    ROUTE_PROBES[key](world)


def test_nul_characters_are_bad_input_never_a_server_error(world: World) -> None:
    """Found by Hypothesis: PostgreSQL refuses NUL in text, which was an unhandled 500."""
    admin = world.a.admin_client
    assert admin is not None
    r = admin.get("/api/v1/audit", params={"action": "\x00"})
    assert r.status_code in (200, 400), r.text
    world.assert_clean(r)
