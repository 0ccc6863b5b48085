"""``homeroom keys list|rotate`` as a real subprocess: JSON contract and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SqlTarget


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeroom", *args],
        env=env,
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
    )
    if sql_target.app_role:
        e["HOMEROOM_APP_DB_ROLE"] = sql_target.app_role
    return e


def test_list_then_rotate(env: dict[str, str]) -> None:
    listed = run(env, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    before = {(k["alg"], k["state"]): k["kid"] for k in json.loads(listed.stdout)["keys"]}
    assert set(before) == {
        ("ES256", "current"),
        ("ES256", "next"),
        ("RS256", "current"),
        ("RS256", "next"),
    }
    refused = run(env, "keys", "rotate")
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("error: the next ES256 key has been published")
    assert len(refused.stderr.strip().splitlines()) == 1
    rotated = run(env, "keys", "rotate", "--force", "--json")
    assert rotated.returncode == 0, rotated.stderr
    after = {(k["alg"], k["state"]): k["kid"] for k in json.loads(rotated.stdout)["keys"]}
    assert after[("ES256", "current")] == before[("ES256", "next")]
    assert after[("ES256", "retired")] == before[("ES256", "current")]
    fields = {"kid", "alg", "state", "ref", "version", "created_at", "activated_at", "retired_at"}
    assert all(set(k) == fields for k in json.loads(rotated.stdout)["keys"])  # no key material
    human = run(env, "keys", "list")
    assert human.returncode == 0 and "retired" in human.stdout


def test_secrets_rotate_and_rollback_drive_the_signing_key_ring(env: dict[str, str]) -> None:
    ref = "secret://development/homeroom-web/signing-key-es256"
    before = json.loads(run(env, "keys", "list", "--json").stdout)["keys"]
    es = {k["state"]: k for k in before if k["alg"] == "ES256"}
    assert es["current"]["ref"] == ref
    refused = run(env, "secrets", "rotate", ref)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "published for" in refused.stderr
    rotated = run(env, "secrets", "rotate", ref, "--force", "--json")
    assert rotated.returncode == 0, rotated.stderr
    after = {k["state"]: k for k in json.loads(rotated.stdout)["keys"] if k["alg"] == "ES256"}
    assert after["current"]["kid"] == es["next"]["kid"]
    assert after["retired"]["kid"] == es["current"]["kid"]
    rs = {k["state"]: k["kid"] for k in json.loads(rotated.stdout)["keys"] if k["alg"] == "RS256"}
    assert rs == {k["state"]: k["kid"] for k in before if k["alg"] == "RS256"}  # one alg only
    history = run(env, "secrets", "history", ref, "--json")
    labels = {v["version"]: v["labels"] for v in json.loads(history.stdout)["versions"]}
    assert sorted(map(tuple, labels.values())) == [("current",), ("pending",), ("previous",)]
    for _ in range(2):  # cancel the new next key, then undo the promotion
        assert run(env, "secrets", "rollback", ref).returncode == 0
    back = json.loads(run(env, "keys", "list", "--json").stdout)["keys"]
    assert {k["state"]: k["kid"] for k in back if k["alg"] == "ES256"}["current"] == (
        es["current"]["kid"]
    )
    other = run(env, "secrets", "rotate", "secret://production/homeroom-web/signing-key-es256")
    assert other.returncode == 1
    assert other.stderr.strip() == (
        "error: secret://production/homeroom-web/signing-key-es256 is not this environment's "
        "ES256 signing key"
    )
