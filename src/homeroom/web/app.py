"""ASGI app factory. ``homeroom serve`` runs ``homeroom.web.app:from_env`` under uvicorn."""

from __future__ import annotations

from fastapi import FastAPI

from homeroom import __version__
from homeroom.config import Settings, load_settings
from homeroom.ops.logging import configure_logging
from homeroom.web import health, portal
from homeroom.web.errors import install_error_handlers
from homeroom.web.middleware import RequestContextMiddleware
from homeroom.wiring import Container, build

__all__ = ["create_app", "from_env"]


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
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
    app.include_router(portal.router)
    app.add_middleware(RequestContextMiddleware)
    return app


def from_env(settings: Settings | None = None) -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from the environment."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(build(settings))
