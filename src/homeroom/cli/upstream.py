"""``homeroom upstream``: a district's own OpenID Provider (Google, Microsoft, another IdP).

The client secret is read from a file (``-`` for stdin) or a hidden prompt, stored in the
secret store, and never printed, logged or written to the district settings.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from homeroom.errors import InvalidInput

__all__ = ["upstream_app"]

upstream_app = typer.Typer(
    help="Upstream identity providers per district: add, list, remove.", no_args_is_help=True
)

DistrictOpt = Annotated[str, typer.Option("--district", help="District slug.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _read_secret(source: Path | None) -> str:
    if source is None:
        value = str(typer.prompt("Client secret", hide_input=True))
    elif str(source) == "-":
        value = sys.stdin.readline()
    else:
        try:
            value = source.read_text()
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    value = value.strip()
    if not value:
        raise InvalidInput("the client secret is empty")
    return value


@upstream_app.command("add")
def add(
    district: DistrictOpt,
    name: Annotated[str, typer.Option(help='Button label: "Sign in with <name>".')],
    issuer: Annotated[str, typer.Option(help="The IdP's issuer URL (discovery is read from it).")],
    client_id: Annotated[str, typer.Option("--client-id", help="Homeroom's client_id at the IdP.")],
    match: Annotated[
        str, typer.Option(help="Roster field to match: email or sis_id (the SIS sourced_id).")
    ] = "email",
    claim: Annotated[
        str | None,
        typer.Option(help="ID token claim holding the value (default: same as --match)."),
    ] = None,
    client_secret_file: Annotated[
        Path | None,
        typer.Option("--client-secret-file", help="File holding the client secret; - for stdin."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an upstream IdP and turn on the "upstream" login method of the district."""
    from homeroom.cli.main import emit, state

    container = state.container()
    found = container.roster_admin.district(district)
    secret = _read_secret(client_secret_file)
    idp = container.upstream_idps.add(
        found,
        name=name,
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        match=match,
        claim=claim,
    )
    callback = f"{container.settings.issuer}/d/{found.slug}/upstream/callback"
    emit(
        {"id": idp.id, "name": idp.name, "issuer": idp.issuer, "redirect_uri": callback},
        as_json,
        f"added {idp.id} ({idp.name}); register this redirect URI at the IdP: {callback}",
    )


@upstream_app.command("list")
def list_(district: DistrictOpt, as_json: JsonOpt = False) -> None:
    """The district's upstream IdPs (never their secrets)."""
    from homeroom.cli.main import emit, state

    container = state.container()
    idps = container.upstream_idps.all(container.roster_admin.district(district))
    rows = [
        {
            "id": i.id,
            "name": i.name,
            "issuer": i.issuer,
            "client_id": i.client_id,
            "match": i.match,
            "claim": i.claim,
        }
        for i in idps
    ]
    human = "\n".join(
        f"{r['id']}  {r['name']}  {r['issuer']}  match={r['match']}({r['claim']})" for r in rows
    )
    emit({"upstream_idps": rows}, as_json, human or "no upstream identity providers")


@upstream_app.command("remove")
def remove(
    district: DistrictOpt,
    idp_id: Annotated[str, typer.Argument(help="The id shown by 'upstream list'.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove an upstream IdP and forget its client secret."""
    from homeroom.cli.main import emit, state

    container = state.container()
    container.upstream_idps.remove(container.roster_admin.district(district), idp_id)
    emit({"removed": idp_id}, as_json, f"removed {idp_id}")
