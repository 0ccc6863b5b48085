"""Client authentication: RFC 6749 §2.3.1, OIDC Core §9, RFC 7523 (private_key_jwt)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import quote_plus

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from homeroom.errors import InvalidInput
from homeroom.sharing.models import App
from tests.oidc.conftest import ISSUER, OP

CC = {"grant_type": "client_credentials"}


def test_client_secret_basic(op: OP) -> None:
    r = op.token(CC, auth=(op.app.id, op.secret))
    assert r.status_code == 200, r.text


def test_client_secret_basic_is_form_urlencoded_first(op: OP) -> None:
    raw = f"{quote_plus(op.app.id)}:{quote_plus(op.secret)}".encode()
    header = "Basic " + base64.b64encode(raw).decode()
    r = op.client.post("/token", data=CC, headers={"Authorization": header})
    assert r.status_code == 200


def test_client_secret_post(op: OP) -> None:
    r = op.token({**CC, "client_id": op.app.id, "client_secret": op.secret})
    assert r.status_code == 200


def test_wrong_secret_is_invalid_client_401_with_www_authenticate(op: OP) -> None:
    r = op.token(CC, auth=(op.app.id, op.secret + "x"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")


def test_unknown_client_and_no_credentials(op: OP) -> None:
    assert op.token(CC, auth=("app_unknown00000000000000", "x")).status_code == 401
    assert op.token({**CC, "client_id": op.app.id}).status_code == 401
    assert op.token(CC).status_code == 401


def test_two_methods_at_once_are_refused(op: OP) -> None:
    r = op.token(
        {**CC, "client_id": op.app.id, "client_secret": op.secret}, auth=(op.app.id, op.secret)
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_a_public_client_cannot_authenticate_with_a_secret(op: OP) -> None:
    r = op.token(CC, auth=(op.public_app.id, "anything"))
    assert r.status_code == 401


def _jwt_app(op: OP) -> tuple[App, ECKey]:
    key = ECKey.generate_key("P-256", parameters={"kid": "rp-1"}, private=True)
    new = op.container.apps.create_app(
        "Signed app",
        ["https://signed.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    assert new.client_secret is None
    assert new.app.token_endpoint_auth_method == "private_key_jwt"
    op.container.apps.connect(op.district, new.app.id)
    return new.app, key


def _assertion(app: App, key: ECKey, **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": app.id,
        "sub": app.id,
        "aud": f"{ISSUER}/token",
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return jwt.encode({"alg": "ES256", "kid": "rp-1"}, claims, key)


def _post(op: OP, assertion: str) -> int:
    r = op.token(
        {
            **CC,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
    )
    return int(r.status_code)


def test_private_key_jwt(op: OP) -> None:
    app, key = _jwt_app(op)
    assertion = _assertion(app, key)
    assert _post(op, assertion) == 200
    assert _post(op, assertion) == 401  # jti single use: a replay is refused


def test_private_key_jwt_rejects_bad_assertions(op: OP) -> None:
    app, key = _jwt_app(op)
    stranger = ECKey.generate_key("P-256", parameters={"kid": "rp-1"}, private=True)
    assert _post(op, _assertion(app, stranger)) == 401  # wrong key
    assert _post(op, _assertion(app, key, aud="https://elsewhere.example")) == 401
    assert _post(op, _assertion(app, key, exp=int(time.time()) - 60)) == 401
    assert _post(op, _assertion(app, key, sub="someone-else")) == 401
    assert _post(op, _assertion(app, key, jti=None)) == 401
    # alg "none": an unsigned assertion is never accepted.
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = {
        "iss": app.id,
        "sub": app.id,
        "aud": f"{ISSUER}/token",
        "exp": int(time.time()) + 60,
        "jti": "x",
    }
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    assert _post(op, f"{header}.{body}.") == 401


def test_a_private_key_jwt_client_cannot_fall_back_to_a_secret(op: OP) -> None:
    app, _key = _jwt_app(op)
    assert op.token(CC, auth=(app.id, "guess")).status_code == 401


def test_registering_private_keys_is_refused(op: OP) -> None:
    key = ECKey.generate_key("P-256", private=True)
    with pytest.raises(InvalidInput, match="public keys only"):
        op.container.apps.create_app(
            "Leaky", ["https://l.example/cb"], jwks={"keys": [key.as_dict(private=True)]}
        )
    with pytest.raises(InvalidInput, match="JWK Set"):
        op.container.apps.create_app("Bad", ["https://l.example/cb"], jwks={"keys": []})


def test_private_key_jwt_with_rs256(op: OP) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
    new = op.container.apps.create_app(
        "RSA signer", ["https://rsa.example/cb"], jwks={"keys": [key.as_dict(private=False)]}
    )
    now = int(time.time())
    claims = {"iss": new.app.id, "sub": new.app.id, "aud": ISSUER, "exp": now + 60, "jti": "j1"}
    assertion = jwt.encode({"alg": "RS256", "kid": "rsa-1"}, claims, key)
    op.container.apps.connect(op.district, new.app.id)
    assert _post(op, assertion) == 200
