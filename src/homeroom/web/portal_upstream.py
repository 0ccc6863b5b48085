"""Portal sign-in through the district's upstream IdP: start, callback, refusal pages.

``start`` sends the browser to the upstream's authorization endpoint and binds the ``state``
to this browser with a short-lived cookie (RFC 6749 §10.12: login CSRF); ``callback``
checks that cookie, lets ``UpstreamLogin`` exchange the code and validate the ID token, and
then signs the user in like any other portal method. An upstream that is down or hanging
costs one guarded timeout, then 503 + Retry-After at once while its breaker is open.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from homeroom.errors import NotFound, ServiceUnavailable
from homeroom.identity.upstream import UpstreamProtocolError, UpstreamUnmatched, district_idps
from homeroom.ops.metrics import LOGINS
from homeroom.roster.models import District
from homeroom.web.portal import (
    _container,
    _district,
    _ip,
    _not_found,
    _render,
    _see_other,
    _signed_in,
)

__all__ = ["router"]

router = APIRouter(tags=["portal"], include_in_schema=False)
STATE_COOKIE = "homeroom_upstream_state"


def _callback_url(request: Request, district: District) -> str:
    return f"{_container(request).settings.issuer}/d/{district.slug}/upstream/callback"


def _refused(
    request: Request,
    district: District,
    title: str,
    message: str,
    status: int,
    retry_after: int | None = None,
) -> Response:
    return _render(
        request,
        "upstream_refused.html",
        district,
        status_code=status,
        headers={"Retry-After": str(retry_after)} if retry_after else {},
        title=title,
        message=message,
    )


def _enabled(request: Request, slug: str) -> District | None:
    district = _district(request, slug)
    if district is None or not _container(request).portal.methods(district).upstream:
        return None
    return district


@router.get("/d/{slug}/upstream/{idp_id}/start")
def upstream_start(request: Request, slug: str, idp_id: str) -> Response:
    district = _enabled(request, slug)
    if district is None:
        return _not_found()
    container = _container(request)
    try:
        idp = container.upstream_idps.get(district, idp_id)
        url, state = container.upstream_login.start(district, idp, _callback_url(request, district))
    except NotFound:
        return _not_found()
    except ServiceUnavailable as exc:
        LOGINS.labels(method="upstream", outcome="unavailable").inc()
        return _refused(request, district, "sign_in", "upstream_unavailable", 503, exc.retry_after)
    except UpstreamProtocolError:
        LOGINS.labels(method="upstream", outcome="protocol_error").inc()
        return _refused(request, district, "sign_in", "upstream_failed", 502)
    response = _see_other(url)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=600,
        httponly=True,
        secure=container.session_cookie.secure,
        samesite="lax",  # the callback is a top-level GET from the upstream's site
        path=f"/d/{slug}/upstream",
    )
    return response


@router.get("/d/{slug}/upstream/callback")
def upstream_callback(request: Request, slug: str) -> Response:
    district = _enabled(request, slug)
    if district is None:
        return _not_found()
    container = _container(request)
    q = request.query_params
    state = q.get("state", "")
    bound = request.cookies.get(STATE_COOKIE, "")
    if q.get("error") or not q.get("code") or not state or not hmac.compare_digest(state, bound):
        # The user cancelled at the upstream, or the answer is not for this browser.
        LOGINS.labels(method="upstream", outcome="failure").inc()
        return _refused(request, district, "sign_in", "upstream_failed", 400)
    try:
        session = container.upstream_login.finish(
            district,
            district_idps(district),
            state,
            q["code"],
            _callback_url(request, district),
            _ip(request),
        )
    except UpstreamUnmatched:
        LOGINS.labels(method="upstream", outcome="unmatched").inc()
        return _refused(
            request, district, "upstream_unmatched_title", "upstream_unmatched_body", 403
        )
    except UpstreamProtocolError:
        LOGINS.labels(method="upstream", outcome="protocol_error").inc()
        return _refused(request, district, "sign_in", "upstream_failed", 400)
    except ServiceUnavailable as exc:
        LOGINS.labels(method="upstream", outcome="unavailable").inc()
        return _refused(request, district, "sign_in", "upstream_unavailable", 503, exc.retry_after)
    LOGINS.labels(method="upstream", outcome="success").inc()
    response = _signed_in(request, district, session.id)
    response.delete_cookie(STATE_COOKIE, path=f"/d/{slug}/upstream")
    return response
