"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request

from homeroom.errors import ServiceUnavailable
from homeroom.web.responses import JSONResponse
from homeroom.wiring import Container

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database and the KV store answer")
def readyz(request: Request) -> JSONResponse:
    container: Container = request.app.state.container
    checks: dict[str, str] = {}
    for name, check in (("database", container.db.ping), ("kv", container.kv.ping)):
        try:
            check()
            checks[name] = "ok"
        except ServiceUnavailable:
            checks[name] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
        headers={} if ok else {"Retry-After": "2"},
    )
