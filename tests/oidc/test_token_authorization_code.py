"""The authorization_code grant: RFC 6749 §4.1.3, §5; RFC 7636 §4.6; OIDC Core §3.1.3."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from homeroom.oidc.errors import InvalidGrant
from homeroom.oidc.token_endpoint import token_request
from homeroom.oidc.tokens import TokenSigner, at_hash
from tests.oidc.conftest import ISSUER, OP, REDIRECT, pkce_pair


def verify_id_token(op: OP, token: str, alg: str = "ES256") -> dict[str, Any]:
    keys = KeySet.import_key_set(op.client.get("/jwks.json").json())
    decoded = jwt.decode(token, keys, algorithms=[alg])
    assert decoded.header["alg"] == alg
    return dict(decoded.claims)


def test_a_code_is_exchanged_for_tokens(op: OP) -> None:
    r = op.exchange(op.code())
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"  # RFC 6749 §5.1
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["scope"] == "openid profile email"
    assert "refresh_token" not in body  # only with offline_access
    claims = verify_id_token(op, body["id_token"])
    assert claims["iss"] == ISSUER and claims["aud"] == op.app.id
    assert claims["sub"] == op.student.id and claims["nonce"] == "n-456"
    assert claims["exp"] > time.time() and "auth_time" in claims and claims["sid"]
    assert claims["at_hash"] == at_hash(body["access_token"])
    assert claims["name"] == "Lisa Simpson" and claims["email"] == "lisa@springfield.example"
    assert claims["district"] == op.district.id and claims["role"] == "student"


def test_the_access_token_is_an_rfc9068_jwt(op: OP) -> None:
    body = op.exchange(op.code()).json()
    keys = KeySet.import_key_set(op.client.get("/jwks.json").json())
    decoded = jwt.decode(body["access_token"], keys, algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    c = decoded.claims
    assert {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"} <= set(c)
    assert c["client_id"] == op.app.id and c["district"] == op.district.id
    assert c["exp"] - c["iat"] <= 900  # short-lived


def test_claims_follow_the_scope(op: OP) -> None:
    body = op.exchange(op.code(scope="openid")).json()
    claims = verify_id_token(op, body["id_token"])
    assert "name" not in claims and "email" not in claims
    assert claims["sub"] == op.student.id and claims["district"] == op.district.id


def test_rs256_when_the_client_registered_it(op: OP) -> None:
    new = op.container.apps.create_app("RSA app", [REDIRECT], id_token_alg="RS256")
    op.container.apps.connect(op.district, new.app.id)
    op.login()
    r = op.authorize(client_id=new.app.id)
    from tests.oidc.conftest import query_of

    code = query_of(r.headers["location"])["code"]
    assert new.client_secret is not None
    body = op.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(new.app.id, new.client_secret),
    ).json()
    verify_id_token(op, body["id_token"], alg="RS256")


def test_a_code_is_single_use_and_reuse_revokes_what_it_issued(op: OP) -> None:
    code = op.code(scope="openid offline_access")
    first = op.exchange(code).json()
    again = op.exchange(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # The access token and the refresh token issued from the code are revoked.
    userinfo = op.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert userinfo.status_code == 401
    refresh = op.token(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(op.app.id, op.secret),
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_a_replay_while_the_first_redemption_is_issuing_revokes_its_access_token(
    op: OP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The code is marked spent, with the jti it is about to issue, in the same step that
    redeems it: a replay that wins the race against the issuing finds the marker. (Its
    refresh token is not yet stored then, so the family's revocation finds nothing: the
    access token is what this proves.)"""
    code = op.code(scope="openid")
    replays: list[str] = []
    sign = TokenSigner.access_token

    def access_token(self: TokenSigner, **kwargs: Any) -> tuple[str, str, int]:
        if not replays:  # the replay, between the first redemption's pop and its signing
            form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
            basic = base64.b64encode(f"{op.app.id}:{op.secret}".encode()).decode()
            with pytest.raises(InvalidGrant) as refused:
                token_request(op.container.oidc, form, f"Basic {basic}")
            replays.append(refused.value.error)
        return sign(self, **kwargs)

    monkeypatch.setattr(TokenSigner, "access_token", access_token)
    first = op.exchange(code)
    assert first.status_code == 200 and replays == ["invalid_grant"]
    userinfo = op.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert userinfo.status_code == 401


