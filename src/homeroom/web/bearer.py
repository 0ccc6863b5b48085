"""Bearer-token authentication for Homeroom's JSON APIs (RFC 6750), as a FastAPI dependency.

Usage in a resource server route (e.g. the roster API)::

    from homeroom.oidc.bearer import Principal
    from homeroom.web.bearer import RequireBearer

    @router.get("/api/roster/v1/users")
    def users(principal: Annotated[Principal, Depends(RequireBearer("roster.read"))]):
        with TenantScope(principal.district_id): ...

The dependency reads ``Authorization: Bearer <token>`` (RFC 6750 §2.1; the query-string
form §2.3 is refused), verifies it as an RFC 9068 access token, and checks the scopes. It
fails with the RFC 6750 §3 response: 401 + ``WWW-Authenticate: Bearer error="invalid_token"``
for a missing or bad token (§3.1: a request without any token gets the bare challenge and
no error code), or 403 + ``error="insufficient_scope"``. ``install_bearer_errors(app)``
registers the renderer (done by ``web.oidc.install``).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from homeroom.oidc.bearer import Principal, verify_access_token
from homeroom.oidc.errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from homeroom.oidc.tokens import RevocationList
from homeroom.ops.metrics import OIDC_ERRORS
from homeroom.web.responses import JSONResponse
from homeroom.wiring import Container

__all__ = [
    "BearerError",
    "MissingToken",
    "RequireBearer",
    "bearer_token_from",
    "install_bearer_errors",
    "verify_bearer",
]


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: "If the request lacks any authentication information [...], the
    resource server SHOULD NOT include an error code or other error information." """

    def body(self) -> dict[str, str]:
        return {"error": "invalid_token", "error_description": "a bearer token is required"}

    def headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-store", "WWW-Authenticate": 'Bearer realm="homeroom"'}


class BearerError(Exception):
    """Carries an ``OAuthError`` out of a FastAPI dependency to the registered handler."""

    def __init__(self, error: OAuthError) -> None:
        super().__init__(error.error)
        self.error = error


def bearer_token_from(authorization: str | None, form: Mapping[str, str] | None = None) -> str:
    """RFC 6750 §2.1 (header) or §2.2 (form body); never both (§2: "Clients MUST NOT use
    more than one method to transmit the token in each request")."""
    from_form = (form or {}).get("access_token")
    header_token: str | None = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidToken("the Authorization header must use the Bearer scheme")
        header_token = value.strip()
    if header_token and from_form:
        raise InvalidRequest("more than one method used to send the access token")
    token = header_token or from_form
    if not token:
        raise MissingToken()
    return token


def verify_bearer(container: Container, token: str) -> Principal:
    ctx = container.oidc
    return verify_access_token(
        token,
        issuer=ctx.issuer,
        keys=ctx.keys,
        revocations=RevocationList(ctx.kv, ctx.lifetimes.access_token),
    )


class RequireBearer:
    """FastAPI dependency: the request's :class:`Principal`, holding every given scope."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes

    async def __call__(self, request: Request) -> Principal:
        container: Container = request.app.state.container
        try:
            token = bearer_token_from(request.headers.get("authorization"))
            principal = await run_in_threadpool(verify_bearer, container, token)
            missing = [s for s in self.scopes if not principal.has_scope(s)]
            if missing:
                raise InsufficientScope(
                    "the access token lacks a required scope", scope=" ".join(self.scopes)
                )
        except OAuthError as error:
            raise BearerError(error) from None
        return principal


def install_bearer_errors(app: FastAPI) -> None:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BearerError)
        error = exc.error
        OIDC_ERRORS.labels(endpoint="bearer", error=error.error).inc()
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers())

    app.add_exception_handler(BearerError, handler)
