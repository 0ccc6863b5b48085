"""ASGI middleware: request id, access log, metrics, and the last line of defence.

Any exception that escapes a handler becomes a 500 with a JSON body carrying only the
request id, is counted in ``homeroom_server_errors_total`` and is logged with its traceback:
loud for operators, silent about internals for users.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homeroom.ops.metrics import HTTP_REQUESTS, HTTP_SECONDS, SERVER_ERRORS

__all__ = ["RequestContextMiddleware"]

log = structlog.get_logger("homeroom.http")


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


_SERIES: dict[tuple[str, int], tuple[Any, Any]] = {}


def _series(route: str, status: int) -> tuple[Any, Any]:
    """The request counter and histogram of (route, status), looked up once: ``labels()``
    costs a lock and a tuple of strings per call, on every request."""
    found = _SERIES.get((route, status))
    if found is None:
        found = (
            HTTP_REQUESTS.labels(route=route, status=str(status)),
            HTTP_SECONDS.labels(route=route, status=str(status)),
        )
        if len(_SERIES) < 10_000:  # route templates × statuses: small unless something is off
            _SERIES[(route, status)] = found
    return found


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled_error", path=scope.get("path"))
            SERVER_ERRORS.labels(kind="unhandled").inc()
            status = 500
            if not response_started:
                body = b'{"error":"server_error","request_id":"' + request_id.encode() + b'"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"cache-control", b"no-store"),
                            (b"x-request-id", request_id.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            requests, seconds = _series(route, status)
            requests.inc()
            seconds.observe(elapsed)
            if status >= 500:
                SERVER_ERRORS.labels(kind=f"http_{status}").inc()
            log.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                route=route,
                status=status,
                ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")
