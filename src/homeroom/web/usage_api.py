"""Usage JSON API: apps report events; teachers manage goals; district admins see adoption.

Thin: authenticate, call ``homeroom.usage``, render.

- ``POST /api/v1/usage/events`` — an app's ``client_credentials`` token (RFC 9068) for one
  district, with the ``usage.write`` scope (RFC 6750 errors: 401 ``invalid_token``, 403
  ``insufficient_scope``). The connection must be active and the district must not have
  turned ``usage.write`` off (403). Answers 200 with one result per event:
  ``accepted``, ``duplicate`` or ``rejected`` + reason. A malformed batch is 422 as a whole
  (nothing is stored).
- ``/api/v1/usage/goals`` — a teacher's (or district admin's) portal session, narrowed by
  :class:`~homeroom.web.tenant.RequireScope` (``usage.read``); a teacher reaches only the
  sections they teach, and anything else is the same 404 as a record that does not exist.
  CSRF: the JSON body must be sent as ``application/json`` (FastAPI refuses other types, and
  a cross-site ``fetch`` with it needs a CORS preflight Homeroom never grants); DELETE
  cannot be sent by a cross-site form at all.
- ``GET /api/v1/usage/adoption`` — district admins only: per app, active students and
  minutes over the last 7 and 30 days.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from homeroom.errors import PermissionDenied
from homeroom.oidc.errors import InsufficientScope, InvalidToken
from homeroom.sharing.principal import Principal
from homeroom.storage.sql.tables_usage import EVENT_ID
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import Capability, RequestScope
from homeroom.tenancy.rights import district_allows
from homeroom.usage.goals import MAX_GOAL_MINUTES, goal_dict
from homeroom.usage.ingest import MAX_BATCH, MAX_MINUTES, EventReport
from homeroom.usage.models import UsageKind
from homeroom.web.bearer import BearerError, RequireBearer
from homeroom.web.ratelimit import client_ip
from homeroom.web.responses import JSONResponse
from homeroom.web.tenant import RequireScope
from homeroom.wiring import Container

__all__ = ["USAGE_SCOPE", "require_usage_app", "router"]

USAGE_SCOPE = "usage.write"
ID_PATTERN = "^[A-Za-z0-9_.-]{1,64}$"
NO_STORE = {"Cache-Control": "no-store"}
_JSON = {"application/json": {"schema": {"type": "object"}}}


class _UsageRoute(APIRoute):
    """RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field" listing the target's
    methods; Starlette lists only the first route's, so ``/goals`` (GET and POST) would
    announce GET alone."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = {
                method
                for route in router.routes
                if isinstance(route, APIRoute) and route.path == self.path
                for method in route.methods or ()
            }
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        await super().handle(scope, receive, send)


router = APIRouter(prefix="/api/v1/usage", tags=["Usage"], route_class=_UsageRoute)
_BEARER = RequireBearer(USAGE_SCOPE)


# ---------------------------------------------------------------------- apps


