"""Load shedding: a cap on requests in flight per worker, answered 503 before any work.

Why: past its capacity a server that accepts everything serves everyone late (queues grow,
clients time out, retries add more load) and its useful throughput collapses. Refusing the
excess at once, with ``Retry-After``, keeps the admitted requests fast and tells clients
(and load balancers) to come back or go elsewhere. The check is the first thing a request
meets: no routing, no parsing, no logging per shed request (only a counter), so shedding
itself stays cheap under a flood.

Pure ASGI and per worker: the event loop is single-threaded, so a plain integer is exact.
Health, readiness and metrics stay exempt: a load balancer must still see the worker alive,
and operators must still see why it sheds.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from homeroom.ops.metrics import HTTP_IN_FLIGHT, SHED_REQUESTS

__all__ = ["EXEMPT_PATHS", "InFlightLimiter"]

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

_BODY = b'{"error":"temporarily_unavailable","error_description":"server overloaded"}'


class InFlightLimiter:
    """ASGI middleware: at most ``max_in_flight`` non-exempt requests at once in this worker."""

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        retry_after_s: int = 1,
        exempt: Iterable[str] = EXEMPT_PATHS,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.exempt = frozenset(exempt)
        self._headers = [
            (b"content-type", b"application/json"),
            (b"cache-control", b"no-store"),
            (b"retry-after", str(retry_after_s).encode()),
            (b"content-length", str(len(_BODY)).encode()),
        ]
        self._shed = SHED_REQUESTS.labels(reason="in_flight")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            self._shed.inc()
            await send({"type": "http.response.start", "status": 503, "headers": self._headers})
            await send({"type": "http.response.body", "body": _BODY})
            return
        self.in_flight += 1
        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            HTTP_IN_FLIGHT.dec()
