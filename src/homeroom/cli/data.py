"""``homeroom data``: usage data retention, deletion on request, and data-quality checks.

Every command acts on one district (``--district``, a slug) except ``check``, which runs
over all districts unless one is named. Retention and deletion are audited in the
district's log. ``check`` exits 1 when any check fails (for cron and CI).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from homeroom.quality.checks import CheckResult, Thresholds, run_checks

__all__ = ["data_app"]

data_app = typer.Typer(
    help="Usage data: retention, deletion on request, quality checks.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@data_app.command("retention")
def retention(
    district: Annotated[str, typer.Option("--district", help="District slug.")],
    days: Annotated[
        int | None,
        typer.Option(
            "--days", min=1, help="Keep this many days (default: the district's retention)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Purge usage events (and their rollups) older than the retention."""
    from homeroom.cli.main import emit, state

    container = state.container()
    d = container.roster_admin.district(district)
    result = container.usage_data.purge(d, days, actor="cli")
    emit(
        result,
        as_json,
        f"{d.slug}: deleted {result['events_deleted']} events and "
        f"{result['rollups_deleted']} daily rollups before {result['before']}",
    )


@data_app.command("delete-user")
def delete_user(
    user_id: Annotated[str, typer.Argument(help="The student's Homeroom id (usr_…).")],
    district: Annotated[str, typer.Option("--district", help="District slug.")],
    as_json: JsonOpt = False,
) -> None:
    """Delete one student's usage data on request (events and rollups); audited."""
    from homeroom.cli.main import emit, state

    container = state.container()
    d = container.roster_admin.district(district)
    result = container.usage_data.delete_user(d, user_id, actor="cli")
    emit(
        result,
        as_json,
        f"{d.slug}: deleted {result['events_deleted']} events and "
        f"{result['rollups_deleted']} daily rollups of {user_id}",
    )


@data_app.command("check")
def check(
    district: Annotated[
        str | None, typer.Option("--district", help="District slug (default: all).")
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--day", help="Day for the volume check, YYYY-MM-DD (default: yesterday)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Freshness, volume and reconciliation of usage data; exit 1 if any check fails."""
    from homeroom.cli.main import emit, out, state
    from homeroom.errors import InvalidInput

    container = state.container()
    try:
        volume_day = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidInput("--day must be a date, YYYY-MM-DD") from None
    if district is not None:
        districts = [container.roster_admin.district(district)]
    else:
        with container.db.platform() as uow:
            districts = uow.districts.list()
    hours = container.settings.usage_freshness_hours
    results = run_checks(
        container.db,
        districts,
        Thresholds(max_age=dt.timedelta(hours=hours)),
        volume_day=volume_day,
    )
    failed = [r for r in results if r.failed]
    if as_json:
        emit({"ok": not failed, "checks": [r.as_dict() for r in results]}, True, "")
    else:
        for r in results:
            out.print(_line(r), markup=False, highlight=False)
        out.print(f"{len(failed)} failed of {len(results)} checks", markup=False)
    if failed:
        raise typer.Exit(1)


def _line(result: CheckResult) -> str:
    where = result.district + (f" {result.app_id}" if result.app_id else "")
    return f"{result.status.upper():4} {result.check:14} {where}: {result.message}"
