"""The application's route table, enumerated, and the registry of isolation probes.

Every (method, path template) the real app serves must be either in ``ROUTE_PROBES`` (a
function replaying district A's caller against B's identifiers) or in ``NON_TENANT`` (with
the reason it cannot touch tenant data). ``test_every_route_has_a_probe`` fails otherwise,
so a merged route without a probe breaks the suite. Mounted sub-applications are listed as
``("*", "/prefix")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from starlette.routing import BaseRoute, Mount

from tests.isolation.world import World

__all__ = ["NON_TENANT", "ROUTE_PROBES", "Probe", "enumerate_routes", "probe"]

Probe = Callable[[World], None]
RouteKey = tuple[str, str]

ROUTE_PROBES: dict[RouteKey, Probe] = {}

NON_TENANT: dict[RouteKey, str] = {
    ("GET", "/healthz"): "liveness: a constant body, reads nothing",
    ("GET", "/api/openapi.json"): "static API description generated from code",
    ("GET", "/api/docs"): "static Swagger UI page",
    ("GET", "/docs/oauth2-redirect"): "static Swagger UI helper page",
    ("GET", "/static/{path:path}"): "packaged CSS/JS/images from an allow-list built at import",
}


def probe(*keys: RouteKey) -> Callable[[Probe], Probe]:
    """Register a probe for one or more routes (each key at most once)."""

    def register(fn: Probe) -> Probe:
        for key in keys:
            assert key not in ROUTE_PROBES, f"two probes for {key}"
            ROUTE_PROBES[key] = fn
        return fn

    return register


def _walk(routes: Iterable[Any], prefix: str = "") -> Iterator[RouteKey]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI >= 0.16x keeps included routers as nodes
            yield from _walk(included.routes, prefix + (route.include_context.prefix or ""))
        elif isinstance(route, Mount):
            yield ("*", prefix + route.path)
        elif isinstance(route, BaseRoute) and hasattr(route, "path"):
            for method in sorted(getattr(route, "methods", None) or {"*"}):
                if method != "HEAD":  # HEAD is GET without a body: same handler
                    yield (method, prefix + route.path)
        else:
            raise AssertionError(f"unknown route type {type(route).__name__}: classify it")


def enumerate_routes(routes: Iterable[Any]) -> list[RouteKey]:
    return sorted(set(_walk(routes)))
