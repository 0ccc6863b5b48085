"""HTTP adapter of the OpenID Provider: parse, call ``homeroom.oidc``, render.

Protocol errors render per their spec: JSON with ``Cache-Control: no-store`` (and
``WWW-Authenticate`` for 401s) at the token, introspection, revocation and userinfo
endpoints; an error redirect or an error page at the authorization endpoint. Server-side
failures are never dressed up as OAuth errors: they escape as 5xx and are counted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, BackgroundTasks, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from homeroom.demo import demo_app_credentials
from homeroom.identity.sessions import Session
from homeroom.oidc.authorize import LoginNeeded, authorize, parse_authorization_request
from homeroom.oidc.bearer import Principal
from homeroom.oidc.discovery import metadata
from homeroom.oidc.errors import InvalidClient, InvalidRequest, OAuthError
from homeroom.oidc.introspection import introspect
from homeroom.oidc.logout import parse_logout_request, send_backchannel
from homeroom.oidc.revocation import revoke
from homeroom.oidc.token_endpoint import token_request
from homeroom.oidc.userinfo import userinfo
from homeroom.ops.metrics import OIDC_ERRORS
from homeroom.web.bearer import bearer_token_from, install_bearer_errors, verify_bearer
from homeroom.web.demo_app import create_demo_app
from homeroom.web.forms import BodyTooLarge, MalformedForm, urlencoded_fields
from homeroom.web.hot import HotRoute, blocking
from homeroom.web.pages import csrf_of, render
from homeroom.web.responses import JSONResponse
from homeroom.wiring import Container

__all__ = ["install", "router"]

router = APIRouter(include_in_schema=False)
JWKS_MAX_AGE_S = 300
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_PROTOCOL_FORM_BYTES = 64 * 1024  # a token request is a few hundred bytes


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def current_session(request: Request) -> Session | None:
    container = _container(request)
    session_id = container.session_cookie.read(request)
    return None if session_id is None else container.sessions.get(session_id)


def oauth_error_json(endpoint: str, error: OAuthError) -> JSONResponse:
    OIDC_ERRORS.labels(endpoint=endpoint, error=error.error).inc()
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers())


async def _form(request: Request) -> dict[str, str]:
    """An x-www-form-urlencoded body as a dict; RFC 6749 §3.2: "Request and response
    parameters MUST NOT be included more than once"."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    try:
        pairs = await urlencoded_fields(request, MAX_PROTOCOL_FORM_BYTES)
    except BodyTooLarge:
        raise InvalidRequest("the request body is too large") from None
    except MalformedForm:
        raise InvalidRequest("the body is not valid urlencoded UTF-8") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise InvalidRequest(f"repeated parameter: {name}")
        values[name] = value
    return values


# ------------------------------------------------------------------ discovery, JWKS


@router.get("/.well-known/openid-configuration")
@router.get("/.well-known/oauth-authorization-server")
async def discovery(request: Request) -> JSONResponse:
    return JSONResponse(
        metadata(_container(request).settings.issuer),
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_S}"},
    )


async def jwks(request: Request) -> Response:
    # Cached bytes; the thread only matters when the ring is due a re-read from the database.
    body = await run_in_threadpool(_container(request).key_ring.jwks_json)
    return Response(
        body,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_S}"},
    )


# ------------------------------------------------------------------ authorization


async def authorize_get(request: Request) -> Response:
    pairs = list(request.query_params.multi_items())
    return await blocking(_container(request), lambda: _authorize(request, pairs))


@router.post("/authorize")
async def authorize_post(request: Request) -> Response:
    form = await request.form()
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return await run_in_threadpool(_authorize, request, pairs)


def _decide(
    request: Request, pairs: list[tuple[str, str]], session: Session | None
) -> str | LoginNeeded | OAuthError:
    """The authorization request's outcome: the URL to send the browser back to the app
    with (a code, or an error the app is to hear about), sign-in first, or an error to
    show on our own page (RFC 6749 §4.1.2.1: never redirect to an unverified URI)."""
    ctx = _container(request).oidc
    try:
        parsed = parse_authorization_request(ctx, pairs)
        outcome = authorize(ctx, parsed, session)
    except OAuthError as error:
        if error.redirect_to is not None and error.redirectable:
            OIDC_ERRORS.labels(endpoint="authorize", error=error.error).inc()
            return error.redirect_uri(error.redirect_to, error.state, ctx.issuer)
        return error
    return outcome if isinstance(outcome, LoginNeeded) else outcome.url


def _authorize(request: Request, pairs: list[tuple[str, str]]) -> Response:
    outcome = _decide(request, pairs, current_session(request))
    if isinstance(outcome, OAuthError):
        OIDC_ERRORS.labels(endpoint="authorize", error=outcome.error).inc()
        return render(
            request,
            "oidc/error.html",
            {"error": outcome.error, "description": outcome.description},
            status_code=400,
        )
    if isinstance(outcome, LoginNeeded):
        return RedirectResponse(outcome.login_url(), status_code=302, headers=NO_STORE)
    return RedirectResponse(outcome, status_code=302, headers=NO_STORE)


