"""The UserInfo endpoint: OIDC Core §5.3 with RFC 6750 bearer tokens."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from homeroom.sharing.models import Connection, FieldGroup
from homeroom.tenancy import TenantScope
from tests.oidc.conftest import ISSUER, OP, set_user_status


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_get_and_post_return_the_scoped_claims(op: OP) -> None:
    access = op.tokens("openid profile email")["access_token"]
    got = op.client.get("/userinfo", headers=bearer(access))
    assert got.status_code == 200
    assert got.json() == {
        "sub": op.student.id,
        "district": op.district.id,
        "name": "Lisa Simpson",
        "given_name": "Lisa",
        "family_name": "Simpson",
        "role": "student",
        "email": "lisa@springfield.example",
        "email_verified": True,
    }
    posted = op.client.post("/userinfo", headers=bearer(access))
    assert posted.json() == got.json()
    # RFC 6750 §2.2: the form-encoded body parameter.
    form = op.client.post("/userinfo", data={"access_token": access})
    assert form.json() == got.json()


def test_only_what_the_district_shares(op: OP) -> None:
    with TenantScope(op.district.id), op.container.db.scoped() as uow:
        uow.connections.put(Connection(op.district.id, op.app.id, field_groups=(FieldGroup.BASIC,)))
    op.container.oidc.clients.invalidate()
    access = op.tokens("openid profile email")["access_token"]
    claims = op.client.get("/userinfo", headers=bearer(access)).json()
    assert "email" not in claims and claims["name"] == "Lisa Simpson"


def test_no_token_is_a_bare_401_challenge(op: OP) -> None:
    r = op.client.get("/userinfo")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="homeroom"'


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_malformed_tokens_are_invalid_token(op: OP, token: str) -> None:
    r = op.client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_alg_none_and_foreign_keys_are_rejected(op: OP) -> None:
    access = op.tokens("openid")["access_token"]
    header, payload, _sig = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    r = op.client.get("/userinfo", headers=bearer(f"{none}.{payload}."))
    assert r.status_code == 401
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    forged_key = ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)
    forged = jwt.encode({"alg": "ES256", "kid": kid, "typ": "at+jwt"}, claims, forged_key)
    assert op.client.get("/userinfo", headers=bearer(forged)).status_code == 401
    # An HMAC token "signed" with the public key (algorithm confusion) is refused too.
    hmac_key = OctKey.import_key(b"secret-key-bytes-0123456789abcdef")
    hs = jwt.encode({"alg": "HS256", "kid": kid, "typ": "at+jwt"}, claims, hmac_key)
    assert op.client.get("/userinfo", headers=bearer(hs)).status_code == 401


def test_an_id_token_is_not_an_access_token(op: OP) -> None:
    id_token = op.tokens("openid")["id_token"]
    assert op.client.get("/userinfo", headers=bearer(id_token)).status_code == 401


def test_client_credentials_tokens_have_no_user(op: OP) -> None:
    access = op.token({"grant_type": "client_credentials"}, auth=(op.app.id, op.secret)).json()[
        "access_token"
    ]
    r = op.client.get("/userinfo", headers=bearer(access))
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_disconnected_apps_and_inactive_users_lose_access(op: OP) -> None:
    access = op.tokens("openid")["access_token"]
    set_user_status(op.container, op.student, "inactive")
    assert op.client.get("/userinfo", headers=bearer(access)).status_code == 401
    set_user_status(op.container, op.student, "active")
    with TenantScope(op.district.id), op.container.db.scoped() as uow:
        uow.connections.delete(op.app.id)
    op.container.oidc.clients.invalidate()
    assert op.client.get("/userinfo", headers=bearer(access)).status_code == 401


def test_issuer_is_checked(op: OP) -> None:
    assert ISSUER.startswith("http")
