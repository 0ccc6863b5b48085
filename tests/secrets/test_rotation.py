"""Rotation as create → set → test → finish, with rollback; the key-ring API."""

from __future__ import annotations

import pytest

from homeroom.errors import Conflict, InvalidInput, PermissionDenied
from homeroom.secrets import ADMIN, RandomKeyRotator, SecretStore

REF = "secret://production/homeroom-web/signing-key"


class FailingTest(RandomKeyRotator):
    def __init__(self) -> None:
        super().__init__(32)
        self.installed: list[bytes] = []

    def set(self, path: str, value: bytes) -> None:
        self.installed.append(value)

    def test(self, path: str, value: bytes) -> None:
        raise RuntimeError("the new credential does not work")


def test_rotation_moves_labels(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"a" * 32)
    assert store.rotate(ADMIN, REF, RandomKeyRotator(32)) == 2
    ring = store.keyring("homeroom-web", REF)
    assert [(v.version, v.labels) for v in ring] == [(2, ("current",)), (1, ("previous",))]
    assert ring[1].value == b"a" * 32


def test_pending_version_is_published_before_it_is_current(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"a" * 32)
    pending = store.rotate_begin(ADMIN, REF, b"b" * 32)
    ring = store.keyring("homeroom-web", REF)
    assert [(v.version, v.labels) for v in ring] == [(pending, ("pending",)), (1, ("current",))]
    assert store.get(ADMIN, REF).value == b"a" * 32  # still signing with the old one
    with pytest.raises(Conflict, match="pending"):
        store.rotate_begin(ADMIN, REF, b"c" * 32)
    assert store.rotate_finish(ADMIN, REF) == pending
    assert store.get(ADMIN, REF).value == b"b" * 32
    with pytest.raises(Conflict, match="no pending"):
        store.rotate_finish(ADMIN, REF)


def test_failed_test_step_rolls_back(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"a" * 32)
    rotator = FailingTest()
    with pytest.raises(InvalidInput, match="rolled back"):
        store.rotate(ADMIN, REF, rotator)
    assert len(rotator.installed) == 1  # set ran, test failed
    assert store.get(ADMIN, REF).value == b"a" * 32
    history = {v.version: v for v in store.history(ADMIN, REF)}
    assert history[2].state == "deleted" and history[2].labels == ()
    assert [v.version for v in store.keyring("homeroom-web", REF)] == [1]
    assert store.rotate(ADMIN, REF, RandomKeyRotator(32)) == 3  # a later rotation works


def test_rollback_makes_previous_current_again(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"a" * 32)
    store.rotate(ADMIN, REF, RandomKeyRotator(32))
    assert "version 1" in store.rollback(ADMIN, REF)
    current = store.get(ADMIN, REF)
    assert (current.version, current.value) == (1, b"a" * 32)
    assert store.get(ADMIN, REF, label="previous").version == 2  # still accepted
    store.rotate_begin(ADMIN, REF, b"p" * 32)
    assert "cancelled pending version 3" in store.rollback(ADMIN, REF)
    assert store.get(ADMIN, REF).version == 1


def test_rollback_without_history_is_refused(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"a" * 32)
    with pytest.raises(Conflict, match="no previous"):
        store.rollback(ADMIN, REF)


def test_label_check_reads_no_value_and_records_when_current_moved(store: SecretStore) -> None:
    store.put(ADMIN, REF, b"a" * 32)
    first = store.labels("homeroom-web", [REF])["production/homeroom-web/signing-key"]
    assert first is not None and first.rotated_at is not None
    audited = len(store.audit_tail(1000))
    store.rotate_begin(ADMIN, REF, b"b" * 32)
    pending = store.labels("homeroom-web", [REF])["production/homeroom-web/signing-key"]
    assert pending is not None and pending.pending_version == 2
    assert pending.rotated_at == first.rotated_at  # publishing a pending key moves nothing
    store.rotate_finish(ADMIN, REF)
    finished = store.labels("homeroom-web", [REF])["production/homeroom-web/signing-key"]
    assert finished is not None and finished.rotated_at is not None
    assert (finished.current_version, finished.previous_version) == (2, 1)
    assert finished.rotated_at > first.rotated_at
    # Two writes were audited; the three label checks were not (no value was read).
    assert len(store.audit_tail(1000)) == audited + 2
    missing = "secret://production/homeroom-web/nothing-here"
    assert store.labels("homeroom-web", [missing]) == {"production/homeroom-web/nothing-here": None}


def test_label_check_outside_policy_is_denied_and_audited(store: SecretStore) -> None:
    store.put(ADMIN, "secret://production/billing/api-token", b"a" * 32)
    with pytest.raises(PermissionDenied, match="homeroom-web may not read"):
        store.labels("homeroom-web", ["secret://production/billing/api-token"])
    last = store.audit_tail(1)[0]
    assert (last["actor"], last["outcome"], last["path"]) == (
        "homeroom-web",
        "denied",
        "production/billing/api-token",
    )
