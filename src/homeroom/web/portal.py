"""The district portal over HTTP: parse, call ``PortalService``, render a template.

Most handlers are plain ``def``: Starlette runs them in its threadpool, so QR decoding and
the like never block the event loop. The pages every sign-in crosses (sign-in page and
form, badge page, scanned badge, launchpad) are hot paths instead (:func:`hot_routes`):
their few reads run where ``web.hot.blocking`` puts them, and the form's argon2 runs on the
hasher's bounded pool. Every page of ``/d/<slug>`` shows one district only; an
unknown slug is the same bare 404 as a malformed one.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, FastAPI, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.requests import Request

from homeroom.errors import InvalidInput, NotFound, PermissionDenied
from homeroom.identity.badges import PAYLOAD_MARK
from homeroom.identity.password_login import Candidate
from homeroom.identity.sessions import Session
from homeroom.oidc.logout import send_backchannel
from homeroom.ops.metrics import LOGINS
from homeroom.portal.errors import SignInFailed, SignInThrottled
from homeroom.portal.i18n import Catalogue, negotiate
from homeroom.portal.printing import PRINTER_ROLES, PrintTarget
from homeroom.portal.qr_decode import MAX_UPLOAD_BYTES, read_qr_texts
from homeroom.roster.models import District, Role, User
from homeroom.tenancy import Capability
from homeroom.tenancy.rights import district_allows
from homeroom.web.csrf import CSRF_FIELD
from homeroom.web.forms import BodyTooLarge, MalformedForm, urlencoded_fields
from homeroom.web.hot import HotRoute, blocking
from homeroom.web.pages import csrf_of
from homeroom.wiring import Container

__all__ = ["hot_routes", "install", "router"]

router = APIRouter(tags=["portal"], include_in_schema=False)

_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "portal" / "templates"))
_TEMPLATES.env.auto_reload = False  # packaged templates, as in web.pages
_STATIC_DIR = Path(__file__).parent / "static"
_STATIC = {str(p.relative_to(_STATIC_DIR)): p for p in _STATIC_DIR.rglob("*") if p.is_file()}
LANG_COOKIE = "homeroom_lang"
MAX_BADGE_FORM_BYTES = 8 * 1024  # a payload (under 200 characters) and a CSRF token
# A username (255), a password (1,024) and a CSRF token, percent-encoded UTF-8 at worst.
MAX_SIGNIN_FORM_BYTES = 16 * 1024
MAX_PAYLOAD_CHARS = 2048  # longer is no badge
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_NOT_FOUND = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Not found</title>'
    "<h1>Not found</h1></html>"
)


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _not_found() -> HTMLResponse:
    return HTMLResponse(_NOT_FOUND, status_code=404, headers={"Cache-Control": "no-store"})


def _district(request: Request, slug: str) -> District | None:
    try:
        return _container(request).portal.district(slug)
    except NotFound:
        return None


def _page_district(request: Request, slug: str) -> District | None:
    """The district of a page that only shows things (cached: ``PortalService.page_district``)."""
    try:
        return _container(request).portal.page_district(slug)
    except NotFound:
        return None


def _session(request: Request) -> Session | None:
    """The browser's portal session, if its cookie names a live one."""
    container = _container(request)
    session_id = container.session_cookie.read(request)
    return container.sessions.get(session_id) if session_id else None


def _viewer(request: Request, district: District) -> User | None:
    return _container(request).portal.session_user(district, _session(request))


def _signed_in_page(request: Request, slug: str) -> tuple[District, User] | Response:
    """The district (read fresh: these pages act) and the signed-in user of a page behind
    the portal session: an unknown district is the bare 404, a missing or foreign session
    goes back to the sign-in page."""
    district = _district(request, slug)
    if district is None:
        return _not_found()
    user = _viewer(request, district)
    if user is None:
        return _see_other(f"/d/{slug}")
    return district, user


def _render(
    request: Request,
    template: str,
    district: District,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    container = _container(request)
    chosen = request.query_params.get("lang")
    lang = negotiate(
        request.headers.get("accept-language"), chosen or request.cookies.get(LANG_COOKIE)
    )
    cookie_value, token = csrf_of(request).issue(request)
    response = _TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "t": Catalogue(lang),
            "lang": lang,
            "district": district,
            "csrf_field": CSRF_FIELD,
            "csrf": token,
            "base": f"/d/{district.slug}",
            "payload_mark": PAYLOAD_MARK,
            **context,
        },
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Language": lang,
            **(headers or {}),
        },
    )
    secure = container.session_cookie.secure
    csrf_of(request).set_cookie(response, cookie_value)
    if chosen in ("en", "es"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure)
    return response


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _signed_in(request: Request, district: District, session_id: str) -> Response:
    """Replace whatever session the browser had (a shared Chromebook: the previous child's
    session ends here, not at its timeout) and go to the launchpad."""
    container = _container(request)
    previous = container.session_cookie.read(request)
    if previous and previous != session_id:
        container.sessions.end(previous)
    response = _see_other(f"/d/{district.slug}/apps")
    container.session_cookie.write(response, session_id)
    return response


