"""The verifications that make a wrong answer an error (RFC 6749, RFC 7636, OIDC Core)."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from homeroom.loadtest.checks import (
    CheckFailed,
    callback_code,
    find_login_form,
    pkce_pair,
    verify_jwt,
)

ISSUER = "https://id.example"
CB = "http://127.0.0.1:9/loadtest/callback"


def test_pkce_s256_challenge_matches_the_verifier() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


def kind(exc: pytest.ExceptionInfo[CheckFailed]) -> str:
    return exc.value.kind


def test_callback_checks_redirect_state_and_errors() -> None:
    assert callback_code(f"{CB}?code=abc&state=s1", CB, "s1") == "abc"
    cases = {
        f"{CB}?code=abc&state=s2": "state_mismatch",
        f"{CB}?code=abc": "state_mismatch",
        f"{CB}?state=s1": "no_code",
        f"{CB}?error=access_denied&state=s1": "authorize_error_access_denied",
        "https://evil.example/cb?code=abc&state=s1": "redirect_not_to_client",
    }
    for location, expected in cases.items():
        with pytest.raises(CheckFailed) as exc:
            callback_code(location, CB, "s1")
        assert kind(exc) == expected, location


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "k1"})


def token(key: ECKey, **claims: object) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "app_1", "sub": "usr_1", "exp": now + 300, "iat": now}
    body.update(claims)
    return jwt.encode({"alg": "ES256", "kid": key.kid}, body, key)


def test_a_good_id_token_verifies(key: ECKey) -> None:
    claims = verify_jwt(
        token(key, nonce="n1"), KeySet([key]), issuer=ISSUER, audience="app_1", nonce="n1"
    )
    assert claims["sub"] == "usr_1"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"iss": "https://other.example"}, "id_token_iss"),
        ({"aud": "app_2"}, "id_token_aud"),
        ({"aud": ["app_1", "app_2"]}, "id_token_azp"),
        ({"exp": int(time.time()) - 3600}, "id_token_exp"),
        ({"nonce": "n2"}, "id_token_nonce"),
        ({"sub": ""}, "id_token_sub"),
        ({"iat": int(time.time()) + 3600}, "id_token_iat"),
    ],
)
def test_a_wrong_claim_is_an_error(key: ECKey, claims: dict[str, object], expected: str) -> None:
    claims = {"nonce": "n1", **claims}
    with pytest.raises(CheckFailed) as exc:
        verify_jwt(token(key, **claims), KeySet([key]), issuer=ISSUER, audience="app_1", nonce="n1")
    assert kind(exc) == expected


def test_a_forged_or_unknown_signature_is_an_error(key: ECKey) -> None:
    impostor = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    with pytest.raises(CheckFailed) as exc:
        verify_jwt(token(impostor), KeySet([key]), issuer=ISSUER, audience="app_1")
    assert kind(exc) == "id_token_signature"
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k9"})
    with pytest.raises(CheckFailed) as exc:
        verify_jwt(token(stranger), KeySet([key]), issuer=ISSUER, audience="app_1")
    assert kind(exc) == "id_token_unknown_key"
    with pytest.raises(CheckFailed) as exc:
        verify_jwt("bm90.YS1qd3Q.c2ln", KeySet([key]), issuer=ISSUER)
    assert kind(exc) == "id_token_signature"
    with pytest.raises(CheckFailed) as exc:
        verify_jwt("", KeySet([key]), issuer=ISSUER)
    assert kind(exc) == "id_token_malformed"


def test_login_form_keeps_csrf_and_finds_the_fields() -> None:
    page = """<html><body>
      <form action="/search"><input name="q"></form>
      <form method="post" action="/login?district=maplewood&amp;next=%2Fauthorize">
        <input type="hidden" name="csrf_token" value="tok&amp;1">
        <input type="text" name="username" autocomplete="username">
        <input type="password" name="password">
        <input type="checkbox" name="remember">
        <button type="submit">Sign in</button>
      </form></body></html>"""
    form = find_login_form(page, "http://127.0.0.1:8000/login?district=maplewood")
    assert form.action == "http://127.0.0.1:8000/login?district=maplewood&next=%2Fauthorize"
    assert form.method == "post"
    assert form.fields == {"csrf_token": "tok&1"}
    assert (form.username_field, form.password_field) == ("username", "password")
    with pytest.raises(CheckFailed) as exc:
        find_login_form('<form><input name="q"></form>', "http://x/")
    assert kind(exc) == "no_login_form"
