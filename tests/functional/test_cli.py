"""The command line, run as a real subprocess: output contracts and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SqlTarget


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeroom", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(sql_target: SqlTarget, tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    e.update(
        HOMEROOM_DATA_DIR=str(tmp_path / "data"),
        HOMEROOM_DATABASE_URL=sql_target.url,
        HOMEROOM_MIGRATE_DATABASE_URL=sql_target.owner_url,
        HOMEROOM_LOG_JSON="true",
    )
    if sql_target.app_role:
        e["HOMEROOM_APP_DB_ROLE"] = sql_target.app_role
    return e


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_full_admin_flow_with_json(env: dict[str, str]) -> None:
    assert run(env, "migrate").returncode == 0
    d = run(env, "district", "create", "--slug", "springfield", "--name", "Springfield", "--json")
    assert d.returncode == 0, d.stderr
    district = json.loads(d.stdout)
    assert district["slug"] == "springfield" and district["id"].startswith("dst_")

    u = run(
        env,
        "user",
        "create",
        "--district",
        "springfield",
        "--username",
        "bart",
        "--role",
        "student",
        "--password-stdin",
        "--json",
        stdin="eat-my-shorts\n",
    )
    assert u.returncode == 0, u.stderr
    user = json.loads(u.stdout)
    assert user == {
        "id": user["id"],
        "district_id": district["id"],
        "username": "bart",
        "role": "student",
    }

    a = run(
        env,
        "app",
        "create",
        "--name",
        "Math Blaster",
        "--redirect-uri",
        "https://mathblaster.example/cb",
        "--redirect-uri",
        "http://127.0.0.1:9999/cb",
        "--json",
    )
    assert a.returncode == 0, a.stderr
    app = json.loads(a.stdout)
    assert app["client_id"].startswith("app_") and len(app["client_secret"]) >= 43
    assert app["redirect_uris"] == ["https://mathblaster.example/cb", "http://127.0.0.1:9999/cb"]

    p = run(
        env,
        "app",
        "create",
        "--name",
        "Spa",
        "--redirect-uri",
        "https://spa.example/cb",
        "--public",
        "--json",
    )
    assert "client_secret" not in json.loads(p.stdout)

    c = run(env, "app", "connect", "--district", "springfield", "--app", app["client_id"], "--json")
    assert c.returncode == 0, c.stderr
    assert json.loads(c.stdout)["app_id"] == app["client_id"]


def test_errors_are_one_line_with_nonzero_exit(env: dict[str, str]) -> None:
    assert run(env, "migrate").returncode == 0
    assert "not found" in one_line_error(
        run(env, "user", "create", "--district", "nowhere", "--username", "x", "--role", "student")
    )
    assert "--role" in one_line_error(
        run(env, "user", "create", "--district", "x", "--username", "x", "--role", "wizard")
    )
    assert "https" in one_line_error(
        run(env, "app", "create", "--name", "X", "--redirect-uri", "http://evil.example/cb")
    )
    assert "slug" in one_line_error(
        run(env, "district", "create", "--slug", "Bad Slug!", "--name", "x")
    )
    run(env, "district", "create", "--slug", "dup", "--name", "x")
    assert "taken" in one_line_error(run(env, "district", "create", "--slug", "dup", "--name", "x"))
    assert "HOMEROOM_PORT" in one_line_error(run({**env, "HOMEROOM_PORT": "x"}, "migrate"))
    assert "No such command" in one_line_error(run(env, "frobnicate"))


def test_demo_is_idempotent(env: dict[str, str]) -> None:
    assert run(env, "migrate").returncode == 0
    first = run(env, "demo", "--json")
    assert first.returncode == 0, first.stderr
    info = json.loads(first.stdout)
    assert info["created"] is True and info["portal_url"].endswith("/d/maplewood")
    again = json.loads(run(env, "demo", "--json").stdout)
    assert again["created"] is False and again["district_id"] == info["district_id"]
    assert "client_secret" not in first.stdout
    listing = json.loads(run(env, "district", "list", "--json").stdout)
    assert [d["slug"] for d in listing["districts"]] == ["maplewood"]


def test_help_lists_every_command(env: dict[str, str]) -> None:
    out = run(env, "--help").stdout
    for command in ("serve", "migrate", "demo", "district", "user", "app"):
        assert command in out
