"""The store on SQLite and PostgreSQL: versions, check-and-set, labels, delete/destroy."""

from __future__ import annotations

import pytest

from homeroom.errors import Conflict, InvalidInput, NotFound
from homeroom.secrets import ADMIN, SecretStore

REF = "secret://production/billing/stripe-key"


def test_put_get_versions_and_labels(store: SecretStore) -> None:
    assert store.put(ADMIN, REF, b"value-one-1") == 1
    assert store.put(ADMIN, REF, b"value-two-2") == 2
    current = store.get(ADMIN, REF)
    assert (current.version, current.value, current.labels) == (2, b"value-two-2", ("current",))
    assert store.get(ADMIN, REF, label="previous").value == b"value-one-1"
    assert store.get(ADMIN, REF, version=1).labels == ("previous",)
    assert "value-two-2" not in repr(current)  # never in a repr, so never in a traceback
    with pytest.raises(NotFound):
        store.get(ADMIN, REF, label="pending")
    with pytest.raises(InvalidInput):
        store.get(ADMIN, REF, label="latest")
    with pytest.raises(NotFound):
        store.get(ADMIN, "secret://production/billing/nope")
    [info] = store.list_secrets(ADMIN, "production/")
    assert (info.path, info.current_version, info.previous_version) == (
        "production/billing/stripe-key",
        2,
        1,
    )


def test_check_and_set_refuses_stale_version_and_changes_nothing(store: SecretStore) -> None:
    assert store.put(ADMIN, REF, b"first-value", cas=0) == 1
    with pytest.raises(Conflict, match="expected version 0, latest is 1"):
        store.put(ADMIN, REF, b"second-value", cas=0)
    assert store.put(ADMIN, REF, b"second-value", cas=1) == 2
    with pytest.raises(Conflict, match="check-and-set"):
        store.put(ADMIN, REF, b"stale-writer", cas=1)
    assert store.get(ADMIN, REF).value == b"second-value"
    assert [v.version for v in store.history(ADMIN, REF)] == [2, 1]


def test_version_limit_drops_oldest(store: SecretStore) -> None:
    for n in range(1, 7):
        store.put(ADMIN, REF, f"value-number-{n}".encode())
    versions = [v.version for v in store.history(ADMIN, REF)]
    assert versions == [6, 5, 4, 3]  # max_versions=4
    with pytest.raises(NotFound):
        store.get(ADMIN, REF, version=1)


def test_soft_delete_undelete_and_destroy(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"value-one-1")
    store.put(ADMIN, REF, b"value-two-2")
    assert store.delete(ADMIN, REF) == [2]
    with pytest.raises(NotFound, match="deleted"):
        store.get(ADMIN, REF)
    assert store.undelete(ADMIN, REF, [2]) == [2]
    assert store.get(ADMIN, REF).value == b"value-two-2"
    assert store.destroy(ADMIN, REF, [1]) == [1]
    with pytest.raises(NotFound, match="destroyed"):
        store.get(ADMIN, REF, version=1)
    with pytest.raises(Conflict, match="destroyed"):
        store.undelete(ADMIN, REF, [1])
    destroyed = next(v for v in store.history(ADMIN, REF) if v.version == 1)
    assert destroyed.state == "destroyed" and destroyed.kek_id is None


def test_values_are_encrypted_at_rest(store: SecretStore) -> None:
    from sqlalchemy import select

    from homeroom.storage.sql.tables_secrets import secret_versions

    store.put(ADMIN, REF, b"plain-text-marker-xyz")
    with store.db.engine.connect() as conn:
        rows = list(conn.execute(select(secret_versions)))
    blob = b"".join(bytes(r.ciphertext) + bytes(r.wrapped_key) for r in rows)
    assert b"plain-text-marker-xyz" not in blob
    assert len(rows[0].nonce) == 12 and rows[0].value_hmac != "plain-text-marker-xyz"


def test_dupes_finds_every_secret_sharing_a_value(store: SecretStore) -> None:
    store.put(ADMIN, "secret://production/billing/api-token", b"leaked-value-123")
    store.put(ADMIN, "secret://production/reports/api-token", b"leaked-value-123")
    store.put(ADMIN, "secret://staging/reports/api-token", b"something-else-1")
    groups = store.dupes(ADMIN)
    assert groups == [[("production/billing/api-token", 1), ("production/reports/api-token", 1)]]
    [where] = store.dupes(ADMIN, b"leaked-value-123")
    assert len(where) == 2
    assert store.dupes(ADMIN, b"never-stored-value") == []


def test_resolve_many_reads_current_values_in_one_go(store: SecretStore) -> None:
    refs = [f"secret://production/homeroom-web/k{n}" for n in range(30)]
    for n, ref in enumerate(refs):
        store.put(ADMIN, ref, f"value-{n:04d}-x".encode())
    values = store.resolve_many("homeroom-web", refs)
    assert values["production/homeroom-web/k7"] == b"value-0007-x"
    assert len(values) == 30
    with pytest.raises(NotFound, match="k99"):
        store.resolve_many("homeroom-web", ["secret://production/homeroom-web/k99"])
