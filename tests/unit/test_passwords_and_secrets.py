"""argon2id password hashing and keyed client-secret hashes."""

from __future__ import annotations

from pathlib import Path

from homeroom.identity.passwords import PasswordHasher
from homeroom.secrets import DataDirSecrets
from homeroom.sharing.credentials import (
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)


def test_argon2id_with_owasp_parameters() -> None:
    ph = PasswordHasher()
    h = ph.hash("correct horse")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert ph.verify(h, "correct horse")
    assert not ph.verify(h, "wrong horse")
    assert not ph.verify(None, "anything")  # missing account: still spends a verification
    assert not ph.verify("garbage", "x")
    assert not ph.verify(h, "x" * 5000)
    assert not ph.needs_rehash(h)
    assert PasswordHasher(time_cost=3).needs_rehash(h)


def test_client_secret_hash_is_keyed() -> None:
    secret = generate_client_secret()
    assert len(secret) >= 43
    stored = hash_client_secret(b"k1", secret)
    assert secret not in stored
    assert verify_client_secret(b"k1", secret, stored)
    assert not verify_client_secret(b"k2", secret, stored)
    assert not verify_client_secret(b"k1", secret + "x", stored)
    assert not verify_client_secret(b"k1", secret, None)


def test_data_dir_secrets_are_owner_only_and_stable(tmp_path: Path) -> None:
    s = DataDirSecrets(tmp_path / "s")
    v = s.get_or_create("session-key")
    assert len(v) == 32
    assert DataDirSecrets(tmp_path / "s").get_or_create("session-key") == v
    assert (tmp_path / "s" / "session-key").stat().st_mode & 0o077 == 0
