"""HTTP adapters for the roster APIs: OneRoster 1.1 (``/ims/oneroster/v1p1``) and the
Clever-style API (``/api/v3``). Thin: parse the query, call the readers in
``homeroom.roster.query`` under the caller's tenant scope and sharing policy, render.

Data-access audit: every answer that hands records to an app appends one ``roster.read``
event to the district's audit log (which app, which resource and record, the token's scope,
the connection's sharing mode, how many records), in its own short transaction after the
read; a refusal (401/403/404) writes nothing, so no caller-sent identifier is stored.

Authentication: routes take a :class:`Principal` from :func:`require_principal` (the
OpenID Provider's bearer verification, RFC 6750 / RFC 9068) plus a per-token rate limit;
tests may override the dependency. An app that is not connected to the principal's district gets 404
for everything, the same as an unknown record.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from homeroom.audit.models import AuditEvent
from homeroom.oidc.errors import InsufficientScope
from homeroom.ops.ratelimit import RateLimiter
from homeroom.roster.query.clever import KINDS as CLEVER_KINDS
from homeroom.roster.query.clever import CleverReader, Cursor
from homeroom.roster.query.errors import RosterApiError, UnknownObject
from homeroom.roster.query.oneroster import (
    MAX_OFFSET,
    NESTED,
    RESOURCES,
    ListParams,
    OneRosterReader,
    Page,
)
from homeroom.sharing.principal import Principal
from homeroom.sharing.service import SharingService
from homeroom.storage.sql import UnitOfWork
from homeroom.tenancy import TenantScope
from homeroom.web.bearer import BearerError, RequireBearer
from homeroom.web.responses import JSONResponse
from homeroom.wiring import Container

__all__ = ["build_router", "require_principal"]

ONEROSTER = "/ims/oneroster/v1p1"
CLEVER = "/api/v3"
CLEVER_NESTED = (
    ("schools", "sections"),
    ("schools", "users"),
    ("users", "sections"),
    ("sections", "users"),
    ("courses", "sections"),
)


_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request (imsx_StatusInfo for OneRoster)", **_ERROR},
    401: {"description": "No valid bearer token", **_ERROR},
    403: {"description": "A user's token outside /me, or a token without roster.read", **_ERROR},
    404: {"description": "Not found, or not shared with this app", **_ERROR},
    429: {"description": "Rate limit of this token passed; see Retry-After", **_ERROR},
}


# Homeroom ids are typed and opaque (``usr_…``): anything else cannot name a record, and a
# NUL byte would be refused by PostgreSQL as a server error rather than a 404.
ID_PATTERN = "^[A-Za-z0-9_.-]{1,64}$"
RecordId = Annotated[str, Path(pattern=ID_PATTERN)]
NO_NUL = "^[^\\x00]*$"

_BEARER = RequireBearer()
ROSTER_SCOPE = "roster.read"


async def require_principal(request: Request) -> Principal:
    """The caller, from a verified RFC 9068 access token (RFC 6750 errors otherwise).

    A district token (client_credentials) must carry ``roster.read``; a user's token
    (authorization code) passes here and is held to ``/me`` by the routes. Each token's
    client and district count against the ``client`` rate limit; the decision's
    ``X-RateLimit-*`` headers go on every answer, and past the limit the answer is 429 with
    ``Retry-After``.
    """
    principal = await _BEARER(request)
    if principal.subject is None and not principal.has_scope(ROSTER_SCOPE):
        raise BearerError(
            InsufficientScope("the access token lacks a required scope", scope=ROSTER_SCOPE)
        )
    limiter: RateLimiter = request.app.state.container.rate_limiter
    key = f"{principal.client_id}:{principal.district_id}:{principal.subject or ''}"
    decision = await run_in_threadpool(limiter.check, "client", key)
    request.state.rate_headers = decision.headers()
    return principal


def _headers(request: Request, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**getattr(request.state, "rate_headers", {}), **(extra or {})}


class _Forbidden(RosterApiError):
    """``forbidden`` (403): a user's token may only call ``/me``."""

    code_minor = "forbidden"
    status = 403


@contextmanager
def _scope(request: Request, principal: Principal) -> Iterator[tuple[UnitOfWork, Any]]:
    container: Container = request.app.state.container
    with TenantScope(principal.district_id), container.db.scoped() as uow:
        policy = SharingService.policy(uow, principal.client_id)
        if policy is None:
            raise UnknownObject("not found")
        yield uow, policy


