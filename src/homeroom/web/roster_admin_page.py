"""District-admin page to upload a OneRoster CSV package: ``/admin/roster/import``.

The same import as ``POST /api/v1/admin/roster/import`` (one transaction, validation
first), for people rather than scripts: a form with a file field, then either the summary
(counts per record type, change events, warnings) or every error with its file, line and
column. Thin: authorize, check CSRF, hand the file to ``RosterImporter``, render.

Authorization is the admin API's (``require_district_admin``): the portal session of an
active district admin, acting on the session's own district only. No session: a redirect
to ``/login``; another role: 403. The form is CSRF-protected with the signed double-submit
token of ``web.csrf`` (a multipart form *can* be posted cross-site, unlike the API's
``application/zip`` body).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from homeroom.errors import InvalidInput
from homeroom.roster.oneroster_csv.issues import PackageInvalid
from homeroom.web.pages import csrf_of, render
from homeroom.web.roster_admin_api import (
    MAX_PACKAGE_BYTES,
    AdminAuthError,
    DistrictAdmin,
    require_district_admin,
)
from homeroom.wiring import Container

__all__ = ["PATH", "router"]

PATH = "/admin/roster/import"
TEMPLATE = "admin/roster_import.html"
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the CSRF field
router = APIRouter(include_in_schema=False)


def _admin(request: Request) -> DistrictAdmin | Response:
    try:
        return require_district_admin(request)
    except AdminAuthError as exc:
        if exc.status == 401:
            return RedirectResponse("/login?" + urlencode({"next": PATH}), 303)
        return render(request, TEMPLATE, {"forbidden": True}, status_code=403)


def _page(
    request: Request, admin: DistrictAdmin, status_code: int = 200, **context: Any
) -> Response:
    context.setdefault("message", None)
    return render(
        request,
        TEMPLATE,
        {"district_name": admin.district.name, "max_mib": MAX_PACKAGE_BYTES >> 20, **context},
        status_code=status_code,
        csrf=True,
    )


@router.get(PATH)
def import_form(request: Request) -> Response:
    admin = _admin(request)
    return admin if isinstance(admin, Response) else _page(request, admin)


@router.post(PATH)
async def import_upload(request: Request) -> Response:
    admin = await run_in_threadpool(_admin, request)
    if isinstance(admin, Response):
        return admin
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return _page(request, admin, 411, message="The upload had no length; please try again.")
    if int(declared) > MAX_PACKAGE_BYTES + _FORM_OVERHEAD:
        return _too_large(request, admin)
    async with request.form(max_files=1, max_fields=2) as form:
        if not csrf_of(request).valid(request, _text(form.get("csrf_token"))):
            return _page(request, admin, 400, message="The form expired. Please try again.")
        upload = form.get("package")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(request, admin, 400, message="Choose a OneRoster .zip file to upload.")
        with tempfile.TemporaryDirectory(prefix="homeroom-import-") as tmp:
            path = Path(tmp) / "package.zip"
            size = 0
            with path.open("wb") as fh:
                while chunk := await upload.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_PACKAGE_BYTES:
                        return _too_large(request, admin)
                    fh.write(chunk)
            return await _import(request, admin, path, upload.filename)


async def _import(request: Request, admin: DistrictAdmin, path: Path, name: str) -> Response:
    container: Container = request.app.state.container
    try:
        result = await run_in_threadpool(
            container.roster_importer.import_package, admin.district.id, path, actor=admin.actor
        )
    except PackageInvalid as exc:
        return _page(request, admin, 422, filename=name, errors=exc.errors, warnings=_warnings(exc))
    except InvalidInput:  # not a zip archive (its message names the server's temp path)
        return _page(request, admin, 400, message=f"{name} is not a zip archive.")
    summary = result.as_dict()
    return _page(request, admin, filename=name, result=summary, warnings=result.warnings)


def _warnings(exc: PackageInvalid) -> list[Any]:
    errors = set(map(id, exc.errors))
    return [i for i in exc.issues if id(i) not in errors]


def _too_large(request: Request, admin: DistrictAdmin) -> Response:
    message = f"The package is larger than {MAX_PACKAGE_BYTES >> 20} MiB."
    return _page(request, admin, 413, message=message)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
