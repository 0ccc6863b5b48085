"""``GET /metrics``: Prometheus exposition, guarded by a bearer token.

Choice: a protected path on the main port rather than a separate admin port, because a
second listener per uvicorn worker cannot be shared across workers, and the aggregated
multi-process view needs no port at all. The token lives in the secret store; the
``metrics_token`` setting names it (``secret://<env>/homeroom-web/metrics-token``) and the
web process resolves it once (configure Prometheus with
``authorization: {credentials_file: ...}``); when the setting is empty the endpoint answers
404, so a fresh install exposes nothing. Exempt from load shedding.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from homeroom.ops.metrics import CONTENT_TYPE, render
from homeroom.wiring import Container

__all__ = ["router"]

router = APIRouter(tags=["operations"], include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    container: Container = request.app.state.container
    token = container.metrics_token
    if not token:
        return Response(status_code=404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
        )
    return Response(render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