def _audit_read(
    request: Request,
    principal: Principal,
    policy: Any,
    api: str,
    target: tuple[str, str | None],
    returned: int,
    total: int | None = None,
) -> None:
    """One ``roster.read`` event in the principal's district. Query strings (filters,
    cursors) are not stored: they are the caller's input and may name anything."""
    container: Container = request.app.state.container
    route = request.scope.get("route")
    resource, record_id = target
    detail: dict[str, Any] = {
        "api": api,
        "route": getattr(route, "path", request.url.path),
        "scope": " ".join(sorted(principal.scopes)),
        "sharing": policy.mode.value,
        "returned": returned,
        "filtered": bool(request.query_params.get("filter")),
    }
    if total is not None:
        detail["total"] = total
    if principal.subject is not None:
        detail["user"] = principal.subject
    container.audit_trail.record(
        principal.district_id,
        AuditEvent(
            actor=f"app:{principal.client_id}",
            action="roster.read",
            target_type=resource,
            target_id=record_id,
            detail=detail,
        ),
    )


def _oneroster_error(request: Request, exc: RosterApiError) -> JSONResponse:
    return JSONResponse(exc.imsx(), status_code=exc.status, headers=_headers(request))


def _clever_error(request: Request, exc: RosterApiError) -> JSONResponse:
    return JSONResponse({"message": str(exc)}, status_code=exc.status, headers=_headers(request))