def continue_authorization(request: Request, next_url: str, session: Session) -> str | None:
    """Where the sign-in form's response can send the browser at once, or None.

    A sign-in that came from an authorization request used to answer "303 to
    ``/authorize?...``", and the browser's next request got the code. The same decision
    made here, with the session just started, saves that round trip: for a student on a
    school network one redirect fewer, for the server one request fewer per password
    sign-in. Only an answer that leaves for the app (its code, or an error redirect to its
    registered URI) is taken; anything shown on our own pages (an error page, another
    sign-in) is left to the ``GET /authorize`` it always was, so that it renders at that
    URL and is counted once."""
    parts = urlsplit(next_url)
    if parts.path != "/authorize":
        return None
    outcome = _decide(request, parse_qsl(parts.query, keep_blank_values=True), session)
    return outcome if isinstance(outcome, str) else None


# ------------------------------------------------------------------ token and friends


async def token(request: Request) -> Response:
    container = _container(request)
    ip = request.client.host if request.client else "-"
    try:
        form = await _form(request)

        def run() -> dict[str, Any]:
            # The address's budget is of failed client authentications (guessing), as the
            # sign-in forms' is of failed sign-ins: an app's servers exchange every code of
            # a morning from a few addresses, and successes must not use it up.
            limiter = container.rate_limiter
            limiter.guard("ip", ip)  # RateLimited: 429 + Retry-After
            try:
                return token_request(container.oidc, form, request.headers.get("authorization"))
            except InvalidClient:
                limiter.hit("ip", ip)
                raise

        body = await blocking(container, run)
    except OAuthError as error:
        return oauth_error_json("token", error)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/introspect")
async def introspection(request: Request) -> Response:
    try:
        form = await _form(request)
        body = await run_in_threadpool(
            introspect, _container(request).oidc, form, request.headers.get("authorization")
        )
    except OAuthError as error:
        return oauth_error_json("introspect", error)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/revoke")
async def revocation(request: Request) -> Response:
    try:
        form = await _form(request)
        await run_in_threadpool(
            revoke, _container(request).oidc, form, request.headers.get("authorization")
        )
    except OAuthError as error:
        return oauth_error_json("revoke", error)
    return Response(status_code=200, headers=NO_STORE)


async def userinfo_endpoint(request: Request) -> Response:
    container = _container(request)
    try:
        form = await _form(request) if request.method == "POST" and _is_form(request) else {}
        token_value = bearer_token_from(request.headers.get("authorization"), form)

        def run() -> dict[str, Any]:
            principal: Principal = verify_bearer(container, token_value)
            return userinfo(container.oidc, principal)

        body = await blocking(container, run)
    except OAuthError as error:
        return oauth_error_json("userinfo", error)
    return JSONResponse(body, headers=NO_STORE)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


# ------------------------------------------------------------------ logout


@router.api_route("/logout", methods=["GET", "POST"])
async def logout(request: Request, background: BackgroundTasks) -> Response:
    if request.method == "POST":
        form = await request.form()
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    else:
        pairs = list(request.query_params.multi_items())
    return await run_in_threadpool(_logout, request, pairs, background)


_LOGOUT_PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


def _logout(
    request: Request, pairs: list[tuple[str, str]], background: BackgroundTasks
) -> Response:
    container = _container(request)
    ctx = container.oidc
    try:
        parsed = parse_logout_request(ctx, pairs)
    except OAuthError as error:
        OIDC_ERRORS.labels(endpoint="logout", error=error.error).inc()
        return render(
            request,
            "oidc/error.html",
            {"error": error.error, "description": error.description},
            status_code=400,
        )
    session = current_session(request)
    params = dict(pairs)
    confirmed = parsed.confirmed_by_hint(session) or (
        request.method == "POST"
        and params.get("confirm") == "yes"
        and csrf_of(request).valid(request, params.get("csrf_token"))
    )
    if not confirmed:
        kept = [(k, v) for k, v in pairs if k in _LOGOUT_PARAMS]
        return render(
            request,
            "oidc/logout_confirm.html",
            {"params": kept, "client_name": parsed.client.name if parsed.client else None},
            csrf=True,
            # The confirmed POST redirects to the (registered) post-logout URI.
            form_targets=[parsed.post_logout_redirect_uri]
            if parsed.post_logout_redirect_uri
            else [],
        )
    redirect = parsed.redirect_url()
    response: Response
    if redirect is not None:
        response = RedirectResponse(redirect, status_code=302, headers=NO_STORE)
    else:
        response = render(
            request,
            "oidc/message.html",
            {"title": "Signed out", "message": "You are signed out of Homeroom."},
        )
    if session is not None:
        ended = container.sessions.end(session.id)
        if ended is not None and ended.apps:
            background.add_task(send_backchannel, ctx, ended)
    container.session_cookie.clear(response)
    return response


def install(app: FastAPI) -> None:
    """Mount the OpenID Provider (and its sign-in page) on the app."""
    from homeroom.web import login

    # Protocol hot paths are plain Starlette routes (DESIGN: no FastAPI dependency solving or
    # validation per request); ``web.hot`` serves them ahead of the FastAPI stack.
    hot = [
        HotRoute("/authorize", authorize_get, methods=["GET"]),
        HotRoute("/token", token, methods=["POST"]),
        HotRoute("/userinfo", userinfo_endpoint, methods=["GET", "POST"]),
        HotRoute("/jwks.json", jwks, methods=["GET"]),
        login.login_route(),  # the sign-in page and form
    ]
    app.router.routes[0:0] = hot
    app.include_router(router)
    install_bearer_errors(app)
    container: Container = app.state.container
    creds = demo_app_credentials(container)
    if creds is not None:
        key = container.secrets.get_or_create("demo-app-session-key")
        app.mount("/demo-app", create_demo_app(container.settings.issuer, creds, key))
