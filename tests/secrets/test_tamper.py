"""AAD binding, tamper detection and wrong keys: one clear error, nothing changed."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from homeroom.errors import ConfigError
from homeroom.secrets import (
    ADMIN,
    EnvKEK,
    LocalFileKEK,
    SecretIntegrityError,
    SecretStore,
    WrongKeyError,
)
from homeroom.secrets.crypto import open_sealed, seal
from homeroom.secrets.redaction import Redactor
from homeroom.storage.sql import Database
from homeroom.storage.sql.tables_secrets import secret_versions as sv

A = "secret://production/billing/stripe-key"
B = "secret://production/reports/stripe-key"


def _row(db: Database, path: str, version: int = 1) -> dict[str, object]:
    with db.engine.connect() as conn:
        row = conn.execute(select(sv).where(sv.c.path == path, sv.c.version == version)).one()
    return dict(row._mapping)


def _set(db: Database, path: str, version: int = 1, **values: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(sv).where(sv.c.path == path, sv.c.version == version).values(**values))


def test_ciphertext_moved_to_another_path_fails(store: SecretStore, db: Database) -> None:
    store.put(ADMIN, A, b"value-of-a-1234")
    store.put(ADMIN, B, b"value-of-b-1234")
    a = _row(db, "production/billing/stripe-key")
    moved = {k: a[k] for k in ("kek_id", "wrapped_key", "nonce", "ciphertext")}
    _set(db, "production/reports/stripe-key", **moved)
    with pytest.raises(SecretIntegrityError, match="production/reports/stripe-key v1"):
        store.get(ADMIN, B)


def test_ciphertext_moved_to_another_version_fails(store: SecretStore, db: Database) -> None:
    store.put(ADMIN, A, b"value-version-1")
    store.put(ADMIN, A, b"value-version-2")
    v1 = _row(db, "production/billing/stripe-key", 1)
    _set(
        db,
        "production/billing/stripe-key",
        2,
        **{k: v1[k] for k in ("kek_id", "wrapped_key", "nonce", "ciphertext")},
    )
    with pytest.raises(SecretIntegrityError):
        store.get(ADMIN, A)


@pytest.mark.parametrize(
    ("column", "mangle"),
    [
        ("ciphertext", lambda b: b[:-1]),  # truncated
        ("ciphertext", lambda b: bytes([b[0] ^ 1]) + b[1:]),  # altered
        ("ciphertext", lambda b: b""),  # emptied
        ("nonce", lambda b: bytes([b[0] ^ 1]) + b[1:]),
        ("wrapped_key", lambda b: b[:-2]),
    ],
)
def test_altered_or_truncated_records_fail_authentication(
    store: SecretStore, db: Database, column: str, mangle: object
) -> None:
    store.put(ADMIN, A, b"value-of-a-1234")
    row = _row(db, "production/billing/stripe-key")
    _set(db, "production/billing/stripe-key", **{column: mangle(bytes(row[column]))})  # type: ignore[operator]
    with pytest.raises(SecretIntegrityError) as info:
        store.get(ADMIN, A)
    message = str(info.value)
    assert "\n" not in message and "value-of-a" not in message
    failures = [r for r in store.audit_tail(5) if r["outcome"] == "failed"]
    assert failures and failures[-1]["path"] == "production/billing/stripe-key"


def test_wrong_kek_is_one_clear_error(db: Database, tmp_path: Path) -> None:
    right = SecretStore(db, LocalFileKEK(tmp_path / "right.json"), redactor=Redactor())
    right.put(ADMIN, A, b"value-of-a-1234")
    wrong = SecretStore(db, LocalFileKEK(tmp_path / "wrong.json"), redactor=Redactor())
    with pytest.raises(WrongKeyError, match="does not hold"):
        wrong.get(ADMIN, A)


def test_rewrap_moves_data_keys_to_a_new_kek_without_touching_values(
    store: SecretStore, kek: LocalFileKEK, db: Database
) -> None:
    for n in range(3):
        store.put(ADMIN, f"secret://production/svc/k{n}", f"value-number-{n}".encode())
    before = {r.path: bytes(r.ciphertext) for r in _all(db)}
    old_id = kek.current_id()
    new_id = kek.rotate()
    assert new_id != old_id
    assert store.get(ADMIN, "secret://production/svc/k0").value == b"value-number-0"  # old KEK
    assert store.rewrap(ADMIN) == 3
    rows = _all(db)
    assert {r.kek_id for r in rows} == {new_id}
    assert {r.path: bytes(r.ciphertext) for r in rows} == before  # values untouched
    # Retire the old KEK entirely: everything still opens under the new one alone.
    ring = json.loads(kek.path.read_text())
    kek.path.write_text(json.dumps({"keys": ring["keys"][:1]}))
    fresh = SecretStore(db, LocalFileKEK(kek.path), redactor=Redactor())
    assert fresh.get(ADMIN, "secret://production/svc/k2").value == b"value-number-2"
    assert fresh.verify_audit().ok  # the system keys were re-wrapped too
    assert fresh.rewrap(ADMIN) == 0


def _all(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(sv)))


def test_key_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.json"
    LocalFileKEK(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o077 == 0
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="owner-only"):
        LocalFileKEK(path)


def test_env_provider(tmp_path: Path) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    env = {"KEK": base64.b64encode(k1).decode()}
    sealed = seal(EnvKEK("KEK", env), "p/q/r", 1, b"secret-value-1")
    rotated = EnvKEK("KEK", {"KEK": f"{base64.b64encode(k2).decode()},{env['KEK']}"})
    assert open_sealed(rotated, "p/q/r", 1, sealed) == b"secret-value-1"
    assert rotated.current_id() != sealed.kek_id
    with pytest.raises(WrongKeyError):
        open_sealed(EnvKEK("KEK", {"KEK": base64.b64encode(k2).decode()}), "p/q/r", 1, sealed)
    with pytest.raises(ConfigError, match="empty"):
        EnvKEK("KEK", {})
    with pytest.raises(ConfigError, match="32 bytes"):
        EnvKEK("KEK", {"KEK": base64.b64encode(b"short").decode()})
