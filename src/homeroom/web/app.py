"""ASGI app factory. ``homeroom serve`` runs ``homeroom.web.app:from_env`` under uvicorn."""

from __future__ import annotations

import atexit
import gc
import os

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from homeroom import __version__
from homeroom.config import Settings, load_settings
from homeroom.ops.logging import configure_logging
from homeroom.ops.metrics import mark_worker_dead
from homeroom.ops.shedding import InFlightLimiter
from homeroom.web import (
    audit,
    health,
    metrics,
    oidc,
    portal,
    portal_upstream,
    roster_admin_api,
    roster_admin_page,
    roster_api,
    status,
    usage_api,
)
from homeroom.web.errors import install_error_handlers
from homeroom.web.hot import HotPaths, HotRoutes
from homeroom.web.middleware import RequestContextMiddleware
from homeroom.wiring import Container, build

__all__ = ["create_app", "from_env"]


class HomeroomApp(FastAPI):
    """FastAPI for the JSON APIs and pages; the protocol hot paths are dispatched before its
    stack (``web.hot``), and the in-flight cap is the very first thing every request meets."""

    max_in_flight = 256
    shed_retry_after_s = 1

    hot: HotRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Hot paths go straight to the stack built below (in-flight cap → ``HotPaths``):
        # FastAPI's and Starlette's own ``__call__`` (telemetry switch, root path) are
        # per-request work they do not need.
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        assert self.hot is not None
        if not self.root_path and self.hot.find(scope) is not None:
            scope["app"] = self
            await self.middleware_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        rest = super().build_middleware_stack()
        self.hot = HotRoutes(self.router.routes)
        # Outermost: shed excess before routing, logging or any other work.
        return InFlightLimiter(
            HotPaths(rest, self.hot),
            max_in_flight=self.max_in_flight,
            retry_after_s=self.shed_retry_after_s,
        )


def create_app(container: Container) -> FastAPI:
    app = HomeroomApp(
        title="Homeroom",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.container = container
    install_error_handlers(app)
    # One line per domain: each web module exposes ``router`` (an APIRouter).
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(status.router)
    app.include_router(audit.router)
    oidc.install(app)  # OpenID Provider, sign-in page, bearer errors
    portal.install(app)  # hot pages (badge, launchpad) ahead of its router
    app.include_router(portal_upstream.router)
    app.include_router(roster_api.build_router(roster_api.require_principal))
    roster_admin_api.install(app)  # district-admin API: sharing report, package upload
    app.include_router(usage_api.router)  # usage events (apps), goals, adoption
    app.include_router(roster_admin_page.router)  # district-admin upload page
    app.add_middleware(RequestContextMiddleware)
    app.max_in_flight = container.settings.max_in_flight
    app.shed_retry_after_s = container.settings.shed_retry_after_s
    return app


def from_env(settings: Settings | None = None) -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from the environment."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_json)
    atexit.register(mark_worker_dead, os.getpid())
    container = build(settings)
    if not container.db.is_postgres:
        # Embedded quick-start store: load (and parse) the signing keys before the first
        # sign-in, not during it (an RSA private-key import is a large one-time CPU cost).
        # Not with PostgreSQL: there the server must start, and keep its pool for requests,
        # while the database is slow or down; the first request loads the keys instead.
        _warm_keys(container)
        _warm_secrets(container)
    _warm_metrics_token(container)
    app = create_app(container)
    _freeze_startup_heap()
    return app


def _freeze_startup_heap() -> None:
    """Move everything built at start-up (modules, the app, the container) out of the
    cyclic collector's reach: it is never garbage, yet every full collection walked all of
    it. Measured in the production shape at 500 instant logins/s on one core, those
    collections paused the worker for 70-90 ms twice in 30 s, and each pause queued about
    forty flows behind it (p99 48-180 ms from run to run). ``gc.freeze`` (Python 3.7+)
    keeps the objects and their cycles; only later objects are collected."""
    gc.collect()
    gc.freeze()


def _warm_metrics_token(container: Container) -> None:
    """Resolve the ``/metrics`` token at start: the first scrape often comes during the
    incident it should show (a saturated pool, a slow database), too late for a store read."""
    try:
        _ = container.metrics_token
    except Exception:  # the first scrape resolves it instead (and reports the failure)
        structlog.get_logger("homeroom.metrics").warning("metrics_token_warmup_failed")


# Secrets every sign-in page needs. In development the first read creates them (a secret
# store write each, with its audit entry): done at start, not by the morning's first
# visitor, whose request took seconds on a loaded machine while they were created.
_PAGE_SECRETS = ("csrf-key", "badge-hmac-key", "client-secret-hmac-key")


def _warm_secrets(container: Container) -> None:
    try:
        _ = container.session_cookie
        for name in _PAGE_SECRETS:
            container.secrets.get_or_create(name)
    except Exception:  # the first request resolves them instead (and reports the failure)
        structlog.get_logger("homeroom.secrets").warning("secret_warmup_failed", exc_info=True)


def _warm_keys(container: Container) -> None:
    try:
        container.key_ring.jwks_json()
    except Exception:  # the first request loads them instead (and reports the failure)
        structlog.get_logger("homeroom.keys").warning("key_ring_warmup_failed", exc_info=True)
