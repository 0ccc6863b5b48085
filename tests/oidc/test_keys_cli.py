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
    fields = {"kid", "alg", "state", "created_at", "activated_at", "retired_at"}
    assert all(set(k) == fields for k in json.loads(rotated.stdout)["keys"])  # no key material
    human = run(env, "keys", "list")
    assert human.returncode == 0 and "retired" in human.stdout
