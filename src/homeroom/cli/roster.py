"""``homeroom roster``: import a OneRoster CSV package into a district.

An invalid package prints every problem, one per line with its location, and exits 1; the
database is unchanged. ``--json`` prints one JSON object (the summary or the problems).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from homeroom.roster.oneroster_csv import PackageInvalid

__all__ = ["roster_app"]

roster_app = typer.Typer(help="Import and inspect the roster.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)


@roster_app.command("import")
def roster_import(
    path: Annotated[Path, typer.Argument(help="OneRoster CSV package: a zip or a folder.")],
    district: Annotated[str, typer.Option(help="District slug.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Validate and import a OneRoster 1.1/1.2 CSV package (bulk or delta); all or nothing."""
    from homeroom.cli.main import emit, out, state

    container = state.container()
    target = container.roster_admin.district(district)
    show_bar = not as_json and err.is_terminal
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not show_bar,
        transient=True,
    ) as bar:
        tasks: dict[str, object] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            task = tasks.get(stage)
            if task is None:
                task = tasks[stage] = bar.add_task(stage, total=total)
            bar.update(task, completed=done, total=total)  # type: ignore[arg-type]

        try:
            result = container.roster_importer.import_package(
                target.id, path, actor="cli", progress=progress
            )
        except PackageInvalid as exc:
            if as_json:
                sys.stdout.write(
                    json.dumps(
                        {"ok": False, "issues": [i.as_dict() for i in exc.issues]},
                        sort_keys=True,
                    )
                    + "\n"
                )
            else:
                for issue in exc.issues:
                    err.print(f"{issue.severity.value}: {issue}", markup=False, highlight=False)
                errors = len(exc.issues) - sum(1 for i in exc.issues if i.severity != "error")
                err.print(
                    f"error: package rejected with {errors} error(s); nothing was imported",
                    markup=False,
                    highlight=False,
                )
            raise typer.Exit(1) from None
    data = {"ok": True, **result.as_dict()}
    lines = [f"imported {path.name} into {district} in {result.seconds:.1f}s"]
    for kind, counts in result.counts.items():
        lines.append(
            f"  {kind:<13} +{counts.created} ~{counts.updated} -{counts.deleted}"
            f" ={counts.unchanged}"
        )
    lines.append(f"  {result.events} change event(s)")
    lines += [f"  warning: {w}" for w in result.warnings]
    if not as_json:
        out.print("\n".join(lines), markup=False, highlight=False)
    else:
        emit(data, True, "")
