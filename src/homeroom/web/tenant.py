"""Narrowing at the edge: resolve a request's district once and run the handler inside it.

``RequireScope(capability)`` is a FastAPI dependency. It resolves the district from, in
order: the portal path (a ``district_slug`` path parameter, as in ``/d/<slug>/...``), a
bearer token's ``district`` claim (RFC 9068 access token of a connected app), or the portal
session's district. It builds the :class:`~homeroom.tenancy.RequestScope` (role ∩ district
rights), checks the capability, and *enters* ``TenantScope`` for the rest of the request:
the handler, running in the threadpool with a copy of this context, can only reach the
resolved district, and code that reaches tenant data without any scope fails with
``TenantScopeError`` (500 + ``homeroom_server_errors_total{kind="tenant_scope"}``).

A ``district`` query parameter (a slug) may name the district explicitly; when it names any
district other than the resolved one the answer is the same 404 as for an unknown slug, so a
caller cannot tell another district's existence or contents from the error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from homeroom.errors import NotFound
from homeroom.oidc.errors import OAuthError
from homeroom.roster.models import District, valid_slug
from homeroom.tenancy import Capability, RequestScope, TenantScope
from homeroom.tenancy.rights import APP_SCOPE_CAPABILITIES, ROLE_CAPABILITIES
from homeroom.web.bearer import bearer_token_from, verify_bearer
from homeroom.wiring import Container

__all__ = ["RequireScope", "resolve_request_scope"]

_SIGN_IN = HTTPException(
    401, "sign in required", headers={"WWW-Authenticate": 'Bearer realm="homeroom"'}
)


def _district(container: Container, district_id: str) -> District:
    district = container.oidc.clients.district(district_id)
    if district is None:
        raise _SIGN_IN
    return district


def _from_bearer(container: Container, authorization: str) -> RequestScope:
    try:
        principal = verify_bearer(container, bearer_token_from(authorization))
    except OAuthError:
        raise _SIGN_IN from None
    connection = container.oidc.clients.connection(principal.district_id, principal.client_id)
    if connection is None or connection.status != "active":
        raise _SIGN_IN
    district = _district(container, principal.district_id)
    # An app gets what its token's scopes map to, whether it acts for itself or for a user
    # (a user's token never lends the app the user's portal role).
    granted = {APP_SCOPE_CAPABILITIES[s] for s in principal.scopes if s in APP_SCOPE_CAPABILITIES}
    actor = f"app:{principal.client_id}"
    if principal.subject is not None:
        actor += f" for user:{principal.subject}"
    return RequestScope.narrowed(
        district_id=district.id,
        actor=actor,
        role="app",
        granted=granted,
        district_settings=district.settings,
        via="bearer",
    )


def _from_session(container: Container, request: Request, via: str) -> RequestScope:
    session_id = container.session_cookie.read(request)
    session = None if session_id is None else container.sessions.get(session_id)
    if session is None:
        raise _SIGN_IN
    district = _district(container, session.district_id)
    with TenantScope(district.id), container.db.scoped() as uow:
        user = uow.sign_in_users.find(session.user_id)
    if user is None or user.status != "active":
        raise _SIGN_IN
    return RequestScope.narrowed(
        district_id=district.id,
        actor=f"user:{user.id}",
        role=user.role.value,
        granted=ROLE_CAPABILITIES.get(user.role.value, frozenset()),
        district_settings=district.settings,
        via=via,
    )


def resolve_request_scope(container: Container, request: Request) -> RequestScope:
    """The request's one district and rights (blocking: call from a worker thread)."""
    path_slug = request.path_params.get("district_slug")
    named = path_slug or request.query_params.get("district")
    authorization = request.headers.get("authorization")
    if authorization:
        scope = _from_bearer(container, authorization)
    else:
        scope = _from_session(container, request, "portal" if path_slug else "session")
    if named is not None:
        # A value that is no slug names no district: the same 404, without a lookup (a NUL
        # byte, say, would otherwise reach PostgreSQL and come back as a 400).
        district = container.oidc.clients.district_by_slug(named) if valid_slug(named) else None
        if district is None or district.id != scope.district_id:
            raise NotFound("district not found")
    return scope


class RequireScope:
    """Dependency: the request's :class:`RequestScope`, holding ``capability``, with its
    ``TenantScope`` entered until the response is sent."""

    def __init__(self, capability: Capability) -> None:
        self.capability = capability

    async def __call__(self, request: Request) -> AsyncIterator[RequestScope]:
        container: Container = request.app.state.container
        scope = await run_in_threadpool(resolve_request_scope, container, request)
        scope.require(self.capability)
        request.state.request_scope = scope
        with scope.tenant():
            yield scope
