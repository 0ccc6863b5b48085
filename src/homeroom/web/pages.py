"""Server-rendered pages (Jinja2, autoescaped) with CSRF tokens and strict headers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from homeroom.web.csrf import CsrfProtector

__all__ = ["csrf_of", "form_source", "render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# The templates ship inside the package and change only with a new release: no stat() of
# each template file (and its base) on every render to see whether it changed on disk.
templates.env.auto_reload = False

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def csrf_of(request: Request) -> CsrfProtector:
    """The process's CSRF protector (key from the secret source, built once)."""
    state = request.app.state
    protector: CsrfProtector | None = getattr(state, "csrf", None)
    if protector is None:
        container = state.container
        protector = CsrfProtector(
            container.secrets.get_or_create("csrf-key"), container.session_cookie.secure
        )
        state.csrf = protector
    return protector


def form_source(uri: str) -> str | None:
    """The CSP source expression for a (registered, already validated) redirect URI.

    CSP 3 ``form-action`` also governs the redirects that follow a form submission, so a
    sign-in form whose POST ends, through ``/authorize``, at the app's redirect URI must list
    that URI's origin, or Chromium blocks the last hop."""
    parts = urlsplit(uri)
    if any(c.isspace() or c in ";,'" for c in uri) or not parts.scheme:
        return None
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None
    return f"{parts.scheme}:"


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    csrf: bool = False,
    form_targets: Sequence[str] = (),
) -> Response:
    cookie_value: str | None = None
    if csrf:
        cookie_value, context["csrf_token"] = csrf_of(request).issue(request)
    headers = _PAGE_HEADERS
    sources = [s for s in (form_source(t) for t in form_targets) if s]
    if sources:
        csp = headers["Content-Security-Policy"].replace(
            "form-action 'self'", "form-action 'self' " + " ".join(sorted(set(sources)))
        )
        headers = {**headers, "Content-Security-Policy": csp}
    response = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
    if cookie_value is not None:
        csrf_of(request).set_cookie(response, cookie_value)
    return response