def test_pkce_verifier_must_match(op: OP) -> None:
    verifier, challenge = pkce_pair()
    code = op.code(code_challenge=challenge, code_challenge_method="S256")
    wrong = op.exchange(code, code_verifier=pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # The failed attempt consumed the code (single use even on failure).
    assert op.exchange(code, code_verifier=verifier).json()["error"] == "invalid_grant"
    code = op.code(code_challenge=challenge, code_challenge_method="S256")
    assert op.exchange(code, code_verifier=verifier).status_code == 200


def test_pkce_verifier_is_required_when_a_challenge_was_sent(op: OP) -> None:
    _verifier, challenge = pkce_pair()
    code = op.code(code_challenge=challenge, code_challenge_method="S256")
    assert op.exchange(code).json()["error"] == "invalid_grant"


def test_public_client_with_pkce_and_no_secret(op: OP) -> None:
    verifier, challenge = pkce_pair()
    redirect = "https://pad.example/cb"
    code = op.code(
        client_id=op.public_app.id,
        redirect_uri=redirect,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    r = op.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": op.public_app.id,
            "code_verifier": verifier,
        }
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("redirect_uri", ["", "https://app.example/other", REDIRECT + "/"])
def test_redirect_uri_must_be_identical(op: OP, redirect_uri: str) -> None:
    code = op.code()
    data = {"grant_type": "authorization_code", "code": code}
    if redirect_uri:
        data["redirect_uri"] = redirect_uri
    r = op.token(data, auth=(op.app.id, op.secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_client(op: OP) -> None:
    other = op.container.apps.create_app("Other", [REDIRECT])
    op.container.apps.connect(op.district, other.app.id)
    assert other.client_secret is not None
    code = op.code()
    r = op.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(other.app.id, other.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_an_expired_code_is_invalid_grant(op: OP) -> None:
    from homeroom.oidc.codes import _CODE, _key

    code = op.code()
    op.container.kv.set(_key(_CODE, code), op.container.kv.get(_key(_CODE, code)) or b"", 0.001)
    time.sleep(0.01)
    assert op.exchange(code).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        (
            {"grant_type": "password", "username": "a", "password": "b"},
            400,
            "unsupported_grant_type",
        ),
        ({}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "nope"}, 400, "invalid_grant"),
    ],
)
def test_error_responses_use_rfc6749_codes(
    op: OP, data: dict[str, str], status: int, error: str
) -> None:
    r = op.token(data, auth=(op.app.id, op.secret))
    assert r.status_code == status and r.json()["error"] == error
    assert r.headers["cache-control"] == "no-store"


def test_a_json_body_is_refused(op: OP) -> None:
    r = op.client.post(
        "/token", json={"grant_type": "client_credentials"}, auth=(op.app.id, op.secret)
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_repeated_parameters_are_refused(op: OP) -> None:
    r = op.client.post(
        "/token",
        content="grant_type=authorization_code&code=a&code=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(op.app.id, op.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def _raw_token_request(op: OP, body: bytes) -> Any:
    return op.client.post(
        "/token",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(op.app.id, op.secret),
    )


def test_form_values_are_percent_and_plus_decoded(op: OP) -> None:
    """WHATWG urlencoded: ``+`` is a space and escapes are UTF-8, so a scope spelled with
    either encoding is the same scope (client credentials narrowing to what it asked)."""
    for spelled in (b"scope=roster.read+usage.write", b"scope=roster.read%20usage.write"):
        r = _raw_token_request(op, b"grant_type=client_credentials&" + spelled)
        assert r.status_code == 200, r.text
        assert r.json()["scope"] == "roster.read usage.write"
    r = _raw_token_request(op, b"grant_type=client_credentials&scope=roster.read%2Busage.write")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"  # %2B is a real +


def test_a_body_that_is_not_utf8_is_an_invalid_request(op: OP) -> None:
    r = _raw_token_request(op, b"grant_type=client_credentials&scope=%ff%fe")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "UTF-8" in r.json()["error_description"]


def test_an_oversized_body_is_an_invalid_request_and_not_buffered(op: OP) -> None:
    r = _raw_token_request(op, b"grant_type=client_credentials&pad=" + b"a" * (65 * 1024))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "too large" in r.json()["error_description"]


def test_blank_values_are_kept_as_blank(op: OP) -> None:
    """``code=`` is a present but empty code: refused as a missing code, not as garbage."""
    r = _raw_token_request(op, b"grant_type=authorization_code&code=&redirect_uri=")
    assert r.status_code == 400 and r.json()["error"] in ("invalid_request", "invalid_grant")
