"""``homeroom sharing``: what a connected app may read, and changing it.

    homeroom sharing show --district S --app CLIENT_ID
    homeroom sharing set --district S --app CLIENT_ID --mode schools --school sch-oak \
        --fields basic,email --roles student,teacher --expires 2027-06-30
    homeroom sharing set ... --mode rules --rule grade=3 --rule school=sch-elm,grade=4
    homeroom sharing remove --district S --app CLIENT_ID
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from homeroom.errors import InvalidInput
from homeroom.sharing.models import FieldGroup, ScopeMode

__all__ = ["sharing_app"]

sharing_app = typer.Typer(
    help="Decide and inspect what connected apps may read.", no_args_is_help=True
)


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _rule(text: str) -> dict[str, Any]:
    """``grade=3`` or ``school=sch-elm,grade=4`` (conditions joined by commas all hold)."""
    rule: dict[str, Any] = {}
    for part in _csv(text):
        key, sep, value = part.partition("=")
        if not sep or not value.strip():
            raise InvalidInput(f"rule {text!r}: write conditions as key=value")
        rule.setdefault(key.strip(), []).append(value.strip())
    return rule


def _expiry(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--expires {value!r}: expected YYYY-MM-DD") from None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)


@sharing_app.command("show")
def sharing_show(
    district: Annotated[str, typer.Option(help="District slug.")],
    app_id: Annotated[str, typer.Option("--app", help="The app's client_id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Per record type: how many records the app can read, and which fields."""
    from homeroom.cli.main import emit, state

    container = state.container()
    info = container.sharing.show(container.roster_admin.district(district), app_id)
    lines = [
        f"{info['app_id']} in {info['district']}: {info['status']}, mode {info['mode']}"
        + ("" if info["effective"] else " (not in effect: nothing is shared)"),
        f"  field groups: {', '.join(info['field_groups'])}; roles: {', '.join(info['roles'])}",
    ]
    if info["expires_at"]:
        lines.append(f"  expires: {info['expires_at']}")
    for kind, record in info["records"].items():
        fields = ", ".join(record["fields"]) or "-"
        lines.append(f"  {kind:<13} {record['count']:>8}  fields: {fields}")
    emit(info, as_json, "\n".join(lines))


@sharing_app.command("set")
def sharing_set(
    district: Annotated[str, typer.Option(help="District slug.")],
    app_id: Annotated[str, typer.Option("--app", help="The app's client_id.")],
    mode: Annotated[ScopeMode, typer.Option(help="What part of the district is shared.")],
    school: Annotated[
        list[str] | None, typer.Option("--school", help="School id or SIS id (mode schools).")
    ] = None,
    section: Annotated[
        list[str] | None, typer.Option("--section", help="Section id or SIS id (mode sections).")
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help="Students to share (mode rules), e.g. grade=3,school=X."),
    ] = None,
    fields: Annotated[
        str, typer.Option(help="Field groups: basic, email, demographics, guardians.")
    ] = "basic",
    roles: Annotated[str, typer.Option(help="Roles shared, comma-separated.")] = "student,teacher",
    expires: Annotated[str | None, typer.Option(help="Last day of sharing, YYYY-MM-DD.")] = None,
    status: Annotated[str, typer.Option(help="active, paused or disabled.")] = "active",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Connect an app (or change its connection); unshared records become deleted events."""
    from homeroom.cli.main import emit, state

    try:
        groups = [FieldGroup(g) for g in _csv(fields)]
    except ValueError:
        raise InvalidInput(
            f"--fields {fields!r}: use basic, email, demographics, guardians"
        ) from None
    container = state.container()
    target = container.roster_admin.district(district)
    connection, changes = container.sharing.set_connection(
        target,
        app_id,
        mode=mode,
        schools=school or [],
        sections=section or [],
        rules=[_rule(r) for r in rule or []],
        field_groups=groups,
        roles=_csv(roles),
        expires_at=_expiry(expires),
        status=status,
    )
    shared = sum(c["shared"] for c in changes.values())
    unshared = sum(c["unshared"] for c in changes.values())
    emit(
        {
            "app_id": app_id,
            "mode": connection.scope_mode.value,
            "status": connection.status,
            "changes": changes,
        },
        as_json,
        f"{app_id} in {district}: mode {connection.scope_mode.value}, {connection.status}; "
        f"{shared} record(s) newly shared, {unshared} unshared",
    )


@sharing_app.command("remove")
def sharing_remove(
    district: Annotated[str, typer.Option(help="District slug.")],
    app_id: Annotated[str, typer.Option("--app", help="The app's client_id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Disconnect the app; it is sent a deleted event for every record it could read."""
    from homeroom.cli.main import emit, state

    container = state.container()
    changes = container.sharing.disconnect(container.roster_admin.district(district), app_id)
    unshared = sum(c["unshared"] for c in changes.values())
    emit(
        {"app_id": app_id, "changes": changes},
        as_json,
        f"disconnected {app_id} from {district}; {unshared} record(s) unshared",
    )
