"""District-admin JSON API for rostering: what each connected app can read, and OneRoster
package upload. Thin: authorize, call ``SharingService.show`` / ``RosterImporter``, render.

Authorization: the caller's portal/provider session (the ``homeroom_session`` cookie, as
set by ``/login``) must belong to an active ``district_admin``; the district acted on is
always the session's own, so an admin of district A can neither read nor change B (B's
apps and records answer 404 like unknown ones). No session: 401; not an admin: 403.

CSRF: the upload must be sent as ``Content-Type: application/zip`` (415 otherwise). A
cross-site HTML form can only send form or text bodies, and a cross-site ``fetch`` with
this type needs a CORS preflight, which Homeroom never grants.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from homeroom.errors import InvalidInput, NotFound
from homeroom.roster.models import District, Role
from homeroom.roster.oneroster_csv.issues import PackageInvalid
from homeroom.tenancy import TenantScope
from homeroom.web.responses import JSONResponse
from homeroom.wiring import Container

__all__ = ["MAX_PACKAGE_BYTES", "DistrictAdmin", "require_district_admin", "router"]

MAX_PACKAGE_BYTES = 200 * 1024 * 1024
"""Upload cap: a large district's full OneRoster export zips to a few tens of MB."""

_JSON = {"application/json": {"schema": {"type": "object"}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No portal session", "content": _JSON},
    403: {"description": "The session's user is not a district admin", "content": _JSON},
    404: {"description": "The app is not connected to the admin's district", "content": _JSON},
}


class DistrictAdmin:
    """The signed-in district admin and their district."""

    def __init__(self, district: District, user_id: str) -> None:
        self.district = district
        self.user_id = user_id

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"


class AdminAuthError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error = status, error


def require_district_admin(request: Request) -> DistrictAdmin:
    """Sync on purpose: the session (KV) and user (SQL) reads run in the thread pool."""
    container: Container = request.app.state.container
    session_id = container.session_cookie.read(request)
    session = container.sessions.get(session_id) if session_id else None
    if session is None:
        raise AdminAuthError(401, "unauthenticated", "sign in as a district admin")
    with TenantScope(session.district_id), container.db.scoped() as uow:
        user = uow.sign_in_users.find(session.user_id)
    district = container.oidc.clients.district(session.district_id)
    if user is None or user.status != "active" or district is None:
        raise AdminAuthError(401, "unauthenticated", "sign in as a district admin")
    if user.role is not Role.DISTRICT_ADMIN:
        raise AdminAuthError(403, "forbidden", "district admins only")
    return DistrictAdmin(district, user.id)


Admin = Annotated[DistrictAdmin, Depends(require_district_admin)]
router = APIRouter(prefix="/api/v1/admin", tags=["District admin"], responses=RESPONSES)


@router.get("/sharing/{client_id}")
def sharing(request: Request, admin: Admin, client_id: str) -> JSONResponse:
    """Exactly what the app can read in the admin's district: counts per record type and
    the fields of each (the roster APIs' own conditions)."""
    container: Container = request.app.state.container
    try:
        shown = container.sharing.show(admin.district, client_id)
    except NotFound:
        return JSONResponse({"error": "not_found", "message": "app not connected"}, 404)
    return JSONResponse(shown, headers={"Cache-Control": "no-store"})


@router.post(
    "/roster/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        400: {"description": "The body is not a zip archive", "content": _JSON},
        413: {"description": "The package is larger than the cap", "content": _JSON},
        415: {"description": "The body is not application/zip", "content": _JSON},
        422: {"description": "Every error, with file, line and column", "content": _JSON},
    },
)
async def import_roster(request: Request, admin: Admin) -> JSONResponse:
    """Upload a OneRoster 1.1 CSV zip into the admin's district: the import summary, or
    (422, nothing changed) every error with its file, line and column."""
    container: Container = request.app.state.container
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/zip":
        return JSONResponse(
            {"error": "unsupported_media_type", "message": "send the zip as application/zip"},
            415,
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PACKAGE_BYTES:
        return _too_large()
    with tempfile.TemporaryDirectory(prefix="homeroom-import-") as tmp:
        path = Path(tmp) / "package.zip"
        size = 0
        with path.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_PACKAGE_BYTES:
                    return _too_large()
                fh.write(chunk)
        try:
            result = await run_in_threadpool(
                container.roster_importer.import_package,
                admin.district.id,
                path,
                actor=admin.actor,
            )
        except PackageInvalid as exc:
            return JSONResponse(
                {
                    "error": "invalid_package",
                    "message": str(exc),
                    "errors": [i.as_dict() for i in exc.errors],
                    "issues": [i.as_dict() for i in exc.issues],
                },
                422,
            )
        except InvalidInput:  # its message names the server's temporary path: not for callers
            return JSONResponse(
                {"error": "invalid_package", "message": "the body is not a zip archive"}, 400
            )
    return JSONResponse(result.as_dict())


def _too_large() -> JSONResponse:
    return JSONResponse(
        {"error": "too_large", "message": f"the package exceeds {MAX_PACKAGE_BYTES} bytes"}, 413
    )


def install(app: FastAPI) -> None:
    """The router and the renderer of its authorization errors."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AdminAuthError)
        return JSONResponse({"error": exc.error, "message": str(exc)}, exc.status)

    app.add_exception_handler(AdminAuthError, handler)
    app.include_router(router)
