"""The sign-in page: ``/login?district=<slug>&next=<local URL>&username=<hint>``.

A plain username/password form for now; the portal (badges, upstream IdPs) creates sessions
the same way (``sessions.start`` + ``session_cookie.write``). The form is CSRF-protected,
errors are generic (no hint whether the district, the user or the password was wrong),
every failed POST counts against the per-address budget of failures and repeated failures
lock the account for that address for a while (``identity.lockout`` on ``ops.ratelimit``,
the same guard as the portal's sign-in), both 429 + Retry-After, and ``next`` is a
same-origin path only (never an open redirect).

A hot path (``web.hot``: plain Starlette, ahead of FastAPI's stack), because a password
sign-in is the morning's busiest request after the instant login. Its storage work runs as
``blocking`` decides (on the loop with the embedded stores, in the thread pool otherwise) in
two batches around the one argon2 verification, which runs on the hasher's bounded pool
(``identity.passwords``): the event loop keeps serving while passwords are checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from homeroom.audit.models import AuditEvent
from homeroom.errors import RateLimited
from homeroom.identity.lockout import SignInLocked
from homeroom.identity.password_login import Candidate
from homeroom.ops.metrics import LOGINS
from homeroom.roster.models import User
from homeroom.web.forms import BodyTooLarge, MalformedForm, urlencoded_fields
from homeroom.web.hot import HotRoute, blocking
from homeroom.web.oidc import continue_authorization
from homeroom.web.pages import csrf_of, render
from homeroom.wiring import Container

__all__ = ["login_route", "safe_next"]

MAX_FORM_BYTES = 16 * 1024  # a sign-in form is a few hundred bytes
_UNSAFE = re.compile(r"[\x00-\x1f\\]")  # control characters and backslashes
GENERIC_ERROR = "That sign-in did not work. Check your district, username and password."
THROTTLED_ERROR = "Too many sign-in attempts. Please wait a few minutes and try again."


def safe_next(value: str | None) -> str | None:
    """A local path to continue to, or None. Refuses absolute and scheme-relative URLs
    (``//evil.example``), backslash tricks and control characters."""
    if not value or len(value) > 4096 or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or _UNSAFE.search(value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _page(
    request: Request,
    *,
    district: str,
    username: str,
    next_url: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    container: Container = request.app.state.container
    found = container.oidc.clients.district_by_slug(district) if district else None
    return render(
        request,
        "oidc/login.html",
        {
            "district": district if found is not None else "",
            "district_name": found.name if found is not None else None,
            "username": username,
            "next": next_url,
            "error": error,
        },
        status_code=status_code,
        csrf=True,
        form_targets=_redirect_target(container, next_url),
    )


def _redirect_target(container: Container, next_url: str) -> list[str]:
    """The registered redirect URI the sign-in will end at, when ``next`` is an
    authorization request: the page's CSP ``form-action`` must allow it."""
    parts = urlsplit(next_url)
    if parts.path != "/authorize":
        return []
    query = parse_qs(parts.query)
    client = container.oidc.clients.app(query.get("client_id", [""])[0])
    redirect_uri = query.get("redirect_uri", [""])[0]
    if client is None or redirect_uri not in client.redirect_uris:
        return []
    return [redirect_uri]


def login_route() -> HotRoute:
    return HotRoute("/login", login, methods=["GET", "POST"])


async def login(request: Request) -> Response:
    if request.method == "POST":
        return await login_submit(request)
    return await login_form(request)


async def login_form(request: Request) -> Response:
    container: Container = request.app.state.container
    q = request.query_params
    return await blocking(
        container,
        lambda: _page(
            request,
            district=q.get("district", ""),
            username=q.get("username", ""),
            next_url=safe_next(q.get("next")) or "",
        ),
    )


async def _fields(request: Request) -> dict[str, str] | None:
    """The urlencoded form's text fields (the last of a repeated name), or None when the
    body is too large to be one."""
    try:
        pairs = await urlencoded_fields(request, MAX_FORM_BYTES)
    except BodyTooLarge:
        return None
    except MalformedForm:
        return {}  # no fields: the CSRF check refuses it like any other broken form
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields[name] = value  # the last of a repeated name, as before
    return fields


async def login_submit(request: Request) -> Response:
    container: Container = request.app.state.container
    field = await _fields(request)
    if field is None:
        return Response("Request body too large", status_code=413)
    district_slug = field.get("district", "").strip().lower()
    username = field.get("username", "").strip()
    next_url = safe_next(field.get("next")) or ""

    def again(error: str, status_code: int) -> Response:
        return _page(
            request,
            district=district_slug,
            username=username,
            next_url=next_url,
            error=error,
            status_code=status_code,
        )

    if not csrf_of(request).valid(request, field.get("csrf_token")):
        LOGINS.labels(method="password", outcome="csrf").inc()
        return await blocking(
            container, lambda: again("Your sign-in form expired. Please try again.", 400)
        )
    ip = request.client.host if request.client else "-"
    lockout = container.sign_in_lockout

    def admit() -> tuple[str | None, Candidate]:
        district = container.oidc.clients.district_by_slug(district_slug)
        district_id = None if district is None else district.id
        lockout.admit(district_id, username, ip)  # RateLimited / SignInLocked: 429
        return district_id, container.password_login.lookup(district_id, username)

    try:
        district_id, candidate = await blocking(container, admit)
    except RateLimited as refused:
        outcome = "locked" if isinstance(refused, SignInLocked) else "rate_limited"
        LOGINS.labels(method="password", outcome=outcome).inc()
        refusal = await blocking(container, lambda: again(THROTTLED_ERROR, 429))
        refusal.headers.update(refused.headers)
        return refusal
    # The one argon2 verification, on the bounded pool (never on the event loop).
    user = await container.password_login.check_async(candidate, field.get("password", ""))
    if user is None:
        return await blocking(
            container,
            lambda: _refused(container, request, district_id, username, district_slug, ip, again),
        )
    return await blocking(
        container, lambda: _signed_in(container, request, user, district_id, username, ip, next_url)
    )


def _refused(
    container: Container,
    request: Request,
    district_id: str | None,
    username: str,
    district_slug: str,
    ip: str,
    again: Callable[[str, int], Response],
) -> Response:
    container.sign_in_lockout.failed(district_id, username, ip)
    LOGINS.labels(method="password", outcome="bad_credentials").inc()
    failure = AuditEvent(
        actor="anonymous",
        action="signin.failure",
        target_type="username",
        target_id=username[:255],
        outcome="failure",
        ip=ip,
        detail={"method": "password", "district": district_slug[:64]},
    )
    container.audit_trail.record(district_id, failure)
    return again(GENERIC_ERROR, 401)


def _signed_in(
    container: Container,
    request: Request,
    user: User,
    district_id: str | None,
    username: str,
    ip: str,
    next_url: str,
) -> Response:
    LOGINS.labels(method="password", outcome="success").inc()
    success = AuditEvent(
        actor=f"user:{user.id}",
        action="signin.success",
        target_type="user",
        target_id=user.id,
        ip=ip,
        detail={"method": "password"},
    )
    container.audit_trail.record(user.district_id, success)
    container.sign_in_lockout.succeeded(district_id, username, ip)
    old = container.session_cookie.read(request)
    if old:
        container.sessions.end(old)  # no session fixation
    session = container.sessions.start(user.district_id, user.id, "password")
    response: Response
    if next_url:
        # Straight on to the app when the sign-in came from an authorization request
        # (web.oidc.continue_authorization), else to ``next``. 303: the browser follows a
        # POST's redirect with a GET (RFC 9110 §15.4.4).
        onward = continue_authorization(request, next_url, session) or next_url
        response = RedirectResponse(onward, status_code=303)
    else:
        response = render(
            request,
            "oidc/message.html",
            {"title": "Signed in", "message": f"You are signed in as {user.name}."},
        )
    container.session_cookie.write(response, session.id)
    return response
