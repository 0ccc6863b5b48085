"""Data-access audit (issue 7) through the real CLI: roster imports (accepted and rejected)
and sharing changes (connect, set, remove) each leave an append-only event in the district
named, and nothing in any other district. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from homeroom.audit.models import AuditEvent
from homeroom.storage.sql import Database
from homeroom.tenancy import TenantScope
from tests.functional.test_cli import env, run  # noqa: F401 (env is a fixture)
from tests.roster.packages import copy_sample, edit


def events(db: Database, district_id: str, action: str) -> list[AuditEvent]:
    with TenantScope(district_id), db.scoped() as uow:
        return list(uow.audit.list(action=action))


def _district(env: dict[str, str], slug: str) -> str:  # noqa: F811
    made = run(env, "district", "create", "--slug", slug, "--name", slug.title(), "--json")
    assert made.returncode == 0, made.stderr
    found: str = json.loads(made.stdout)["id"]
    return found


def test_cli_roster_imports_are_audited_accepted_or_rejected(
    env: dict[str, str],  # noqa: F811
    db: Database,
    tmp_path: Path,
) -> None:
    assert run(env, "migrate").returncode == 0
    rv, hv = _district(env, "rv"), _district(env, "hv")
    pkg = copy_sample(tmp_path)
    assert run(env, "roster", "import", "--district", "rv", str(pkg)).returncode == 0
    (done,) = events(db, rv, "roster.import")
    assert (done.actor, done.outcome, done.target_type) == ("cli", "success", "import")
    assert done.target_id and done.detail["counts"]["user"]["created"] == 31
    edit(pkg, "users.csv", "true", "maybe", count=2)
    assert run(env, "roster", "import", "--district", "rv", str(pkg)).returncode == 1
    rejected = events(db, rv, "roster.import")[-1]
    assert (rejected.outcome, rejected.detail["errors"]) == ("failure", 2)
    assert events(db, hv, "roster.import") == []


def test_cli_sharing_changes_are_audited(
    env: dict[str, str],  # noqa: F811
    db: Database,
    tmp_path: Path,
) -> None:
    assert run(env, "migrate").returncode == 0
    rv, hv = _district(env, "rv"), _district(env, "hv")
    assert (
        run(env, "roster", "import", "--district", "rv", str(copy_sample(tmp_path))).returncode == 0
    )
    made = run(
        env, "app", "create", "--name", "Reader", "--redirect-uri", "https://r.example/cb", "--json"
    )
    app_id = json.loads(made.stdout)["client_id"]
    assert run(env, "app", "connect", "--district", "rv", "--app", app_id).returncode == 0
    (put,) = events(db, rv, "connection.put")
    assert (put.actor, put.target_id) == ("cli", app_id)
    changed = run(
        env,
        "sharing",
        "set",
        "--district",
        "rv",
        "--app",
        app_id,
        "--mode",
        "schools",
        "--school",
        "sch-oak",
        "--fields",
        "basic,email",
    )
    assert changed.returncode == 0, changed.stderr
    (set_,) = events(db, rv, "connection.set")
    assert set_.target_id == app_id and set_.detail["mode"] == "schools"
    assert set_.detail["field_groups"] == ["basic", "email"]
    removed = run(env, "sharing", "remove", "--district", "rv", "--app", app_id)
    assert removed.returncode == 0, removed.stderr
    (gone,) = events(db, rv, "connection.delete")
    assert gone.target_id == app_id and gone.detail["changes"]["user"]["unshared"] > 0
    for action in ("connection.put", "connection.set", "connection.delete"):
        assert events(db, hv, action) == []
