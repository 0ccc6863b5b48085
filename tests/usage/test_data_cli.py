"""``homeroom data``: retention, deletion on request and checks, as a real subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import update

from homeroom.storage.sql.tables_usage import usage_daily
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.usage.ingest import EventReport
from homeroom.usage.models import UsageKind
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings
from tests.functional.test_cli import one_line_error, run
from tests.usage.conftest import Classroom, build_classroom


@pytest.fixture
def env(sql_target: SqlTarget, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: the same database and data directory as ``seeded``."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    e.update(
        HOMEROOM_DATA_DIR=str(tmp_path / "data"),
        HOMEROOM_DATABASE_URL=sql_target.url,
        HOMEROOM_MIGRATE_DATABASE_URL=sql_target.owner_url,
    )
    if sql_target.app_role:
        e["HOMEROOM_APP_DB_ROLE"] = sql_target.app_role
    return e


@pytest.fixture
def seeded(sql_target: SqlTarget, tmp_path: Path) -> tuple[Container, Classroom]:
    container = build(make_settings(sql_target, tmp_path))
    return container, build_classroom(container)


def ingest(container: Container, c: Classroom, at: dt.datetime, user_id: str, tag: str) -> None:
    events = [
        EventReport(f"{tag}-{i}", user_id, UsageKind.MINUTES, at, minutes=5) for i in range(3)
    ]
    assert {
        o.status for o in container.usage_ingest.report(c.district.id, c.app.id, events, now=at)
    } == {"accepted"}


def audit_actions(container: Container, c: Classroom) -> list[str]:
    with TenantScope(c.district.id), container.db.scoped() as uow:
        return [e.action for e in uow.audit.list()]


def test_retention_purges_old_usage(
    env: dict[str, str], seeded: tuple[Container, Classroom]
) -> None:
    container, c = seeded
    ingest(container, c, utcnow() - dt.timedelta(days=400), c.ava.id, "old")
    ingest(container, c, utcnow() - dt.timedelta(days=10), c.ava.id, "new")
    r = run(env, "data", "retention", "--district", c.district.slug, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert (result["days"], result["events_deleted"], result["rollups_deleted"]) == (365, 3, 1)
    shorter = run(env, "data", "retention", "--district", c.district.slug, "--days", "5", "--json")
    assert json.loads(shorter.stdout)["events_deleted"] == 3
    with TenantScope(c.district.id), container.db.scoped() as uow:
        assert uow.usage_rollups.for_user(c.ava.id) == []
    assert audit_actions(container, c).count("usage.retention") == 2
    assert "error:" in one_line_error(
        run(env, "data", "retention", "--district", c.district.slug, "--days", "0")
    )
    missing = one_line_error(run(env, "data", "retention", "--district", "nowhere"))
    assert "not found" in missing
    container.close()


def test_delete_user_removes_their_usage_only(
    env: dict[str, str], seeded: tuple[Container, Classroom]
) -> None:
    container, c = seeded
    ingest(container, c, utcnow(), c.ava.id, "a")
    ingest(container, c, utcnow(), c.ben.id, "b")
    r = run(env, "data", "delete-user", "--district", c.district.slug, c.ava.id, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["events_deleted"] == 3
    with TenantScope(c.district.id), container.db.scoped() as uow:
        assert uow.usage_rollups.for_user(c.ava.id) == []
        assert uow.usage_events.get(c.app.id, "a-0") is None
        assert uow.usage_rollups.for_user(c.ben.id) != []
    assert "usage.delete_user" in audit_actions(container, c)
    # A user of another district is "not found" here, like one that does not exist.
    foreign = run(env, "data", "delete-user", "--district", c.district.slug, c.outsider.id)
    nobody = run(env, "data", "delete-user", "--district", c.district.slug, "usr_" + "0" * 20)
    assert one_line_error(foreign) == one_line_error(nobody) == "error: user not found"
    container.close()


def test_check_exits_non_zero_on_a_failed_check(
    env: dict[str, str], seeded: tuple[Container, Classroom]
) -> None:
    container, c = seeded
    ingest(container, c, utcnow() - dt.timedelta(minutes=5), c.ava.id, "a")
    ok = run(env, "data", "check", "--district", c.district.slug, "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    body = json.loads(ok.stdout)
    assert body["ok"] is True and {x["check"] for x in body["checks"]} == {
        "freshness",
        "volume",
        "reconciliation",
    }
    with TenantScope(c.district.id), container.db.scoped() as uow:
        uow.conn.execute(update(usage_daily).values(events=usage_daily.c.events + 1))
    bad = run(env, "data", "check", "--district", c.district.slug)
    assert bad.returncode == 1
    assert "FAIL reconciliation" in bad.stdout and "1 failed of 3 checks" in bad.stdout
    all_districts = run(env, "data", "check", "--json")
    assert all_districts.returncode == 1 and json.loads(all_districts.stdout)["ok"] is False
    assert "--day" in one_line_error(run(env, "data", "check", "--day", "yesterday"))
    container.close()
