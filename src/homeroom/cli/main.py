"""``homeroom``: serve, migrate, demo, and administration.

Errors are one line on stderr and a non-zero exit: 1 for a user error (bad input, not
found, conflict), 2 for bad usage, 69 when a dependency is unavailable, 70 for a bug (the
traceback goes to the log, never to the terminal).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from homeroom.cli.badges import badges_app
from homeroom.cli.data import data_app
from homeroom.cli.keys import keys_app
from homeroom.cli.loadtest import loadtest_app
from homeroom.cli.probe import probe_app
from homeroom.cli.roster import roster_app
from homeroom.cli.secrets import secrets_app
from homeroom.cli.sharing import sharing_app
from homeroom.cli.upstream import upstream_app
from homeroom.config import Settings, load_settings
from homeroom.errors import HomeroomError, InvalidInput, ServiceUnavailable
from homeroom.ops.logging import configure_logging
from homeroom.roster.models import Role
from homeroom.secrets.setup import resolved_url
from homeroom.wiring import Container, build

__all__ = ["app", "main"]

app = typer.Typer(
    name="homeroom",
    help="Homeroom: one sign-in, rostering and usage for school districts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
district_app = typer.Typer(help="Create and list districts (tenants).", no_args_is_help=True)
user_app = typer.Typer(help="Create users in a district.", no_args_is_help=True)
apps_app = typer.Typer(help="Register apps (OAuth clients) and connect them.", no_args_is_help=True)
app.add_typer(district_app, name="district")
app.add_typer(user_app, name="user")
app.add_typer(apps_app, name="app")
app.add_typer(probe_app, name="probe")
app.add_typer(loadtest_app, name="loadtest")
app.add_typer(keys_app, name="keys")
app.add_typer(badges_app, name="badges")
app.add_typer(secrets_app, name="secrets")
app.add_typer(roster_app, name="roster")
app.add_typer(sharing_app, name="sharing")
app.add_typer(upstream_app, name="upstream")
app.add_typer(data_app, name="data")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class State:
    config: Path | None = None
    _settings: Settings | None = None
    _container: Container | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def container(self) -> Container:
        if self._container is None:
            settings = self.settings()
            # stderr, redacted; warnings only, so that errors stay one line
            configure_logging("debug" if settings.log_level == "debug" else "warning", True)
            self._container = build(settings)
        return self._container


state = State()


@app.callback()
def _root(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file.", envvar=None)
    ] = None,
) -> None:
    state.config = config


def emit(data: dict[str, Any], as_json: bool, human: str) -> None:
    """One JSON object on stdout for scripts, or a friendly line for people."""
    if as_json:
        sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")
    else:
        out.print(human)


# ------------------------------------------------------------------ serve / migrate / demo


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Run the web server (uvicorn)."""
    import uvicorn

    settings = state.settings()
    if state.config is not None:
        os.environ["HOMEROOM_CONFIG"] = str(state.config)
    n = workers or settings.workers
    _preflight_pool_budget(settings, n)
    if n > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = settings.data_dir / "metrics"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    uvicorn.run(
        "homeroom.web.app:from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=n,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        timeout_keep_alive=30,
    )


def _preflight_pool_budget(settings: Settings, workers: int) -> None:
    """Refuse to start when the pools would exceed the database's connection limit."""
    from homeroom.ops.capacity import check_pool_budget, server_max_connections
    from homeroom.storage.sql import Database

    db = Database(settings.sql_url, pool_size=1, connect_timeout_s=settings.db_connect_timeout_s)
    try:
        server_max = server_max_connections(settings, db)
    except ServiceUnavailable as exc:
        # Start anyway: /readyz keeps the workers out of rotation until the database answers.
        err.print(f"warning: connection budget not checked: {exc}", markup=False)
        return
    finally:
        db.dispose()  # the workers open their own pools
    if server_max is not None:
        check_pool_budget(settings, workers, server_max)


@app.command()
def migrate() -> None:
    """Apply database migrations (as the owner role on PostgreSQL)."""
    from homeroom.storage.sql.migrate import upgrade

    settings = state.settings()
    heads = upgrade(resolved_url(settings, "owner"), settings.app_db_role)
    out.print(f"database at revision {', '.join(heads)}")


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create the demo district (idempotent) and print how to sign in."""
    from dataclasses import asdict

    from homeroom.demo import seed_demo

    container = state.container()
    info = seed_demo(container)
    issuer = container.settings.issuer
    data = asdict(info)
    data["portal_url"] = f"{issuer}/d/{info.district_slug}"
    data["discovery_url"] = f"{issuer}/.well-known/openid-configuration"
    human = "\n".join(
        [
            f"[bold]Demo district[/bold] {info.district_slug} "
            + ("created" if info.created else "already present"),
            f"  portal:     {data['portal_url']}",
            f"  discovery:  {data['discovery_url']}",
            f"  student:    {info.student_username} / {info.student_password}"
            "  (student01 … student40)",
            f"  teacher:    {info.teacher_username} / {info.teacher_password}",
            f"  admin:      {info.admin_username} / {info.admin_password}",
            f"  demo app:   {issuer}/demo-app/  (client_id {info.app_client_id})",
            f"  badges:     {issuer}/demo/badges.pdf  (Kindergarten, student01-student10;"
            f" file {info.badge_sheet_path})",
            f"  one badge:  {issuer}/demo/badge.png  (student01: show it to the camera"
            f" at {data['portal_url']}/badge, or upload it there)",
        ]
    )
    data.pop("app_client_secret")
    emit(data, as_json, human)


# ------------------------------------------------------------------ district / user / app


@district_app.command("create")
def district_create(
    slug: Annotated[str, typer.Option(help="URL name, e.g. 'springfield'.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a district."""
    district = state.container().roster_admin.create_district(slug, name)
    emit(
        {"id": district.id, "slug": district.slug, "name": district.name},
        as_json,
        f"created district {district.slug} ({district.id})",
    )


