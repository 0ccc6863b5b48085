"""The signing key ring rotates through the secret store: next → current → retired.

The labels of ``secret://<environment>/homeroom-web/signing-key-<alg>`` are the ring's states
(pending = next, current, previous = retired); these tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from homeroom.errors import ConfigError, Conflict, InvalidInput
from homeroom.oidc.keys import KeyRing, SigningKeyRotator
from homeroom.secrets import ADMIN, StoreSecrets
from homeroom.storage.sql.tables_secrets import secret_versions, secrets
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings

ES = "secret://development/homeroom-web/signing-key-es256"


def ring_of(container: Container, **kw: float) -> KeyRing:
    assert isinstance(container.secrets, StoreSecrets)
    return KeyRing(container.secrets, **kw)


def states(ring: KeyRing) -> dict[tuple[str, str], str]:
    return {(i.alg, i.state): i.kid for i in ring.describe()}


def sign(ring: KeyRing, claims: dict[str, object] | None = None) -> str:
    key = ring.signing_key("ES256")
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims or {"sub": "x"}, key.key)


def verifies_against_jwks(ring: KeyRing, token: str) -> bool:
    """What a relying party does: fetch the JWK Set document, verify the token with it."""
    published = KeySet.import_key_set(json.loads(ring.jwks_json()))
    try:
        jwt.decode(token, published, algorithms=["ES256"])
    except (JoseError, ValueError):
        return False
    return True


def age_rotation(container: Container, ref: str, seconds: float) -> None:
    """Move the moment ``previous`` retired into the past (time passing, without sleeping)."""
    path = ref.removeprefix("secret://")
    with container.db.engine.begin() as conn:
        (at,) = conn.execute(select(secrets.c.rotated_at).where(secrets.c.path == path)).one()
        conn.execute(
            update(secrets)
            .where(secrets.c.path == path)
            .values(rotated_at=at - dt.timedelta(seconds=seconds))
        )


def test_a_new_ring_has_a_current_and_a_published_next_key_per_alg(container: Container) -> None:
    ring = ring_of(container)
    assert set(states(ring)) == {
        ("ES256", "current"),
        ("ES256", "next"),
        ("RS256", "current"),
        ("RS256", "next"),
    }
    keys = json.loads(ring.jwks_json())["keys"]
    assert {k["kid"] for k in keys} == {i.kid for i in ring.describe()}
    assert all("d" not in k and "p" not in k for k in keys)
    listed = {i.path for i in container.secret_store.list_secrets(ADMIN, "development/")}
    assert {
        "development/homeroom-web/signing-key-es256",
        "development/homeroom-web/signing-key-rs256",
    } <= listed


def test_private_keys_are_envelope_encrypted_secret_versions(container: Container) -> None:
    ring = ring_of(container)
    ring.reload()
    with container.db.engine.connect() as conn:
        stored = [
            r.ciphertext
            for r in conn.execute(
                select(secret_versions).where(secret_versions.c.path.like("%/signing-key-%"))
            )
        ]
    assert len(stored) == 4  # current + next, per algorithm
    for sealed in stored:
        assert b'"kty"' not in sealed and b'"d"' not in sealed
    current = container.secret_store.get(ADMIN, ES)
    assert json.loads(current.value)["kid"] == ring.signing_key("ES256").kid


def test_rotation_keeps_tokens_signed_before_it_verifiable(container: Container) -> None:
    ring = ring_of(container, min_publish_s=0)
    before = states(ring)
    token = sign(ring)
    ring.rotate()
    after = states(ring)
    assert after[("ES256", "current")] == before[("ES256", "next")]
    assert after[("ES256", "retired")] == before[("ES256", "current")]
    assert after[("ES256", "next")] not in before.values()
    assert ring.signing_key("ES256").kid == before[("ES256", "next")]
    assert verifies_against_jwks(ring, token)  # signed by the retired key: still published
    assert verifies_against_jwks(ring, sign(ring))
    labels = {v.version: v.labels for v in container.secret_store.keyring(ADMIN, ES)}
    assert sorted(labels.values()) == [("current",), ("pending",), ("previous",)]


def test_the_next_key_is_published_before_it_signs(container: Container) -> None:
    ring = ring_of(container, min_publish_s=0)
    next_kid = states(ring)[("ES256", "next")]
    assert next_kid in ring.jwks_json().decode()
    assert ring.signing_key("ES256").kid != next_kid
    ring.rotate()
    assert ring.signing_key("ES256").kid == next_kid


def test_rotation_is_refused_until_next_is_published_long_enough(container: Container) -> None:
    ring = ring_of(container, min_publish_s=3600)
    before = states(ring)
    with pytest.raises(Conflict, match="published for"):
        ring.rotate()
    assert states(ring) == before  # nothing changed
    ring.rotate(force=True)
    assert states(ring)[("ES256", "current")] == before[("ES256", "next")]


def test_rotation_is_refused_while_the_retired_key_may_verify_live_tokens(
    container: Container,
) -> None:
    ring = ring_of(container, min_publish_s=0, retain_s=3600)
    ring.reload()
    ring.rotate()
    retired = states(ring)[("ES256", "retired")]
    with pytest.raises(Conflict, match="may still verify unexpired tokens"):
        ring.rotate()
    assert states(ring)[("ES256", "retired")] == retired
    age_rotation(container, ES, 3601)
    age_rotation(container, ES.replace("es256", "rs256"), 3601)
    ring.rotate()
    assert states(ring)[("ES256", "retired")] != retired


def test_after_finish_and_expiry_the_old_key_is_gone(container: Container) -> None:
    ring = ring_of(container, min_publish_s=0, retain_s=600)
    first = ring.signing_key("ES256").kid
    token = sign(ring)
    ring.rotate()
    assert first in ring.jwks_json().decode() and verifies_against_jwks(ring, token)
    age_rotation(container, ES, 601)  # every token the old key signed has expired
    ring.reload()
    assert first not in ring.jwks_json().decode()
    assert not verifies_against_jwks(ring, token)
    assert states(ring)[("ES256", "expired")] == first  # kept in the store, not published


def test_rollback_restores_the_previous_key(container: Container) -> None:
    ring = ring_of(container, min_publish_s=0)
    old = ring.signing_key("ES256").kid
    old_token = sign(ring)
    ring.rotate()
    new_token = sign(ring)
    # The pending (next) key first, then the finished rotation.
    assert "cancelled pending" in container.secret_store.rollback(ADMIN, ES)
    assert "current is version" in container.secret_store.rollback(ADMIN, ES)
    ring.reload()
    assert ring.signing_key("ES256").kid == old
    assert verifies_against_jwks(ring, old_token)
    assert verifies_against_jwks(ring, new_token)  # the rolled-back key is still published


def test_a_pending_key_that_fails_its_test_is_rolled_back(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = ring_of(container, min_publish_s=0)
    before = states(ring)
    history_before = len(container.secret_store.history(ADMIN, ES))

    def broken(self: SigningKeyRotator, path: str, value: bytes) -> None:
        raise InvalidInput("probe token did not verify")

    monkeypatch.setattr(SigningKeyRotator, "test", broken)
    with pytest.raises(InvalidInput, match=r"failed its test .* rolled back"):
        ring.rotate(algs=["ES256"])
    monkeypatch.undo()
    ring.reload()
    after = states(ring)
    assert after[("ES256", "current")] == before[("ES256", "current")]
    assert ("ES256", "next") not in after  # the untested next key was withdrawn
    assert len(container.secret_store.history(ADMIN, ES)) == history_before
    ring.rotate(algs=["ES256"])  # the next rotation creates and publishes a new next key
    assert ("ES256", "next") in states(ring)


def test_keys_are_loaded_once_not_per_request(container: Container) -> None:
    ring = ring_of(container, refresh_s=3600)
    ring.signing_key("ES256")
    audited = len(container.secret_store.audit_tail(10_000))
    for _ in range(200):
        ring.signing_key("ES256")
        ring.verification_keys()
        ring.jwks_json()
    assert len(container.secret_store.audit_tail(10_000)) == audited  # no store read


def test_other_processes_follow_a_rotation_after_their_refresh(container: Container) -> None:
    a = ring_of(container, min_publish_s=0)
    b = ring_of(container, refresh_s=3600)
    old = b.signing_key("ES256").kid
    a.rotate()
    assert b.signing_key("ES256").kid == old  # cached until the next check
    b.reload()
    assert b.signing_key("ES256").kid == a.signing_key("ES256").kid


def test_outside_development_the_operator_creates_the_ring(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    container = build(make_settings(sql_target, tmp_path, environment="production"))
    try:
        with pytest.raises(
            ConfigError, match="does not exist; create it with `homeroom keys rotate`"
        ):
            container.key_ring.signing_key("ES256")
        container.key_ring.rotate()
        assert {i.state for i in container.key_ring.describe()} == {"current", "next"}
        assert container.key_ring.signing_key("RS256").kid.startswith("rs256-")
    finally:
        container.close()