class UsageEventIn(BaseModel):
    """One usage or progress event of one student."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        pattern="^[A-Za-z0-9_.:-]+$",
        min_length=1,
        max_length=EVENT_ID,
        description="The app's own id of this event (idempotency key; a UUID is fine)",
    )
    user_id: str = Field(pattern=ID_PATTERN, description="Homeroom user id (`usr_…`)")
    kind: Literal["minutes", "progress"]
    minutes: int | None = Field(
        None, ge=0, le=MAX_MINUTES, description="Whole minutes of use (kind=minutes)"
    )
    progress: float | None = Field(
        None, ge=0, le=1, description="Progress as a fraction 0..1 (kind=progress)"
    )
    occurred_at: AwareDatetime = Field(description="When it happened, RFC 3339 with offset")


class UsageBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[UsageEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventResult(BaseModel):
    index: int
    id: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: Literal["invalid", "unknown_user", "in_future", "too_old", "id_reused"] | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    results: list[EventResult]


def _check_connection(container: Container, principal: Principal) -> None:
    clients = container.oidc.clients
    connection = clients.connection(principal.district_id, principal.client_id)
    district = clients.district(principal.district_id)
    if connection is None or not connection.active(utcnow()) or district is None:
        raise BearerError(InvalidToken("the app is not connected to this district"))
    if Capability.USAGE_WRITE not in district_allows(district.settings):
        raise PermissionDenied("usage reporting is turned off in this district")


async def require_usage_app(request: Request) -> Principal:
    """A district token of a connected app holding ``usage.write``, rate-limited per token
    like the roster API."""
    principal = await _BEARER(request)
    if principal.subject is not None:
        # A user's token never reports usage: the app reports for its district.
        raise BearerError(
            InsufficientScope("a client_credentials token is required", scope=USAGE_SCOPE)
        )
    container: Container = request.app.state.container
    await run_in_threadpool(_check_connection, container, principal)
    key = f"{principal.client_id}:{principal.district_id}:"
    decision = await run_in_threadpool(container.rate_limiter.check, "client", key)
    request.state.rate_headers = decision.headers()
    return principal


@router.post(
    "/events",
    response_model=BatchResult,
    summary="Report a batch of usage and progress events (apps)",
    responses={
        400: {"description": "The body is not JSON", "content": _JSON},
        401: {"description": "No valid token, or the app is not connected", "content": _JSON},
        403: {"description": "No usage.write scope, or usage is off here", "content": _JSON},
        422: {"description": "Malformed batch: nothing was stored", "content": _JSON},
        429: {"description": "Rate limit of this token passed; see Retry-After", "content": _JSON},
    },
)
def report_events(
    request: Request,
    batch: UsageBatchIn,
    principal: Annotated[Principal, Depends(require_usage_app)],
) -> JSONResponse:
    container: Container = request.app.state.container
    reports = [
        EventReport(
            id=e.id,
            user_id=e.user_id,
            kind=UsageKind(e.kind),
            occurred_at=e.occurred_at,
            minutes=e.minutes,
            progress=e.progress,
        )
        for e in batch.events
    ]
    outcomes = container.usage_ingest.report(principal.district_id, principal.client_id, reports)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("accepted", "duplicate")}
    body = {
        **counts,
        "rejected": sum(1 for o in outcomes if o.status == "rejected"),
        "results": [o.as_dict() for o in outcomes],
    }
    headers = {**NO_STORE, **getattr(request.state, "rate_headers", {})}
    return JSONResponse(body, headers=headers)


# ---------------------------------------------------------------------- teachers


class GoalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section_id: str = Field(pattern=ID_PATTERN)
    app_id: str = Field(pattern=ID_PATTERN)
    minutes_per_week: int = Field(ge=1, le=MAX_GOAL_MINUTES)
    starts_on: dt.date
    ends_on: dt.date


Reader = Annotated[RequestScope, Depends(RequireScope(Capability.USAGE_READ))]
_USER_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Sign in required (portal session)", "content": _JSON},
    403: {"description": "Not a teacher or district admin", "content": _JSON},
}


def _user_id(scope: RequestScope) -> str:
    if not scope.actor.startswith("user:") or scope.via == "bearer":
        raise PermissionDenied("sign in as a teacher or district admin")
    return scope.actor.removeprefix("user:")


@router.get(
    "/goals",
    summary="Goals of my sections, with this week's minutes per student",
    responses={**_USER_ONLY, 404: {"description": "No such section of mine", "content": _JSON}},
)
def list_goals(
    request: Request,
    scope: Reader,
    section_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    district: Annotated[str | None, Query(max_length=64)] = None,  # checked by RequireScope
) -> JSONResponse:
    container: Container = request.app.state.container
    goals = container.usage_goals.progress(
        scope.district_id, _user_id(scope), section_id=section_id
    )
    return JSONResponse({"goals": goals}, headers=NO_STORE)


@router.post(
    "/goals",
    status_code=201,
    summary="Set a usage goal for a section I teach",
    responses={
        **_USER_ONLY,
        400: {"description": "Bad dates, or the body is not JSON", "content": _JSON},
        404: {"description": "No such section of mine, or app not connected", "content": _JSON},
    },
)
def create_goal(request: Request, scope: Reader, goal: GoalIn) -> JSONResponse:
    container: Container = request.app.state.container
    created = container.usage_goals.create(
        scope.district_id,
        _user_id(scope),
        section_id=goal.section_id,
        app_id=goal.app_id,
        minutes_per_week=goal.minutes_per_week,
        starts_on=goal.starts_on,
        ends_on=goal.ends_on,
        ip=client_ip(request),
    )
    return JSONResponse(goal_dict(created), status_code=201, headers=NO_STORE)


@router.delete(
    "/goals/{goal_id}",
    status_code=204,
    summary="Delete a goal of a section I teach",
    responses={**_USER_ONLY, 404: {"description": "No such goal of mine", "content": _JSON}},
)
def delete_goal(
    request: Request, scope: Reader, goal_id: Annotated[str, Path(pattern=ID_PATTERN)]
) -> Response:
    container: Container = request.app.state.container
    container.usage_goals.delete(scope.district_id, _user_id(scope), goal_id, client_ip(request))
    return Response(status_code=204)


# ---------------------------------------------------------------------- district admins


@router.get(
    "/adoption",
    summary="App adoption in my district: active students and minutes, 7 and 30 days",
    responses={
        401: {"description": "Sign in required (portal session)", "content": _JSON},
        403: {"description": "Not a district admin", "content": _JSON},
        404: {"description": "`district` names another district", "content": _JSON},
    },
)
def adoption(
    request: Request,
    scope: Reader,
    district: Annotated[str | None, Query(max_length=64)] = None,  # checked by RequireScope
) -> JSONResponse:
    if scope.role != "district_admin" or scope.via == "bearer":
        raise PermissionDenied("district admins only")
    container: Container = request.app.state.container
    apps: list[dict[str, Any]] = container.usage_data.adoption(scope.district_id)
    return JSONResponse(
        {"district_id": scope.district_id, "as_of": utcnow().date().isoformat(), "apps": apps},
        headers=NO_STORE,
    )
