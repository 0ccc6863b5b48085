"""Token introspection: RFC 7662. A client sees only its own tokens."""

from __future__ import annotations

from typing import Any

from tests.oidc.conftest import OP


def introspect(op: OP, token: str, auth: tuple[str, str] | None = None) -> Any:
    return op.client.post("/introspect", data={"token": token}, auth=auth or (op.app.id, op.secret))


def test_active_access_and_refresh_tokens(op: OP) -> None:
    body = op.tokens()
    access = introspect(op, body["access_token"]).json()
    assert access["active"] is True
    assert access["client_id"] == op.app.id and access["sub"] == op.student.id
    assert set(access["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert access["district"] == op.district.id and access["exp"] > access.get("iat", 0)
    refresh = introspect(op, body["refresh_token"]).json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"


def test_inactive_tokens(op: OP) -> None:
    for token in ("garbage", f"{op.district.id}.{'x' * 43}"):
        assert introspect(op, token).json() == {"active": False}
    body = op.tokens()
    op.client.post("/revoke", data={"token": body["access_token"]}, auth=(op.app.id, op.secret))
    assert introspect(op, body["access_token"]).json() == {"active": False}


def test_another_clients_tokens_look_inactive(op: OP) -> None:
    body = op.tokens()
    other = op.container.apps.create_app("Snoop", ["https://snoop.example/cb"])
    assert other.client_secret is not None
    auth = (other.app.id, other.client_secret)
    assert introspect(op, body["access_token"], auth).json() == {"active": False}
    assert introspect(op, body["refresh_token"], auth).json() == {"active": False}


def test_the_caller_must_authenticate(op: OP) -> None:
    token = op.tokens()["access_token"]
    r = op.client.post("/introspect", data={"token": token})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    public = op.client.post("/introspect", data={"token": token, "client_id": op.public_app.id})
    assert public.status_code == 401


def test_token_is_required(op: OP) -> None:
    r = op.client.post("/introspect", data={}, auth=(op.app.id, op.secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
