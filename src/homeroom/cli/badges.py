"""``homeroom badges``: turn badges on per grade, print sheets, void and regenerate.

Printing issues fresh badges (only keyed hashes are stored, so an old badge cannot be
printed again); the PDF is written with owner-only permissions because it holds live
credentials.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from homeroom.errors import InvalidInput
from homeroom.ids import is_id
from homeroom.portal.printing import PrintTarget
from homeroom.roster.models import District
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container

__all__ = ["badges_app"]

badges_app = typer.Typer(
    help="QR badges: enable per grade, print sheets, void, regenerate.", no_args_is_help=True
)

DistrictOpt = Annotated[str, typer.Option("--district", help="District slug.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _ctx(slug: str) -> tuple[Container, District]:
    from homeroom.cli.main import state

    container = state.container()
    return container, container.roster_admin.district(slug)


def _emit(data: dict[str, object], as_json: bool, human: str) -> None:
    from homeroom.cli.main import emit

    emit(data, as_json, human)


def _user_id(container: Container, district: District, value: str) -> str:
    """A user id, or a username resolved in the district."""
    if is_id(value, "user"):
        return value
    with TenantScope(district.id), container.db.scoped() as uow:
        user = uow.users.by_username(value)
    if user is None:
        raise InvalidInput(f"no user {value!r} in {district.slug}")
    return user.id


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


@badges_app.command("grades")
def grades(
    district: DistrictOpt,
    grade: Annotated[
        list[str] | None, typer.Argument(help="Grades with badges (none: turn badges off).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the grades whose students sign in with badges, e.g. `KG 01`."""
    container, d = _ctx(district)
    updated = container.badges.set_grades(d, grade or [], actor="cli")
    chosen = updated.settings["badge_grades"]
    _emit(
        {"district": d.slug, "badge_grades": chosen},
        as_json,
        f"badges in {d.slug}: {', '.join(chosen) if chosen else 'off'}",
    )


@badges_app.command("print")
def print_sheet(
    district: DistrictOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="PDF file to write.")],
    section: Annotated[str | None, typer.Option(help="Section id.")] = None,
    school: Annotated[str | None, typer.Option(help="School id.")] = None,
    user: Annotated[str | None, typer.Option(help="User id or username.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue fresh badges and write a letter-size sheet (earlier badges stop working)."""
    container, d = _ctx(district)
    user_id = _user_id(container, d, user) if user else None
    target = PrintTarget(section, school, user_id)
    pdf, count = container.badge_printing.print_sheet(d, None, target, actor="cli")
    _write_private(output, pdf)
    _emit(
        {"district": d.slug, "badges": count, "output": str(output)},
        as_json,
        f"printed {count} badge(s) to {output}",
    )


@badges_app.command("regenerate")
def regenerate(
    district: DistrictOpt,
    user: Annotated[str, typer.Option(help="User id or username.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PDF file to write.")],
    as_json: JsonOpt = False,
) -> None:
    """Replace one student's badge (the old one stops working) and print the new one."""
    container, d = _ctx(district)
    target = PrintTarget(user_id=_user_id(container, d, user))
    pdf, count = container.badge_printing.print_sheet(d, None, target, actor="cli")
    _write_private(output, pdf)
    _emit(
        {"district": d.slug, "badges": count, "output": str(output)},
        as_json,
        f"regenerated the badge of {user}: {output}",
    )


@badges_app.command("void")
def void(
    district: DistrictOpt,
    badge: Annotated[str | None, typer.Option(help="Badge id.")] = None,
    user: Annotated[str | None, typer.Option(help="User id or username: all their badges.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Void one badge, or every badge of one user. It stops working at once."""
    container, d = _ctx(district)
    if (badge is None) == (user is None):
        raise InvalidInput("give exactly one of --badge or --user")
    if badge is not None:
        count = int(container.badges.void(d, badge, actor="cli"))
    else:
        assert user is not None
        count = container.badges.void_user(d, _user_id(container, d, user), actor="cli")
    _emit({"district": d.slug, "voided": count}, as_json, f"voided {count} badge(s)")


@badges_app.command("void-all")
def void_all(
    district: DistrictOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: every badge stops working.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Year end: void every badge of the district."""
    if not yes:
        raise InvalidInput("void-all voids every badge of the district; add --yes to confirm")
    container, d = _ctx(district)
    count = container.badges.void_all(d, actor="cli")
    _emit({"district": d.slug, "voided": count}, as_json, f"voided {count} badge(s) in {d.slug}")
