"""``GET /api/v1/status``: the public "is sign-in working?" answer for districts and apps.

Unlike ``/readyz`` (for the load balancer, exempt from shedding and limits), this endpoint is
what people and status pages call: it walks the same dependencies a sign-in needs (database
and KV store), is rate limited per IP and is shed under overload like any real request, so
it never becomes a way to hammer the database.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from homeroom import __version__
from homeroom.web.ratelimit import rate_limit
from homeroom.wiring import Container

__all__ = ["router"]

router = APIRouter(tags=["status"])


@router.get(
    "/api/v1/status",
    summary="Sign-in dependencies answer (503 + Retry-After when not)",
    dependencies=[Depends(rate_limit("ip"))],
)
def status(request: Request) -> dict[str, object]:
    container: Container = request.app.state.container
    container.db.ping()  # ServiceUnavailable -> 503 + Retry-After via the error handlers
    container.kv.ping()
    return {"status": "ok", "version": __version__, "checks": {"database": "ok", "kv": "ok"}}
