"""Token signing (JWS compact, RFC 7515 §7.1): our own serializer must produce tokens any
JOSE library verifies against the published JWKS, with the header a relying party expects,
and must follow a key rotation at once."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from homeroom.oidc.tokens import TokenSigner
from homeroom.wiring import Container
from tests.oidc.test_keys import ring_of


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def verified(container: Container, token: str, alg: str) -> dict[str, Any]:
    published = KeySet.import_key_set(json.loads(container.key_ring.jwks_json()))
    return dict(jwt.decode(token, published, algorithms=[alg]).claims)


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_signed_tokens_verify_against_the_jwks_with_the_current_kid(
    container: Container, alg: str
) -> None:
    signer = TokenSigner("https://id.example", container.key_ring)
    claims = {"sub": "usr_1", "name": "Zoë Ñúñez", "n": 1, "list": ["a", "b"]}
    token = signer.sign(claims, alg, "JWT")
    assert header_of(token) == {
        "alg": alg,
        "kid": container.key_ring.signing_key(alg).kid,
        "typ": "JWT",
    }
    assert verified(container, token, alg) == claims
    if alg == "ES256":  # R || S, 32 bytes each (RFC 7518 §3.4), not DER
        sig = token.split(".")[2]
        assert len(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))) == 64


def test_access_tokens_carry_at_jwt_typ(container: Container) -> None:
    signer = TokenSigner("https://id.example", container.key_ring)
    token, jti, _ = signer.access_token(
        client_id="app_1", district_id="dst_1", subject=None, scope="roster.read", ttl_s=60
    )
    assert header_of(token)["typ"] == "at+jwt"
    assert verified(container, token, "ES256")["jti"] == jti


def test_a_tampered_token_does_not_verify(container: Container) -> None:
    token = TokenSigner("https://id.example", container.key_ring).sign({"sub": "a"}, "ES256", "JWT")
    head, _payload, sig = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"b"}').rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        verified(container, f"{head}.{forged}.{sig}", "ES256")


def test_signing_follows_a_rotation(container: Container) -> None:
    ring = ring_of(container, min_publish_s=0)
    signer = TokenSigner("https://id.example", ring)
    before = header_of(signer.sign({"sub": "a"}, "ES256", "JWT"))["kid"]
    ring.rotate()
    after = header_of(signer.sign({"sub": "a"}, "ES256", "JWT"))["kid"]
    assert after != before and after == ring.signing_key("ES256").kid
