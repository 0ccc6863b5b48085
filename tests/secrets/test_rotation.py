"""Rotation as create → set → test → finish, with rollback; the key-ring API."""

from __future__ import annotations

import pytest

from homeroom.errors import Conflict, InvalidInput
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
