"""The sign-in page: ``/login?district=<slug>&next=<local URL>&username=<hint>``.

A plain username/password form for now; the portal (badges, upstream IdPs) creates sessions
the same way (``sessions.start`` + ``session_cookie.write``). The form is CSRF-protected,
errors are generic (no hint whether the district, the user or the password was wrong),
every POST counts against the per-address rate limit and repeated failures lock the account
for that address for a while (``identity.lockout`` on ``ops.ratelimit``, the same guard as
the portal's sign-in), both 429 + Retry-After, argon2id runs in a worker thread, and
``next`` is a same-origin path only (never an open redirect).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from homeroom.audit.models import AuditEvent
from homeroom.errors import RateLimited
from homeroom.identity.lockout import SignInLocked
from homeroom.ops.metrics import LOGINS
from homeroom.web.pages import csrf_of, render
from homeroom.wiring import Container

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)
GENERIC_ERROR = "That sign-in did not work. Check your district, username and password."
THROTTLED_ERROR = "Too many sign-in attempts. Please wait a few minutes and try again."


def safe_next(value: str | None) -> str | None:
    """A local path to continue to, or None. Refuses absolute and scheme-relative URLs
    (``//evil.example``), backslash tricks and control characters."""
    if not value or len(value) > 4096 or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or any(ord(c) < 0x20 or c == "\\" for c in value):
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


@router.get("/login")
def login_form(request: Request) -> Response:
    q = request.query_params
    return _page(
        request,
        district=q.get("district", ""),
        username=q.get("username", ""),
        next_url=safe_next(q.get("next")) or "",
    )


@router.post("/login")
async def login_submit(request: Request) -> Response:
    container: Container = request.app.state.container
    form = await request.form()
    field = {k: v for k, v in form.items() if isinstance(v, str)}
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
        return again("Your sign-in form expired. Please try again.", 400)
    district = container.oidc.clients.district_by_slug(district_slug)
    district_id = None if district is None else district.id
    ip = request.client.host if request.client else "-"
    lockout = container.sign_in_lockout

    try:
        await run_in_threadpool(lockout.admit, district_id, username, ip)
    except RateLimited as refused:
        outcome = "locked" if isinstance(refused, SignInLocked) else "rate_limited"
        LOGINS.labels(method="password", outcome=outcome).inc()
        refusal = again(THROTTLED_ERROR, 429)
        refusal.headers.update(refused.headers)
        return refusal
    user = await run_in_threadpool(
        container.password_login.verify, district_id, username, field.get("password", "")
    )
    if user is None:
        await run_in_threadpool(lockout.failed, district_id, username, ip)
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
        await run_in_threadpool(container.audit_trail.record, district_id, failure)
        return again(GENERIC_ERROR, 401)
    LOGINS.labels(method="password", outcome="success").inc()
    success = AuditEvent(
        actor=f"user:{user.id}",
        action="signin.success",
        target_type="user",
        target_id=user.id,
        ip=ip,
        detail={"method": "password"},
    )
    await run_in_threadpool(container.audit_trail.record, user.district_id, success)
    await run_in_threadpool(lockout.succeeded, district_id, username, ip)
    old = container.session_cookie.read(request)
    if old:
        await run_in_threadpool(container.sessions.end, old)  # no session fixation
    session = await run_in_threadpool(
        container.sessions.start, user.district_id, user.id, "password"
    )
    response: Response
    if next_url:
        response = RedirectResponse(next_url, status_code=303)
    else:
        response = render(
            request,
            "oidc/message.html",
            {"title": "Signed in", "message": f"You are signed in as {user.name}."},
        )
    container.session_cookie.write(response, session.id)
    return response
