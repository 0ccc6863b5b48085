"""``homeroom loadtest``: replay a school-day morning against a Homeroom (or any OIDC) URL.

    homeroom loadtest seed --district loadtest --users 200 --out loadtest-seed.json
    homeroom loadtest run --url http://127.0.0.1:8000 --profile back-to-school \\
        --rate 200 --duration 2m --seed-file loadtest-seed.json --fail-on "p99>50ms,errors>0"

Exit 0 when the run finished and no ``--fail-on`` threshold was breached; 3 when one was
(each breach is printed on one line); the usual one-line errors otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from homeroom.errors import InvalidInput

__all__ = ["loadtest_app"]

EXIT_THRESHOLD_BREACHED = 3

loadtest_app = typer.Typer(
    help="Load-test a deployment: seed its data, run scenarios, report and gate.",
    no_args_is_help=True,
)


@loadtest_app.command("run")
def run(
    url: Annotated[str, typer.Option(help="Base URL of the server under test.")],
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Scenario, or weighted mix 'instant_login=70,refresh=30'. Scenarios: health, "
            "instant_login, password_login, badge_login, refresh, client_credentials, "
            "roster_paging."
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(help="'back-to-school' (ramp, peak, tail) or 'steady'."),
    ] = None,
    rate: Annotated[
        float, typer.Option(help="Flows per second (the peak rate for back-to-school).")
    ] = 50.0,
    duration: Annotated[str, typer.Option(help="Run length, e.g. 30s, 5m.")] = "30s",
    closed: Annotated[
        bool,
        typer.Option(
            "--closed",
            help="Closed model: --concurrency users loop back to back (no arrival rate).",
        ),
    ] = False,
    processes: Annotated[int, typer.Option(help="Load-generating processes.")] = 1,
    concurrency: Annotated[
        int, typer.Option(help="Simulated browsers per process (max flows in flight).")
    ] = 64,
    timeout: Annotated[float, typer.Option(help="Per-request timeout, seconds.")] = 10.0,
    seed_file: Annotated[
        Path | None, typer.Option(help="Credentials file from 'homeroom loadtest seed'.")
    ] = None,
    report: Annotated[Path, typer.Option(help="Directory for report.json and report.html.")] = Path(
        "loadtest-report"
    ),
    fail_on: Annotated[
        str | None,
        typer.Option(help="Gate, e.g. 'p99>50ms,errors>0,down_minutes>0'."),
    ] = None,
    down_bucket: Annotated[
        float | None,
        typer.Option(help="Down-bucket length in seconds (default 60; 10 for runs < 2 min)."),
    ] = None,
    warmup: Annotated[
        float | None, typer.Option(help="Seconds for workers to start and sign in.")
    ] = None,
    settle: Annotated[
        str | None,
        typer.Option(
            help="Before the window, run this long (e.g. 5s) at the rate the window opens "
            "with; those flows are checked and reported apart, not in the window's figures.",
        ),
    ] = None,
    server_pid: Annotated[
        list[int] | None,
        typer.Option(
            "--server-pid",
            help="Server process id(s) on this machine: report flows per server CPU-second.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run a load test and write its report."""
    from homeroom.loadtest.runner import build_plan, execute, parse_duration
    from homeroom.loadtest.thresholds import parse_fail_on

    if scenario is None and profile is None:
        raise InvalidInput("give --scenario or --profile")
    thresholds = parse_fail_on(fail_on) if fail_on else None
    seed = None
    if seed_file is not None:
        try:
            seed = json.loads(seed_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"--seed-file {seed_file} not found") from None
        except ValueError:
            raise InvalidInput(f"--seed-file {seed_file} is not JSON") from None
    plan = build_plan(
        url=url,
        scenario=scenario,
        profile=profile,
        rate=rate,
        duration=parse_duration(duration),
        model="closed" if closed else "open",
        processes=processes,
        concurrency=concurrency,
        timeout_s=timeout,
        seed_file=seed,
        down_bucket_s=down_bucket,
        warmup_s=warmup,
        settle_s=parse_duration(settle) if settle else 0.0,
    )
    outcome = execute(plan, report, thresholds, server_pids=tuple(server_pid or ()))
    s = outcome.summary
    if as_json:
        sys.stdout.write(json.dumps({**s, "breached": outcome.breached}) + "\n")
    else:
        typer.echo(
            f"{s['flows_ok']} flows ok, {s['flows_failed']} failed; "
            f"{s['logins_per_s']} logins/s ({s['logins_per_s_window']['phase']}); "
            f"{s['down_minutes']} down bucket(s)"
        )
        settling = s["settling"]
        if settling["seconds"]:
            typer.echo(
                f"  settling {settling['seconds']:g} s before the window (not counted above): "
                f"{settling['flows_ok']} flows ok, {settling['flows_failed']} failed"
            )
        if s.get("server_cpu_s") is not None:
            typer.echo(
                f"  server CPU {s['server_cpu_s']} s: {s['flows_per_server_cpu_s']} flows "
                f"and {s['logins_per_server_cpu_s']} logins per server CPU-second"
            )
        for name, st in s["steps"].items():
            typer.echo(
                f"  {name:34} n={st['count']:<7} p50={st['p50_ms']:.1f} p95={st['p95_ms']:.1f} "
                f"p99={st['p99_ms']:.1f} max={st['max_ms']:.1f} ms"
            )
        for kind, n in list(s["errors_by_kind"].items())[:10]:
            typer.echo(f"  error {kind}: {n}")
        typer.echo(f"report: {outcome.html_path}")
    for breach in outcome.breached:
        typer.echo(f"threshold breached: {breach}", err=True)
    if outcome.breached:
        raise typer.Exit(EXIT_THRESHOLD_BREACHED)


@loadtest_app.command("seed")
def seed(
    district: Annotated[str, typer.Option(help="District slug (created if missing).")],
    users: Annotated[int, typer.Option(help="Students to create (lt-user-00001 …).")] = 100,
    out: Annotated[Path, typer.Option(help="Where to write the run's credentials.")] = Path(
        "loadtest-seed.json"
    ),
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the users' password from stdin."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create the users, badges, app and connection a load test needs; write their
    credentials."""
    import secrets

    from homeroom.cli.main import emit, state
    from homeroom.loadtest.seed import seed_loadtest

    if users < 1:
        raise InvalidInput("--users must be at least 1")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    result = seed_loadtest(
        state.container(), district=district, users=users, password=password, out=out
    )
    emit(
        {
            "file": str(result.file),
            "users_created": result.users_created,
            "users_existing": result.users_existing,
            "client_id": result.client_id,
            "badges_issued": result.badges_issued,
        },
        as_json,
        f"seeded {district}: {result.users_created} users created, "
        f"{result.users_existing} already there, {result.badges_issued} badges issued; "
        f"app {result.client_id}; "
        f"credentials in {result.file}",
    )
