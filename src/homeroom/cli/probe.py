"""``homeroom probe --url U``: sign in as a probe user and log in to a probe app, end to end.

Exit 0 when every step passed; 1 with one line naming the failed step otherwise (in
continuous mode: the last run's result, once ``--max-runs`` is reached). Secrets come from
the environment (``PROBE_PASSWORD``, ``PROBE_CLIENT_SECRET``) or ``--demo``, never from
arguments that ``ps`` would show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homeroom.wiring import Container

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from homeroom.ops.probe import STEPS, ProbeConfig, ProbeMetrics, ProbeReport, run_probe

__all__ = ["probe_app"]

probe_app = typer.Typer(
    help="End-to-end login probe: portal sign-in, then an app's OIDC login.",
    invoke_without_command=True,
    no_args_is_help=False,
)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _demo_config(container: Container) -> dict[str, str]:
    """The demo's sign-in and app registration, its client secret resolved from the store."""
    from homeroom.demo import demo_app_credentials

    path = container.settings.data_dir / "demo-app.json"
    try:
        data = demo_app_credentials(container)
        if data is None:
            raise OSError("not found")
        return {
            "district": data["district_slug"],
            "username": data["student_username"],
            "password": data["student_password"],
            "client_id": data["app_client_id"],
            "client_secret": data["app_client_secret"],
            "redirect_uri": data["app_redirect_uri"],
        }
    except (OSError, ValueError, KeyError) as exc:
        raise typer.BadParameter(f"--demo needs {path} from 'homeroom demo' ({exc})") from None


def _table(report: ProbeReport) -> Table:
    table = Table(title="homeroom probe", show_lines=False)
    table.add_column("step")
    table.add_column("result")
    table.add_column("ms", justify="right")
    table.add_column("detail", overflow="fold")
    ran = {s.name: s for s in report.steps}
    for name in STEPS:
        step = ran.get(name)
        if step is None:
            table.add_row(name, "[dim]not run[/dim]", "", "")
            continue
        verdict = "[green]pass[/green]" if step.ok else "[red]FAIL[/red]"
        table.add_row(name, verdict, f"{step.seconds * 1000:.1f}", step.detail)
    return table


@probe_app.callback()
def probe(
    url: Annotated[str, typer.Option(help="Base URL (issuer) of the deployment.")],
    district: Annotated[str, typer.Option(help="District slug of the probe user.")] = "",
    username: Annotated[str, typer.Option(help="Probe user's sign-in name.")] = "",
    client_id: Annotated[str, typer.Option(help="The probe app's client_id.")] = "",
    redirect_uri: Annotated[str, typer.Option(help="The probe app's redirect URI.")] = "",
    password: Annotated[
        str, typer.Option(envvar="PROBE_PASSWORD", hidden=True, show_default=False)
    ] = "",
    client_secret: Annotated[
        str, typer.Option(envvar="PROBE_CLIENT_SECRET", hidden=True, show_default=False)
    ] = "",
    demo: Annotated[
        bool, typer.Option("--demo", help="Use the demo district's student and demo app.")
    ] = False,
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="HOMEROOM_DATA_DIR", help="Where 'homeroom demo' wrote demo-app.json (--demo)."
        ),
    ] = Path("var"),
    portal_path: Annotated[
        str, typer.Option(help="Portal page with the sign-in form (the students' path).")
    ] = "/d/{district}",
    timeout: Annotated[float, typer.Option(help="Seconds per HTTP call.")] = 10.0,
    interval: Annotated[float, typer.Option(help="Run every N seconds (0 = once).", min=0)] = 0.0,
    max_runs: Annotated[int, typer.Option(help="Stop after N runs (0 = forever).", min=0)] = 0,
    metrics_port: Annotated[
        int, typer.Option(help="Serve the probe's metrics on this port (0 = off).")
    ] = 0,
    textfile: Annotated[
        Path | None, typer.Option(help="Write the probe's metrics to this file after each run.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per run.")] = False,
) -> None:
    """Sign in through the portal and complete an app login (authorize → token → ID token
    → userinfo), reporting each step's latency."""
    values = {
        "district": district,
        "username": username,
        "password": password,
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
    }
    if demo:
        from homeroom.config import load_settings
        from homeroom.wiring import build

        demo_container = build(load_settings(data_dir=str(data_dir)))
        try:
            demo_values = _demo_config(demo_container)
        finally:
            demo_container.close()
        values = {k: v or demo_values[k] for k, v in values.items()}
    required = ("district", "username", "password", "client_id", "redirect_uri")
    missing = [k for k in required if not values[k]]
    if missing:
        raise typer.BadParameter(
            "missing " + ", ".join(missing) + " (options, PROBE_PASSWORD, or --demo)"
        )
    config = ProbeConfig(
        url=url.rstrip("/"),
        district=values["district"],
        username=values["username"],
        password=values["password"],
        client_id=values["client_id"],
        client_secret=values["client_secret"] or None,
        redirect_uri=values["redirect_uri"],
        portal_path=portal_path,
        timeout_s=timeout,
    )
    metrics = ProbeMetrics()
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, registry=metrics.registry)
    runs = 0
    while True:
        report = run_probe(config)
        runs += 1
        metrics.record(report)
        if textfile is not None:
            from prometheus_client import write_to_textfile

            write_to_textfile(str(textfile), metrics.registry)
        if as_json:
            sys.stdout.write(json.dumps(report.to_dict(), sort_keys=True) + "\n")
            sys.stdout.flush()
        else:
            out.print(_table(report))
        failed = report.failed
        if failed is not None:
            err.print(
                f"probe failed at step '{failed.name}': {failed.detail}",
                markup=False,
                highlight=False,
            )
        if not interval or (max_runs and runs >= max_runs):
            break
        time.sleep(interval)
    if not report.ok:
        raise typer.Exit(1)
