"""Map domain errors to HTTP responses (JSON APIs)."""

from __future__ import annotations

from fastapi import FastAPI, Request

from homeroom.errors import (
    Conflict,
    HomeroomError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    TenantScopeError,
)
from homeroom.ops.metrics import SERVER_ERRORS
from homeroom.web.responses import JSONResponse

__all__ = ["homeroom_error_response", "install_error_handlers"]

_STATUS: list[tuple[type[HomeroomError], int, str]] = [
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (InvalidInput, 400, "invalid_request"),
    (PermissionDenied, 403, "forbidden"),
]


def homeroom_error_response(exc: HomeroomError, request_id: str | None) -> JSONResponse:
    """The response for a domain error (also used by the hot paths, outside FastAPI)."""
    if isinstance(exc, ServiceUnavailable):
        SERVER_ERRORS.labels(kind="unavailable").inc()
        return JSONResponse(
            {"error": "temporarily_unavailable", "request_id": request_id},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, RateLimited):
        return JSONResponse(
            {"error": "rate_limited", "error_description": str(exc)},
            status_code=429,
            headers=exc.headers,
        )
    if isinstance(exc, TenantScopeError):
        SERVER_ERRORS.labels(kind="tenant_scope").inc()
        return JSONResponse({"error": "server_error", "request_id": request_id}, 500)
    for cls, status, code in _STATUS:
        if isinstance(exc, cls):
            return JSONResponse({"error": code, "message": str(exc)}, status_code=status)
    SERVER_ERRORS.labels(kind="homeroom_error").inc()
    return JSONResponse({"error": "server_error", "request_id": request_id}, 500)


def install_error_handlers(app: FastAPI) -> None:
    async def homeroom_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HomeroomError)
        return homeroom_error_response(exc, getattr(request.state, "request_id", None))

    app.add_exception_handler(HomeroomError, homeroom_error)
