"""``homeroom keys``: list and rotate the OpenID Provider's signing keys.

The keys are versions of ``secret://<environment>/homeroom-web/signing-key-<alg>`` in the
secret store (pending = next, current, previous = retired). Rotation publishes before it
signs: ``rotate`` tests and promotes the key that has been in the JWKS as ``next`` (refused
while it has been published for less than an hour, the longest a relying party should
cache JWKS, or while the retired key it would unpublish may still verify live tokens,
unless ``--force``), retires the current key (still published until the tokens it signed
have expired) and creates, publishes and tests a new ``next`` key. In a new production
deployment the first ``rotate`` creates the ring. ``homeroom secrets rollback <ref>``
undoes a step.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from homeroom.oidc.keys import KeyInfo

__all__ = ["keys_app"]

keys_app = typer.Typer(help="List and rotate OIDC signing keys.", no_args_is_help=True)


def _rows(infos: list[KeyInfo]) -> list[dict[str, Any]]:
    return [
        {
            "kid": i.kid,
            "alg": i.alg,
            "state": i.state,
            "ref": i.ref,
            "version": i.version,
            "created_at": i.created_at.isoformat(),
            "activated_at": i.activated_at.isoformat() if i.activated_at else None,
            "retired_at": i.retired_at.isoformat() if i.retired_at else None,
        }
        for i in infos
    ]


def show_keys(infos: list[KeyInfo], as_json: bool, title: str) -> None:
    from homeroom.cli.main import emit, out

    if as_json:
        emit({"keys": _rows(infos)}, True, "")
        return
    table = Table(title=title)
    for column in ("kid", "alg", "state", "version", "created", "activated", "retired"):
        table.add_column(column)
    order = {"next": 0, "current": 1, "retired": 2, "expired": 3}
    for row in sorted(_rows(infos), key=lambda r: (r["alg"], order.get(r["state"], 3))):
        table.add_row(
            row["kid"],
            row["alg"],
            row["state"],
            f"v{row['version']}",
            row["created_at"][:19],
            (row["activated_at"] or "")[:19],
            (row["retired_at"] or "")[:19],
        )
    out.print(table)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Show every published key (next, current, retired). Never shows key material."""
    from homeroom.cli.main import state

    show_keys(state.container().key_ring.describe(), as_json, "Signing keys")


@keys_app.command("rotate")
def keys_rotate(
    force: Annotated[
        bool,
        typer.Option("--force", help="Promote the next key even if recently published."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Promote next → current, retire current, publish a new next key (per algorithm)."""
    from homeroom.cli.main import state

    show_keys(
        state.container().key_ring.rotate(force=force), as_json, "Signing keys after rotation"
    )
