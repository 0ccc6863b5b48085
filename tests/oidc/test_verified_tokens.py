"""``KeyRing.decode`` remembers verified tokens by their exact text (and the access tokens
this process signs), so that userinfo and the roster API do not verify the same ECDSA
signature again. These tests pin what that memory may never do: accept a token whose bytes
differ, outlive the key that vouched for it, or answer for an algorithm not asked for."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import JoseError

from homeroom.oidc import keys as keys_module
from homeroom.oidc.bearer import verify_access_token
from homeroom.oidc.errors import InvalidToken
from homeroom.oidc.keys import KeyRing
from homeroom.oidc.tokens import TokenSigner
from homeroom.wiring import Container
from tests.oidc.test_keys import age_rotation, ring_of

ISSUER = "https://id.example"
ES = "secret://development/homeroom-web/signing-key-es256"
RS = "secret://development/homeroom-web/signing-key-rs256"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature verification joserfc is asked for, by token."""
    seen: list[str] = []
    real: Callable[..., Any] = jwt.decode

    def counting(value: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(value)
        return real(value, *args, **kwargs)

    monkeypatch.setattr(keys_module.jwt, "decode", counting)
    return seen


def access_token(ring: KeyRing, subject: str = "usr_1") -> str:
    token, _jti, _exp = TokenSigner(ISSUER, ring).access_token(
        client_id="app_1", district_id="dst_1", subject=subject, scope="openid", ttl_s=300
    )
    return token


def check(ring: KeyRing, token: str) -> str | None:
    return verify_access_token(token, issuer=ISSUER, keys=ring, revocations=None).subject


def test_an_access_token_we_signed_needs_no_second_verification(
    container: Container, decodes: list[str]
) -> None:
    ring = ring_of(container)
    token = access_token(ring)
    assert check(ring, token) == "usr_1"
    assert check(ring, token) == "usr_1"
    assert decodes == []


def test_a_token_signed_elsewhere_is_verified_once(
    container: Container, decodes: list[str]
) -> None:
    ring = ring_of(container)
    other = ring_of(container)  # another process: same keys, its own memory
    token = access_token(other)
    assert check(ring, token) == "usr_1"
    assert check(ring, token) == "usr_1"
    assert decodes == [token]


def test_a_changed_copy_of_a_remembered_token_is_verified_and_refused(
    container: Container,
) -> None:
    ring = ring_of(container)
    token = access_token(ring, subject="usr_1")
    assert check(ring, token) == "usr_1"
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "usr_2"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="signature"):
        check(ring, f"{head}.{forged}.{sig}")
    with pytest.raises(InvalidToken, match="signature"):
        check(ring, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_a_key_that_leaves_the_ring_takes_its_remembered_tokens_with_it(
    container: Container,
) -> None:
    ring = ring_of(container, min_publish_s=0, retain_s=600)
    token = access_token(ring)
    ring.rotate()
    assert check(ring, token) == "usr_1"  # its key is retired, still published
    age_rotation(container, ES, 601)
    age_rotation(container, RS, 601)
    ring.reload()  # the key is no longer published
    with pytest.raises(InvalidToken, match="signature"):
        check(ring, token)


def test_a_remembered_token_answers_only_for_the_algorithms_asked(
    container: Container,
) -> None:
    ring = ring_of(container)
    token = access_token(ring)  # ES256
    assert ring.decode(token, ["ES256"]).claims["sub"] == "usr_1"
    with pytest.raises((JoseError, ValueError)):
        ring.decode(token, ["RS256"])


def test_the_memory_is_bounded_oldest_first(
    container: Container, decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys_module, "REMEMBERED_TOKENS", 3)
    ring = ring_of(container)
    tokens = [access_token(ring, subject=f"usr_{i}") for i in range(5)]
    assert [check(ring, t) for t in tokens[2:]] == ["usr_2", "usr_3", "usr_4"]
    assert decodes == []
    assert check(ring, tokens[0]) == "usr_0"
    assert decodes == [tokens[0]]  # forgotten, so verified again
