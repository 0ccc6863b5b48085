"""The signing key ring: next → current → retired, encrypted at rest, parsed once."""

from __future__ import annotations

import base64

import pytest
from joserfc import jwt
from sqlalchemy import select

from homeroom.errors import Conflict
from homeroom.oidc.keys import KeyRing
from homeroom.storage.sql import Database
from homeroom.storage.sql.tables_oidc import signing_keys

KEK = b"k" * 32


def states(ring: KeyRing) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for info in ring.describe():
        found[(info.alg, info.state)] = found.get((info.alg, info.state), 0) + 1
    return found


def test_a_new_ring_has_a_current_and_a_published_next_key_per_alg(db: Database) -> None:
    ring = KeyRing(db, KEK)
    assert states(ring) == {
        ("ES256", "current"): 1,
        ("ES256", "next"): 1,
        ("RS256", "current"): 1,
        ("RS256", "next"): 1,
    }
    published = {k["kid"] for k in __import__("json").loads(ring.jwks_json())["keys"]}
    assert {i.kid for i in ring.describe()} == published
    assert all("d" not in k for k in __import__("json").loads(ring.jwks_json())["keys"])


def test_private_keys_are_encrypted_at_rest(db: Database) -> None:
    ring = KeyRing(db, KEK)
    ring.reload()
    with db.engine.connect() as conn:
        stored = [r.private_jwk for r in conn.execute(select(signing_keys))]
    assert stored
    for sealed in stored:
        raw = base64.urlsafe_b64decode(sealed)
        assert b'"kty"' not in raw and b'"d"' not in raw  # no JSON key in clear
        assert len(raw) > 12 + 16  # nonce + GCM tag + ciphertext
    with pytest.raises(Exception):  # noqa: B017,PT011 - any failure: the wrong KEK cannot decrypt
        KeyRing(db, b"x" * 32).reload()


def test_rotation_promotes_the_published_next_key_and_retires_current(db: Database) -> None:
    ring = KeyRing(db, KEK, min_publish_s=0)
    before = {(i.alg, i.state): i.kid for i in ring.describe()}
    token = jwt.encode(
        {"alg": "ES256", "kid": ring.signing_key("ES256").kid},
        {"sub": "x"},
        ring.signing_key("ES256").key,
    )
    ring.rotate()
    after = {(i.alg, i.state): i.kid for i in ring.describe()}
    assert after[("ES256", "current")] == before[("ES256", "next")]
    assert after[("ES256", "retired")] == before[("ES256", "current")]
    assert after[("ES256", "next")] not in before.values()
    assert ring.signing_key("ES256").kid == before[("ES256", "next")]
    # A token signed by the retired key still verifies against the published set.
    assert jwt.decode(token, ring.verification_keys(), algorithms=["ES256"]).claims == {"sub": "x"}


def test_rotation_is_refused_until_the_next_key_has_been_published_long_enough(
    db: Database,
) -> None:
    ring = KeyRing(db, KEK, min_publish_s=3600)
    ring.reload()
    with pytest.raises(Conflict, match="published for"):
        ring.rotate()
    ring.rotate(force=True)


def test_retired_keys_are_dropped_after_their_tokens_expired(db: Database) -> None:
    ring = KeyRing(db, KEK, min_publish_s=0, retain_s=0)
    first = ring.signing_key("ES256").kid
    ring.rotate()
    assert first in {i.kid for i in ring.describe()}  # retired, still published
    ring.rotate()  # retention 0 s: now past it
    assert first not in {i.kid for i in ring.describe()}


def test_other_processes_see_a_rotation_after_their_refresh_interval(db: Database) -> None:
    a = KeyRing(db, KEK, min_publish_s=0)
    b = KeyRing(db, KEK, refresh_s=3600)
    old = b.signing_key("ES256").kid
    assert a.signing_key("ES256").kid == old
    a.rotate()
    assert b.signing_key("ES256").kid == old  # cached: nothing parsed per request
    b.reload()
    assert b.signing_key("ES256").kid == a.signing_key("ES256").kid
