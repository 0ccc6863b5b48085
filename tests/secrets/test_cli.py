"""``homeroom secrets`` as a real subprocess: bad input is one line, non-zero, no change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from homeroom.storage.sql import Database
from tests.conftest import SqlTarget

REF = "secret://production/billing/stripe-key"


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeroom", "secrets", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def env(sql_target: SqlTarget, tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    e.update(
        HOMEROOM_DATA_DIR=str(tmp_path / "data"),
        HOMEROOM_DATABASE_URL=sql_target.url,
        HOMEROOM_MIGRATE_DATABASE_URL=sql_target.owner_url,
    )
    if sql_target.app_role:
        e["HOMEROOM_APP_DB_ROLE"] = sql_target.app_role
    migrate = subprocess.run(
        [sys.executable, "-m", "homeroom", "migrate"], env=e, capture_output=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    return e


def history(env: dict[str, str]) -> list[dict[str, object]]:
    result = run(env, "history", REF, "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["versions"])


def test_put_get_rotate_and_exec(env: dict[str, str]) -> None:
    put = run(env, "put", REF, "--json", stdin="sk_live_1234567890\n")
    assert json.loads(put.stdout) == {
        "ref": REF,
        "version": 1,
        "bytes": 18,
        "bootstrap": False,
    }
    assert "sk_live" not in run(env, "get", REF).stdout
    assert run(env, "get", REF, "--reveal").stdout == "sk_live_1234567890"
    # values never come from arguments
    assert "unexpected extra argument" in one_line_error(run(env, "put", REF, "sk_live_x"))
    rotated = run(env, "rotate", REF, "--test-cmd", 'test -n "$HOMEROOM_PENDING_SECRET"')
    assert rotated.returncode == 0, rotated.stderr
    failed = run(env, "rotate", REF, "--test-cmd", "exit 3")
    assert "test step" in one_line_error(failed) and "rolled back" in failed.stderr
    versions = {v["version"]: v for v in history(env)}
    assert versions[2]["labels"] == ["current"] and versions[3]["state"] == "deleted"
    shown = run(
        env,
        "exec",
        "--prefix",
        "production/billing/",
        "--",
        sys.executable,
        "-c",
        "import os; print(len(os.environ['STRIPE_KEY']))",
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "44"  # 32 random bytes, passed as base64
    code = run(env, "exec", "--prefix", "production/", "--", "sh", "-c", "exit 7")
    assert code.returncode == 7


def test_bad_input_is_one_line_nonzero_and_changes_nothing(
    env: dict[str, str], sql_target: SqlTarget, tmp_path: Path
) -> None:
    assert run(env, "put", REF, stdin="first-value-123").returncode == 0
    assert (
        run(env, "put", "secret://production/homeroom-web/k", stdin="web-value-123").returncode == 0
    )
    # a stale check-and-set version
    assert "check-and-set failed" in one_line_error(
        run(env, "put", REF, "--cas", "0", stdin="x" * 9)
    )
    # a path outside policy (the web identity may read only */homeroom-web/*)
    denied = run(
        env, "exec", "--as", "homeroom-web", "--prefix", "production/billing/", "--", "true"
    )
    assert "homeroom-web may not read production/billing/stripe-key" in one_line_error(denied)
    # exec passes only what the identity may read
    allowed = run(
        env,
        "exec",
        "--as",
        "homeroom-web",
        "--prefix",
        "production/",
        "--",
        sys.executable,
        "-c",
        "import os; print(sorted(k for k in ('K', 'STRIPE_KEY') if k in os.environ))",
    )
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "['K']"
    # a malformed path
    assert "bad secret path" in one_line_error(run(env, "get", "secret://nope"))
    # a truncated ciphertext
    db = Database(sql_target.owner_url, pool_size=1)
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE secret_versions SET ciphertext = :c WHERE path = :p"),
                {"c": b"\x00" * 5, "p": "production/billing/stripe-key"},
            )
    finally:
        db.dispose()
    assert "failed authentication" in one_line_error(run(env, "get", REF, "--reveal"))
    # a wrong key-encryption key
    kek = tmp_path / "data" / "secrets" / "kek.json"
    kek.rename(kek.with_name("kek.saved"))
    wrong = run(env, "get", "secret://production/homeroom-web/k", "--reveal")
    assert "does not hold" in one_line_error(wrong)
    assert "web-value" not in wrong.stdout
    kek.with_name("kek.saved").rename(kek)
    assert (
        run(env, "get", "secret://production/homeroom-web/k", "--reveal").stdout == "web-value-123"
    )
    assert [v["version"] for v in history(env)] == [1]  # nothing changed
    verify = run(env, "audit", "verify")
    assert verify.returncode == 0 and "audit log intact" in verify.stdout


def test_audit_verify_fails_on_tampering(env: dict[str, str], sql_target: SqlTarget) -> None:
    assert run(env, "put", REF, stdin="first-value-123").returncode == 0
    assert run(env, "get", REF).returncode == 0
    db = Database(sql_target.owner_url, pool_size=1)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE secret_audit SET actor = 'nobody' WHERE seq = 1"))
    finally:
        db.dispose()
    assert one_line_error(run(env, "audit", "verify")) == (
        "error: audit log tampered: record 1 was altered"
    )


def test_policy_commands(env: dict[str, str]) -> None:
    assert run(env, "policy", "grant", "billing-worker", "*/billing/*", "read").returncode == 0
    listing = json.loads(run(env, "policy", "list", "--json").stdout)["grants"]
    assert {
        "identity": "billing-worker",
        "pattern": "*/billing/*",
        "capabilities": ["read"],
    } in listing
    assert "bad capabilities" in one_line_error(
        run(env, "policy", "grant", "x", "*/billing/*", "read,sudo")
    )
    assert run(env, "policy", "revoke", "billing-worker", "*/billing/*").returncode == 0


def test_version_lifecycle_and_dupes_through_the_cli(env: dict[str, str]) -> None:
    other = "secret://production/crm/stripe-key"
    assert run(env, "put", REF, stdin="shared-value-123").returncode == 0
    assert run(env, "put", other, stdin="shared-value-123").returncode == 0
    assert run(env, "put", REF, stdin="second-value-456").returncode == 0
    groups = json.loads(run(env, "dupes", "--json").stdout)["groups"]
    assert groups == [[{"ref": REF, "version": 1}, {"ref": other, "version": 1}]]
    leaked = run(env, "dupes", "--json", "--value-stdin", stdin="shared-value-123")
    assert json.loads(leaked.stdout)["groups"] == groups
    assert "shared-value" not in leaked.stdout
    listed = {s["ref"]: s for s in json.loads(run(env, "list", "--json").stdout)["secrets"]}
    assert (listed[REF]["current"], listed[REF]["previous"]) == (2, 1)
    # soft delete, undelete
    assert run(env, "delete", REF, "--version", "2").returncode == 0
    assert "is deleted" in one_line_error(run(env, "get", REF, "--reveal"))
    assert run(env, "undelete", REF, "--version", "2").returncode == 0
    assert run(env, "get", REF, "--reveal").stdout == "second-value-456"
    # rollback: previous becomes current again
    assert "current is version 1" in run(env, "rollback", REF).stdout
    assert run(env, "get", REF, "--reveal").stdout == "shared-value-123"
    # destroy needs --yes, then erases for good
    assert "add --yes" in one_line_error(run(env, "destroy", REF, "--version", "2"))
    assert run(env, "destroy", REF, "--version", "2", "--yes").returncode == 0
    states = {v["version"]: v["state"] for v in history(env)}
    assert states == {1: "active", 2: "destroyed"}
    assert "destroyed for good" in one_line_error(run(env, "undelete", REF, "--version", "2"))
    assert "is destroyed" in one_line_error(run(env, "get", REF, "--version", "2", "--reveal"))
