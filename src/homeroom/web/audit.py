"""``GET /api/v1/audit``: a district admin lists or exports their own district's audit log.

Authorized by a portal session of a ``district_admin`` (or an app token, never: apps get no
``audit.read``); the district is the session's, narrowed by :class:`RequireScope`, so the
query can only ever read that district's rows (and RLS enforces it on PostgreSQL). The
export is itself an audit event (``audit.export``), written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from homeroom.audit.export import event_dict, to_csv
from homeroom.audit.models import AuditEvent
from homeroom.errors import InvalidInput
from homeroom.tenancy import Capability, RequestScope
from homeroom.web.ratelimit import client_ip
from homeroom.web.responses import JSONResponse
from homeroom.web.tenant import RequireScope
from homeroom.wiring import Container

__all__ = ["router"]

router = APIRouter(tags=["audit"])
NO_STORE = {"Cache-Control": "no-store"}


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("since must be an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}


@router.get(
    "/api/v1/audit",
    summary="This district's audit events (JSON or CSV)",
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        400: {"description": "Malformed parameter", **_ERROR},
        401: {"description": "Sign in required", **_ERROR},
        403: {"description": "Not a district administrator", **_ERROR},
        404: {"description": "No such district", **_ERROR},
    },
)
def audit_events(
    request: Request,
    scope: Annotated[RequestScope, Depends(RequireScope(Capability.AUDIT_READ))],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    since: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    district: Annotated[str | None, Query(max_length=64)] = None,  # checked by RequireScope
) -> Response:
    container: Container = request.app.state.container
    with container.db.scoped(write=True) as uow:  # the TenantScope entered by RequireScope
        events = uow.audit.list(since=_since(since), limit=limit, action=action)
        uow.audit.append(
            AuditEvent(
                actor=scope.actor,
                action="audit.export",
                target_type="audit_events",
                ip=client_ip(request),
                detail={"format": format, "count": len(events), "since": since},
            )
        )
    if format == "csv":
        return Response(
            to_csv(events),
            media_type="text/csv; charset=utf-8",
            headers={**NO_STORE, "Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return JSONResponse(
        {"district_id": scope.district_id, "events": [event_dict(e) for e in events]},
        headers=NO_STORE,
    )