def _link_header(request: Request, total: int, offset: int, limit: int) -> str:
    """RFC 8288 links to the first, previous, next and last pages (OneRoster §3.4.1)."""
    params = dict(request.query_params)

    def uri(at: int) -> str:
        return f"{request.url.path}?{urlencode({**params, 'limit': limit, 'offset': at})}"

    links = [f'<{uri(0)}>; rel="first"']
    if offset > 0:
        links.append(f'<{uri(max(0, offset - limit))}>; rel="prev"')
    if offset + limit < total:
        links.append(f'<{uri(offset + limit)}>; rel="next"')
    last = max(0, (total - 1) // limit * limit) if total else 0
    links.append(f'<{uri(last)}>; rel="last"')
    return ", ".join(links)


def build_router(
    principal_dependency: Callable[..., Any] = require_principal,
) -> APIRouter:
    """Both APIs' routes, authenticated by ``principal_dependency``."""
    router = APIRouter(responses=RESPONSES)
    Caller = Annotated[Principal, Depends(principal_dependency)]  # noqa: N806

    def district_only(principal: Principal) -> None:
        if principal.subject is not None:
            raise _Forbidden("a user's token may only call /me")

    # ------------------------------------------------------------------ OneRoster 1.1

    def list_params(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        sort: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
        orderBy: Annotated[str | None, Query(pattern="^(asc|desc)$")] = None,  # noqa: N803
        filter: Annotated[str | None, Query(max_length=2000, pattern=NO_NUL)] = None,
        fields: Annotated[str | None, Query(max_length=2000, pattern=NO_NUL)] = None,
    ) -> ListParams:
        return ListParams(limit, offset, sort, orderBy, filter, fields)

    Params = Annotated[ListParams, Depends(list_params)]  # noqa: N806

    def oneroster(
        request: Request,
        principal: Caller,
        key: str,
        call: Callable[[OneRosterReader], Any],
        target: tuple[str, str | None],
    ) -> JSONResponse:
        try:
            district_only(principal)
            with _scope(request, principal) as (uow, policy):
                result = call(OneRosterReader(uow, policy))
        except RosterApiError as exc:
            return _oneroster_error(request, exc)
        if isinstance(result, Page):
            _audit_read(
                request, principal, policy, "oneroster", target, len(result.items), result.total
            )
        else:
            _audit_read(request, principal, policy, "oneroster", target, 1)
        if isinstance(result, Page):
            return JSONResponse(
                {key: result.items},
                headers=_headers(
                    request,
                    {
                        "X-Total-Count": str(result.total),
                        "Link": _link_header(request, result.total, result.offset, result.limit),
                    },
                ),
            )
        return JSONResponse({key: result}, headers=_headers(request))

    def make_collection(name: str) -> Callable[..., JSONResponse]:
        def collection(request: Request, principal: Caller, params: Params) -> JSONResponse:
            return oneroster(
                request, principal, name, lambda r: r.collection(name, params), (name, None)
            )

        return collection

    def make_single(name: str, key: str) -> Callable[..., JSONResponse]:
        def single(
            request: Request,
            principal: Caller,
            record_id: RecordId,
            fields: Annotated[str | None, Query(max_length=2000, pattern=NO_NUL)] = None,
        ) -> JSONResponse:
            return oneroster(
                request, principal, key, lambda r: r.get(name, record_id, fields), (name, record_id)
            )

        return single

    def make_nested(parent: str, child: str) -> Callable[..., JSONResponse]:
        def nested(
            request: Request, principal: Caller, record_id: RecordId, params: Params
        ) -> JSONResponse:
            return oneroster(
                request,
                principal,
                child,
                lambda r: r.nested(parent, record_id, child, params),
                (f"{parent}.{child}", record_id),
            )

        return nested

    tag: list[str | Enum] = ["OneRoster 1.1"]
    for name, resource in RESOURCES.items():
        router.add_api_route(
            f"{ONEROSTER}/{name}", make_collection(name), methods=["GET"], tags=tag
        )
        router.add_api_route(
            f"{ONEROSTER}/{name}/{{record_id}}",
            make_single(name, resource.single),
            methods=["GET"],
            tags=tag,
        )
    for parent, child in NESTED:
        router.add_api_route(
            f"{ONEROSTER}/{parent}/{{record_id}}/{child}",
            make_nested(parent, child),
            methods=["GET"],
            tags=tag,
        )

    # ------------------------------------------------------------------ Clever-style

    def cursor(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        starting_after: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
        ending_before: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    ) -> Cursor:
        return Cursor(limit, starting_after, ending_before)

    Paging = Annotated[Cursor, Depends(cursor)]  # noqa: N806

    def clever(
        request: Request,
        principal: Caller,
        call: Callable[[CleverReader], Any],
        target: tuple[str, str | None],
        user_ok: bool = False,
    ) -> JSONResponse:
        try:
            if not user_ok:
                district_only(principal)
            with _scope(request, principal) as (uow, policy):
                body = call(CleverReader(uow, policy))
        except RosterApiError as exc:
            return _clever_error(request, exc)
        data = body.get("data")
        returned = len(data) if isinstance(data, list) else 1
        _audit_read(request, principal, policy, "clever", target, returned)
        return JSONResponse(body, headers=_headers(request))

    tag = ["Clever-style"]

    @router.get(f"{CLEVER}/districts", tags=tag)
    def districts(request: Request, principal: Caller) -> JSONResponse:
        return clever(
            request,
            principal,
            lambda r: {"data": [r.district()], "links": []},
            ("districts", None),
        )

    @router.get(f"{CLEVER}/districts/{{record_id}}", tags=tag)
    def district(request: Request, principal: Caller, record_id: RecordId) -> JSONResponse:
        def call(r: CleverReader) -> Any:
            if record_id != principal.district_id:
                raise UnknownObject("district not found")
            return r.district()

        return clever(request, principal, call, ("districts", record_id))

    @router.get(f"{CLEVER}/me", tags=tag)
    def me(request: Request, principal: Caller) -> JSONResponse:
        def call(r: CleverReader) -> Any:
            if principal.subject is None:
                uri = f"{CLEVER}/districts/{principal.district_id}"
                return {
                    "data": {"id": principal.district_id, "type": "district"},
                    "links": [{"rel": "canonical", "uri": uri}],
                }
            return r.me(principal.subject)

        return clever(request, principal, call, ("me", principal.subject), user_ok=True)

    @router.get(f"{CLEVER}/events", tags=tag)
    def events(request: Request, principal: Caller, paging: Paging) -> JSONResponse:
        return clever(request, principal, lambda r: r.events(paging), ("events", None))

    def make_clever_list(kind: str) -> Callable[..., JSONResponse]:
        def clever_list(
            request: Request,
            principal: Caller,
            paging: Paging,
            role: Annotated[str | None, Query(pattern="^(student|teacher|staff|guardian)$")] = None,
        ) -> JSONResponse:
            chosen = role if kind == "users" else None
            return clever(
                request,
                principal,
                lambda r: r.collection(kind, paging, role=chosen),
                (kind, None),
            )

        return clever_list

    def make_clever_get(kind: str) -> Callable[..., JSONResponse]:
        def clever_get(request: Request, principal: Caller, record_id: RecordId) -> JSONResponse:
            return clever(request, principal, lambda r: r.get(kind, record_id), (kind, record_id))

        return clever_get

    def make_clever_nested(parent: str, child: str) -> Callable[..., JSONResponse]:
        def clever_nested(
            request: Request, principal: Caller, record_id: RecordId, paging: Paging
        ) -> JSONResponse:
            return clever(
                request,
                principal,
                lambda r: r.nested(parent, record_id, child, paging),
                (f"{parent}.{child}", record_id),
            )

        return clever_nested

    for kind in CLEVER_KINDS:
        router.add_api_route(f"{CLEVER}/{kind}", make_clever_list(kind), methods=["GET"], tags=tag)
        router.add_api_route(
            f"{CLEVER}/{kind}/{{record_id}}", make_clever_get(kind), methods=["GET"], tags=tag
        )
    for parent, child in CLEVER_NESTED:
        router.add_api_route(
            f"{CLEVER}/{parent}/{{record_id}}/{child}",
            make_clever_nested(parent, child),
            methods=["GET"],
            tags=tag,
        )
    return router
