"""Audit: every operation recorded with keyed hashes; chain tampering detected; audit-or-refuse."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from homeroom.secrets import ADMIN, WEB, AuditUnavailable, SecretStore
from homeroom.storage.sql import Database
from tests.conftest import SqlTarget

REF = "secret://production/homeroom-web/api-key"


def _owner(sql_target: SqlTarget) -> Database:
    return Database(sql_target.owner_url, pool_size=1)


def test_records_carry_actor_path_version_outcome_and_only_hashes(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"audited-value-42")
    store.get(WEB, REF)
    records = store.audit_tail(10)
    assert [(r["actor"], r["action"], r["path"], r["version"], r["outcome"]) for r in records] == [
        (ADMIN, "write", "production/homeroom-web/api-key", 1, "ok"),
        (WEB, "read", "production/homeroom-web/api-key", 1, "ok"),
    ]
    assert records[0]["value_hmac"] == store.fingerprint(b"audited-value-42")
    assert "audited-value-42" not in repr(records)
    report = store.verify_audit()
    assert report.ok and report.records == 2


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE secret_audit SET actor = 'someone-else' WHERE seq = 2",
        "UPDATE secret_audit SET outcome = 'ok' WHERE seq = 3",
        "DELETE FROM secret_audit WHERE seq = 2",
        "UPDATE secret_audit SET seq = CASE seq WHEN 2 THEN 99 ELSE seq END",
    ],
)
def test_verify_detects_edited_deleted_or_reordered_records(
    store: SecretStore, sql_target: SqlTarget, tamper: str
) -> None:
    store.put(ADMIN, REF, b"audited-value-42")
    store.put(ADMIN, REF, b"audited-value-43")
    with pytest.raises(Exception, match="may not"):
        store.get("intruder", REF)
    store.get(ADMIN, REF)
    assert store.verify_audit().ok
    owner = _owner(sql_target)
    try:
        with owner.engine.begin() as conn:
            conn.execute(text(tamper))
    finally:
        owner.dispose()
    report = store.verify_audit()
    assert not report.ok
    assert "record" in report.problem


def test_app_role_cannot_rewrite_the_audit_log(db: Database, store: SecretStore) -> None:
    if not db.is_postgres:
        pytest.skip("grants exist on PostgreSQL only")
    store.put(ADMIN, REF, b"audited-value-42")
    for statement in ("UPDATE secret_audit SET actor = 'x'", "DELETE FROM secret_audit"):
        with pytest.raises(ProgrammingError, match="permission denied"), db.engine.begin() as c:
            c.execute(text(statement))
    assert store.verify_audit().ok


def _break_audit(sql_target: SqlTarget) -> None:
    """Make every append fail, the way a full disk or a revoked grant would."""
    owner = _owner(sql_target)
    try:
        with owner.engine.begin() as conn:
            if owner.is_postgres:
                conn.execute(
                    text(
                        "CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger AS $$ "
                        "BEGIN RAISE EXCEPTION 'audit storage full'; END $$ LANGUAGE plpgsql"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse_audit BEFORE INSERT ON secret_audit "
                        "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse_audit BEFORE INSERT ON secret_audit "
                        "BEGIN SELECT RAISE(ABORT, 'audit storage full'); END"
                    )
                )
    finally:
        owner.dispose()


def _repair_audit(sql_target: SqlTarget) -> None:
    owner = _owner(sql_target)
    try:
        with owner.engine.begin() as conn:
            conn.execute(
                text(
                    "DROP TRIGGER refuse_audit" + (" ON secret_audit" if owner.is_postgres else "")
                )
            )
    finally:
        owner.dispose()


def test_operation_is_refused_when_the_audit_log_cannot_be_written(
    store: SecretStore, sql_target: SqlTarget
) -> None:
    store.put(ADMIN, REF, b"before-outage-1")
    _break_audit(sql_target)
    try:
        with pytest.raises(AuditUnavailable, match="refused"):
            store.put(ADMIN, REF, b"during-outage-2")
        with pytest.raises(AuditUnavailable):
            store.get(ADMIN, REF)  # an unaudited read is a refused read
        with pytest.raises(AuditUnavailable):
            store.rotate_begin(ADMIN, REF, b"during-outage-3")
        with pytest.raises(AuditUnavailable):
            store.get("intruder", REF)  # a denial that cannot be recorded is still refused
    finally:
        _repair_audit(sql_target)
    assert [v.version for v in store.history(ADMIN, REF)] == [1]  # nothing changed
    assert store.get(ADMIN, REF).value == b"before-outage-1"
    assert store.verify_audit().ok