@district_app.command("list")
def district_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """List districts."""
    with state.container().db.platform() as uow:
        districts = uow.districts.list()
    if as_json:
        emit(
            {"districts": [{"id": d.id, "slug": d.slug, "name": d.name} for d in districts]},
            True,
            "",
        )
        return
    for d in districts:
        out.print(f"{d.slug}\t{d.id}\t{d.name}")


@user_app.command("create")
def user_create(
    district: Annotated[str, typer.Option(help="District slug.")],
    username: Annotated[str, typer.Option(help="Sign-in name, unique in the district.")],
    role: Annotated[Role, typer.Option(help="Role.", case_sensitive=False)],
    given_name: Annotated[str, typer.Option(help="Given name.")] = "",
    family_name: Annotated[str, typer.Option(help="Family name.")] = "",
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    grade: Annotated[str | None, typer.Option(help="Grade (students), e.g. KG, 03.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a user. Passwords are read from stdin, never from arguments."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    user = state.container().roster_admin.create_user(
        district,
        username=username,
        role=role,
        given_name=given_name,
        family_name=family_name,
        email=email,
        grade=grade,
        password=password,
    )
    emit(
        {
            "id": user.id,
            "district_id": user.district_id,
            "username": user.username,
            "role": user.role.value,
        },
        as_json,
        f"created {user.role.value} {user.username} ({user.id})",
    )


@apps_app.command("create")
def app_create(
    name: Annotated[str, typer.Option(help="App name shown on the launchpad.")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="Allowed redirect URI (repeatable).")
    ],
    public: Annotated[
        bool, typer.Option("--public", help="Public client (no secret; PKCE required).")
    ] = False,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="Allowed logout return URI."),
    ] = None,
    initiate_login_uri: Annotated[
        str | None, typer.Option(help="Third-party initiated login URI.")
    ] = None,
    backchannel_logout_uri: Annotated[
        str | None, typer.Option(help="Back-channel logout URI.")
    ] = None,
    id_token_alg: Annotated[str, typer.Option(help="ES256 (default) or RS256.")] = "ES256",  # noqa: S107
    jwks_file: Annotated[
        Path | None,
        typer.Option(help="JWK Set of the app's public keys: private_key_jwt, no secret."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Register an app. The client secret is printed once and never stored in clear."""
    jwks = None
    if jwks_file is not None:
        try:
            jwks = json.loads(jwks_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"--jwks-file: {exc}") from None
    new = state.container().apps.create_app(
        name,
        redirect_uri,
        public=public,
        post_logout_redirect_uris=post_logout_redirect_uri,
        initiate_login_uri=initiate_login_uri,
        backchannel_logout_uri=backchannel_logout_uri,
        id_token_alg=id_token_alg,
        jwks=jwks,
    )
    data: dict[str, Any] = {
        "client_id": new.app.id,
        "name": new.app.name,
        "redirect_uris": list(new.app.redirect_uris),
        "token_endpoint_auth_method": new.app.token_endpoint_auth_method,
    }
    if new.client_secret is not None:
        data["client_secret"] = new.client_secret
    human = f"created app {new.app.name}\n  client_id:     {new.app.id}"
    if new.client_secret:
        human += f"\n  client_secret: {new.client_secret}  (shown once; store it now)"
    emit(data, as_json, human)


@apps_app.command("connect")
def app_connect(
    district: Annotated[str, typer.Option(help="District slug.")],
    app_id: Annotated[str, typer.Option("--app", help="The app's client_id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Connect an app to a district (whole district, basic profile fields)."""
    container = state.container()
    target = container.roster_admin.district(district)
    connection = container.apps.connect(target, app_id)
    emit(
        {
            "district_id": connection.district_id,
            "app_id": connection.app_id,
            "scope_mode": connection.scope_mode.value,
            "field_groups": [g.value for g in connection.field_groups],
        },
        as_json,
        f"connected {app_id} to {district}",
    )


# ------------------------------------------------------------------ entry point


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _crash_log(exc: BaseException) -> Path:
    """Write the traceback of a bug to a file, so the terminal gets one line only."""
    import tempfile
    import traceback

    fd, name = tempfile.mkstemp(prefix="homeroom-crash-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    return Path(name)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning every error into one line."""
    code: Any = 0
    try:
        code = app(args=argv, standalone_mode=False)
    except (typer.Abort, click.exceptions.Abort):
        err.print("aborted")
        code = 130
    except (typer.Exit, click.exceptions.Exit) as exc:
        code = exc.exit_code
    except (typer.exceptions.TyperException, click.ClickException) as exc:
        formatter = getattr(exc, "format_message", None)
        message = formatter() if callable(formatter) else str(exc)
        err.print(f"error: {_one_line(str(message))}", markup=False, highlight=False)
        code = 2
    except ServiceUnavailable as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        code = 69
    except HomeroomError as exc:
        err.print(f"error: {_one_line(str(exc))}", markup=False, highlight=False)
        code = 1
    except Exception as exc:  # a bug: one line here, the traceback in a file
        path = _crash_log(exc)
        err.print(
            f"error: internal error ({type(exc).__name__}); details in {path}",
            markup=False,
            highlight=False,
        )
        code = 70
    finally:
        if state._container is not None:
            state._container.close()
    sys.exit(code if isinstance(code, int) else 0)
