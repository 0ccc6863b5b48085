"""Server-rendered pages (Jinja2, autoescaped) with CSRF tokens and strict headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from homeroom.web.csrf import CsrfProtector

__all__ = ["csrf_of", "render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

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


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    csrf: bool = False,
) -> Response:
    cookie_value: str | None = None
    if csrf:
        cookie_value, context["csrf_token"] = csrf_of(request).issue(request)
    response = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=_PAGE_HEADERS
    )
    if cookie_value is not None:
        csrf_of(request).set_cookie(response, cookie_value)
    return response