# --------------------------------------------------------------------------- static


@router.get("/static/{path:path}")
def static(path: str) -> Response:
    """Packaged static files only (an allow-list built at import: no path traversal)."""
    file = _STATIC.get(path)
    if file is None:
        return Response("not found", status_code=404, media_type="text/plain")
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return Response(
        file.read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# --------------------------------------------------------------------------- sign-in


async def portal_home(request: Request) -> Response:
    """The district's sign-in page, or the launchpad for a browser already signed in (a hot
    path: every teacher's morning starts here)."""
    slug: str = request.path_params["slug"]

    def page() -> Response:
        district = _page_district(request, slug)
        if district is None:
            return _not_found()
        if _viewer(request, district) is not None:
            return _see_other(f"/d/{slug}/apps")
        return _render(
            request,
            "signin.html",
            district,
            methods=_container(request).portal.methods(district),
            signed_out=request.query_params.get("signed_out") == "1",
        )

    return await blocking(_container(request), page)


def _refused(
    request: Request,
    district: District,
    template: str,
    method: str,
    exc: SignInFailed | SignInThrottled,
) -> HTMLResponse:
    """The friendly page again: 401, or 429 with Retry-After when the sign-in guard
    (``identity.lockout``, shared with the provider's ``/login``) refused the attempt."""
    throttled = isinstance(exc, SignInThrottled)
    outcome = exc.reason if isinstance(exc, SignInThrottled) else "bad_credentials"
    LOGINS.labels(method=method, outcome=outcome).inc()
    return _render(
        request,
        template,
        district,
        status_code=429 if throttled else 401,
        headers=exc.headers if isinstance(exc, SignInThrottled) else {},
        methods=_container(request).portal.methods(district),
        error="error_throttled" if throttled else "error_generic",
    )


def _csrf_refused(
    request: Request, district: District, method: str, token: str, template: str, **context: Any
) -> Response | None:
    """The form again with the CSRF error (400, counted) when ``token`` is not this
    browser's; None when it is."""
    if csrf_of(request).valid(request, token):
        return None
    LOGINS.labels(method=method, outcome="csrf").inc()
    return _render(request, template, district, status_code=400, error="error_csrf", **context)


async def _form_fields(request: Request, max_bytes: int) -> dict[str, str] | Response:
    """A hot form's fields (the last of a repeated name, as a form parser keeps it), or the
    413 for a body over ``max_bytes``. A broken body is no fields: it has no CSRF token, so
    the handler shows its form again."""
    try:
        pairs = await urlencoded_fields(request, max_bytes)
    except BodyTooLarge:
        return Response("Request body too large", status_code=413, media_type="text/plain")
    except MalformedForm:
        pairs = []
    return dict(pairs)


async def password_sign_in(request: Request) -> Response:
    """The sign-in form (a hot path). Three steps, so that the event loop never runs argon2
    and no request thread waits for it: the guard and the account's one read (where
    ``web.hot.blocking`` puts storage work), the verification on the hasher's bounded pool,
    then the audit event and the session. A body too large for the form is 413; a broken
    one has no CSRF token and gets the form again."""
    slug: str = request.path_params["slug"]
    fields = await _form_fields(request, MAX_SIGNIN_FORM_BYTES)
    if isinstance(fields, Response):
        return fields
    username, password = fields.get("username", ""), fields.get("password", "")
    container = _container(request)
    ip = _ip(request)

    def before() -> Response | tuple[District, Candidate]:
        district = _district(request, slug)
        if district is None:
            return _not_found()
        refused = _csrf_refused(
            request,
            district,
            "password",
            fields.get("csrf_token", ""),
            "signin.html",
            methods=container.portal.methods(district),
        )
        if refused is not None:
            return refused
        try:
            return district, container.portal.password_candidate(district, username, ip)
        except (SignInFailed, SignInThrottled) as exc:
            return _refused(request, district, "signin.html", "password", exc)

    found = await blocking(container, before)
    if isinstance(found, Response):
        return found
    district, candidate = found
    ok = await container.passwords.verify_async(candidate.stored_hash, password)

    def after() -> Response:
        try:
            session = container.portal.finish_password(district, username, ip, candidate, ok)
        except SignInFailed as exc:
            return _refused(request, district, "signin.html", "password", exc)
        LOGINS.labels(method="password", outcome="success").inc()
        return _signed_in(request, district, session.id)

    return await blocking(container, after)


async def badge_page(request: Request) -> Response:
    """The page a child's QR code opens (a hot path, see :func:`hot_routes`)."""
    slug: str = request.path_params["slug"]

    def page() -> Response:
        district = _page_district(request, slug)
        if district is None or not _container(request).portal.methods(district).badge:
            return _not_found()
        return _render(request, "badge.html", district)

    return await blocking(_container(request), page)


def _badge_sign_in(request: Request, district: District, payload: str, csrf: str) -> Response:
    container = _container(request)
    refused = _csrf_refused(request, district, "badge", csrf, "badge.html")
    if refused is not None:
        return refused
    try:
        session = container.portal.sign_in_badge(district, payload, _ip(request))
    except (SignInFailed, SignInThrottled) as exc:
        return _refused(request, district, "badge.html", "badge", exc)
    LOGINS.labels(method="badge", outcome="success").inc()
    return _signed_in(request, district, session.id)


async def badge_sign_in(request: Request) -> Response:
    """The scanned payload, posted by the badge page's script (a hot path). A body too large
    to be a badge form is 413; a broken one has no CSRF token and gets the form again."""
    slug: str = request.path_params["slug"]
    fields = await _form_fields(request, MAX_BADGE_FORM_BYTES)
    if isinstance(fields, Response):
        return fields

    def sign_in() -> Response:
        district = _district(request, slug)
        if district is None or not _container(request).portal.methods(district).badge:
            return _not_found()
        payload = fields.get("payload", "")
        if len(payload) > MAX_PAYLOAD_CHARS:
            payload = ""  # no badge is that long: it fails as a bad badge
        return _badge_sign_in(request, district, payload, fields.get("csrf_token", ""))

    return await blocking(_container(request), sign_in)


@router.post("/d/{slug}/badge/photo")
def badge_photo_sign_in(
    request: Request,
    slug: str,
    photo: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    district = _district(request, slug)
    if district is None or not _container(request).portal.methods(district).badge:
        return _not_found()
    data = photo.file.read(MAX_UPLOAD_BYTES + 1)
    texts = read_qr_texts(data) if len(data) <= MAX_UPLOAD_BYTES else []
    badge_texts = [t for t in texts if PAYLOAD_MARK[1:] in t]
    if not badge_texts:
        return _render(
            request,
            "badge.html",
            district,
            status_code=400,
            error="badge_no_qr",
        )
    return _badge_sign_in(request, district, badge_texts[0], csrf_token)


# --------------------------------------------------------------------------- launchpad


async def launchpad(request: Request) -> Response:
    """The child's apps, one tile each (a hot path: every badge and portal sign-in ends
    here)."""
    slug: str = request.path_params["slug"]

    def page() -> Response:
        district = _page_district(request, slug)
        if district is None:
            return _not_found()
        container = _container(request)
        found = container.portal.session_launchpad(district, _session(request))
        if found is None:
            return _see_other(f"/d/{slug}")
        user, tiles = found
        return _render(
            request,
            "launchpad.html",
            district,
            user=user,
            tiles=tiles,
            can_print=user.role in PRINTER_ROLES and bool(district.settings.get("badge_grades")),
            can_see_usage=user.role in USAGE_ROLES
            and Capability.USAGE_READ in district_allows(district.settings),
        )

    return await blocking(_container(request), page)


def hot_routes() -> list[HotRoute]:
    """The portal pages of a back-to-school morning: the sign-in page and form, the badge
    page, the scanned badge and the launchpad. Plain Starlette routes served ahead of
    FastAPI's stack (``web.hot``), their storage work on the loop with the embedded stores
    and in the thread pool otherwise (``web.hot.blocking``), argon2 on the hasher's bounded
    pool, as ``/login`` is. The rest of the portal (photo upload, badge printing, usage)
    stays on FastAPI."""
    return [
        HotRoute("/d/{slug}", portal_home, methods=["GET"]),
        HotRoute("/d/{slug}/signin", password_sign_in, methods=["POST"]),
        HotRoute("/d/{slug}/badge", badge_page, methods=["GET"]),
        HotRoute("/d/{slug}/badge", badge_sign_in, methods=["POST"]),
        HotRoute("/d/{slug}/apps", launchpad, methods=["GET"]),
    ]


def install(app: FastAPI) -> None:
    """Mount the portal: its hot pages first, then the FastAPI router."""
    app.router.routes[0:0] = hot_routes()
    app.include_router(router)


@router.get("/d/{slug}/launch/{client_id}")
def launch(request: Request, slug: str, client_id: str) -> Response:
    found = _signed_in_page(request, slug)
    if isinstance(found, Response):
        return found
    district, user = found
    try:
        url = _container(request).portal.launch_url(district, user, client_id)
    except NotFound:
        return _not_found()
    return _see_other(url)


@router.post("/d/{slug}/logout")
def logout(
    request: Request,
    slug: str,
    background: BackgroundTasks,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """End the portal session everywhere, then tell every app that got tokens from it and
    registered a ``backchannel_logout_uri`` (Back-Channel Logout 1.0 §2.5), after the
    response so that a slow app never holds up the sign-out page."""
    district = _district(request, slug)
    if district is None:
        return _not_found()
    container = _container(request)
    if not csrf_of(request).valid(request, csrf_token):
        return _see_other(f"/d/{slug}/apps")
    session_id = container.session_cookie.read(request)
    session = container.sessions.get(session_id, touch=False) if session_id else None
    if session is not None and session.district_id == district.id:
        ended = container.portal.sign_out(session.id)
        if ended is not None and ended.apps:
            background.add_task(send_backchannel, container.oidc, ended)
    response = _see_other(f"/d/{slug}?signed_out=1")
    container.session_cookie.clear(response)
    return response


# --------------------------------------------------------------------------- badge sheets


@router.get("/d/{slug}/badges")
def badge_admin(request: Request, slug: str) -> Response:
    found = _signed_in_page(request, slug)
    if isinstance(found, Response):
        return found
    district, user = found
    if user.role not in PRINTER_ROLES:
        return _not_found()
    printing = _container(request).badge_printing
    sections = printing.sections_for(district, user)
    chosen = request.query_params.get("section")
    selected = next((s for s in sections if s.id == chosen), None)
    students = printing.students(district, user, selected.id) if selected else []
    notice = request.query_params.get("done")
    return _render(
        request,
        "badges.html",
        district,
        user=user,
        sections=sections,
        selected=selected,
        students=students,
        notice=notice if notice in ("voided", "voided_all") else None,
        is_district_admin=user.role is Role.DISTRICT_ADMIN,
    )


@router.post("/d/{slug}/badges/void")
def badge_void(
    request: Request,
    slug: str,
    user_id: Annotated[str, Form(max_length=64)] = "",
    section_id: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Void one student's badge: it stops working on the next scan."""
    found = _signed_in_page(request, slug)
    if isinstance(found, Response):
        return found
    district, viewer = found
    container = _container(request)
    if not csrf_of(request).valid(request, csrf_token):
        return _see_other(f"/d/{slug}/badges")
    try:
        container.badge_printing.void_student(district, viewer, user_id)
    except (NotFound, PermissionDenied, InvalidInput):
        return _not_found()
    query = urlencode({"section": section_id, "done": "voided"})
    return _see_other(f"/d/{slug}/badges?{query}")


@router.post("/d/{slug}/badges/void-all")
def badge_void_all(
    request: Request,
    slug: str,
    confirm: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Year end: every badge of the district stops working (district admins only)."""
    found = _signed_in_page(request, slug)
    if isinstance(found, Response):
        return found
    district, viewer = found
    container = _container(request)
    if not csrf_of(request).valid(request, csrf_token) or confirm != "yes":
        return _see_other(f"/d/{slug}/badges")
    try:
        container.badge_printing.void_all(district, viewer)
    except PermissionDenied:
        return _not_found()
    return _see_other(f"/d/{slug}/badges?done=voided_all")


@router.post("/d/{slug}/badges/print")
def badge_print(
    request: Request,
    slug: str,
    section_id: Annotated[str | None, Form(max_length=64)] = None,
    school_id: Annotated[str | None, Form(max_length=64)] = None,
    user_id: Annotated[str | None, Form(max_length=64)] = None,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    found = _signed_in_page(request, slug)
    if isinstance(found, Response):
        return found
    district, user = found
    container = _container(request)
    if not csrf_of(request).valid(request, csrf_token):
        return _see_other(f"/d/{slug}/badges")
    try:
        target = PrintTarget(section_id or None, school_id or None, user_id or None)
        pdf, _count = container.badge_printing.print_sheet(
            district, user, target, actor=f"user:{user.id}"
        )
    except (NotFound, PermissionDenied):
        return _not_found()
    except InvalidInput as exc:
        return Response(str(exc), status_code=400, media_type="text/plain")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="badges-{slug}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# --------------------------------------------------------------------------- demo files

_DEMO_FILES = {
    "badges.pdf": ("demo-badges.pdf", "application/pdf"),
    "badge.png": ("demo-badge-student01.png", "image/png"),
}


@router.get("/demo/{name}")
def demo_badge_file(request: Request, name: str) -> Response:
    """The demo's printable badges, so the README can link to them. They hold live demo
    credentials, so they are served only in the ``development`` environment."""
    settings = _container(request).settings
    entry = _DEMO_FILES.get(name)
    path = settings.data_dir / entry[0] if entry else None
    if settings.environment != "development" or path is None or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    assert entry is not None
    return Response(path.read_bytes(), media_type=entry[1], headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- usage goals

USAGE_ROLES = (Role.TEACHER, Role.DISTRICT_ADMIN)
_USAGE_NOTICES = ("created", "deleted")


def _usage_viewer(request: Request, slug: str) -> tuple[District, User] | Response:
    """The signed-in teacher or district admin; anyone else gets the portal's bare 404,
    as does a district that turned ``usage.read`` off."""
    found = _signed_in_page(request, slug)
    if isinstance(found, Response):
        return found
    district, user = found
    if user.role not in USAGE_ROLES or Capability.USAGE_READ not in district_allows(
        district.settings
    ):
        return _not_found()
    return district, user


def _usage_page(
    request: Request,
    district: District,
    user: User,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    container = _container(request)
    goals = container.usage_goals
    sections = goals.sections(district.id, user.id)
    apps = goals.apps(district.id, user.id)
    adoption = None
    if user.role is Role.DISTRICT_ADMIN:
        adoption = container.usage_data.adoption(district.id)
    notice = request.query_params.get("done")
    return _render(
        request,
        "usage.html",
        district,
        status_code=status_code,
        user=user,
        goals=goals.progress(district.id, user.id),
        sections=sections,
        section_titles={s.id: s.title for s in sections},
        apps=apps,
        adoption=adoption,
        notice=notice if notice in _USAGE_NOTICES else None,
        error=error,
        form=form or {},
    )


@router.get("/d/{slug}/usage")
def usage_page(request: Request, slug: str) -> Response:
    """Teachers: their sections' goals and each student's minutes this week."""
    found = _usage_viewer(request, slug)
    if isinstance(found, Response):
        return found
    district, user = found
    return _usage_page(request, district, user)


def _form_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("not a date") from None


@router.post("/d/{slug}/usage/goals")
def usage_goal_create(
    request: Request,
    slug: str,
    section_id: Annotated[str, Form(max_length=64)] = "",
    app_id: Annotated[str, Form(max_length=64)] = "",
    minutes_per_week: Annotated[str, Form(max_length=8)] = "",
    starts_on: Annotated[str, Form(max_length=10)] = "",
    ends_on: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    found = _usage_viewer(request, slug)
    if isinstance(found, Response):
        return found
    district, user = found
    form = {
        "section_id": section_id,
        "app_id": app_id,
        "minutes_per_week": minutes_per_week,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    if not csrf_of(request).valid(request, csrf_token):
        return _usage_page(request, district, user, 400, "error_csrf", form)
    try:
        minutes = int(minutes_per_week) if minutes_per_week.isdigit() else 0
        _container(request).usage_goals.create(
            district.id,
            user.id,
            section_id=section_id,
            app_id=app_id,
            minutes_per_week=minutes,
            starts_on=_form_date(starts_on),
            ends_on=_form_date(ends_on),
            ip=_ip(request),
        )
    except InvalidInput:
        return _usage_page(request, district, user, 400, "usage_error_invalid", form)
    except (NotFound, PermissionDenied):
        return _not_found()
    return _see_other(f"/d/{slug}/usage?done=created")


@router.post("/d/{slug}/usage/goals/delete")
def usage_goal_delete(
    request: Request,
    slug: str,
    goal_id: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    found = _usage_viewer(request, slug)
    if isinstance(found, Response):
        return found
    district, user = found
    if not csrf_of(request).valid(request, csrf_token):
        return _usage_page(request, district, user, 400, "error_csrf")
    try:
        _container(request).usage_goals.delete(district.id, user.id, goal_id, _ip(request))
    except (NotFound, PermissionDenied):
        return _not_found()
    return _see_other(f"/d/{slug}/usage?done=deleted")
