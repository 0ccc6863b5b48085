"""``homeroom upstream add|list|remove`` as a real subprocess: the secret comes from stdin
and is never printed; bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

from homeroom.config import load_settings
from homeroom.errors import NotFound
from homeroom.secrets import ADMIN
from homeroom.wiring import build
from tests.conftest import SqlTarget
from tests.functional.test_cli import env as env  # the fixture, re-exported
from tests.functional.test_cli import one_line_error, run


def stored_secret(env: dict[str, str], idp_id: str) -> bytes | None:
    """The IdP's client secret as the secret store holds it (None once removed)."""
    container = build(load_settings(env=env))
    try:
        ref = container.secrets.ref(f"upstream-{idp_id}-client-secret")  # type: ignore[attr-defined]
        try:
            return container.secret_store.get(ADMIN, ref).value
        except NotFound:
            return None
    finally:
        container.close()


def test_add_list_remove(env: dict[str, str], sql_target: SqlTarget, tmp_path: Path) -> None:
    assert (
        run(env, "district", "create", "--slug", "alpha", "--name", "Alpha Unified").returncode == 0
    )
    added = run(
        env,
        "upstream",
        "add",
        "--district",
        "alpha",
        "--name",
        "Alpha Google",
        "--issuer",
        "https://accounts.google.com",
        "--client-id",
        "123.apps.googleusercontent.com",
        "--client-secret-file",
        "-",
        "--json",
        stdin="GOCSPX-very-secret\n",
    )
    assert added.returncode == 0, added.stderr
    body = json.loads(added.stdout)
    assert body["redirect_uri"].endswith("/d/alpha/upstream/callback")
    assert "GOCSPX" not in added.stdout + added.stderr
    listed = run(env, "upstream", "list", "--district", "alpha", "--json")
    [row] = json.loads(listed.stdout)["upstream_idps"]
    assert row["id"] == body["id"] and row["match"] == "email" and row["claim"] == "email"
    assert "GOCSPX" not in listed.stdout
    assert stored_secret(env, body["id"]) == b"GOCSPX-very-secret"
    removed = run(env, "upstream", "remove", "--district", "alpha", body["id"])
    assert removed.returncode == 0, removed.stderr
    assert json.loads(run(env, "upstream", "list", "--district", "alpha", "--json").stdout) == {
        "upstream_idps": []
    }
    assert stored_secret(env, body["id"]) is None


def test_bad_input_is_one_line(env: dict[str, str]) -> None:
    assert (
        run(env, "district", "create", "--slug", "alpha", "--name", "Alpha Unified").returncode == 0
    )
    bad = run(
        env,
        "upstream",
        "add",
        "--district",
        "alpha",
        "--name",
        "X",
        "--issuer",
        "ftp://idp.example",
        "--client-id",
        "c",
        "--client-secret-file",
        "-",
        stdin="s\n",
    )
    assert "issuer" in one_line_error(bad)
    gone = run(env, "upstream", "remove", "--district", "alpha", "idp_nope")
    assert "not found" in one_line_error(gone)
