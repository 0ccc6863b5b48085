"""Token revocation: RFC 7009."""

from __future__ import annotations

from typing import Any

from tests.oidc.conftest import OP


def revoke(op: OP, token: str, auth: tuple[str, str] | None = None, **extra: str) -> Any:
    return op.client.post(
        "/revoke", data={"token": token, **extra}, auth=auth or (op.app.id, op.secret)
    )


def test_revoking_an_access_token(op: OP) -> None:
    access = op.tokens()["access_token"]
    r = revoke(op, access, token_type_hint="access_token")
    assert r.status_code == 200
    u = op.client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert u.status_code == 401


def test_revoking_a_refresh_token_revokes_its_family_and_access_tokens(op: OP) -> None:
    body = op.tokens()
    assert revoke(op, body["refresh_token"]).status_code == 200
    r = op.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        auth=(op.app.id, op.secret),
    )
    assert r.json()["error"] == "invalid_grant"
    u = op.client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert u.status_code == 401


def test_invalid_tokens_are_a_200(op: OP) -> None:
    """§2.2: "invalid tokens do not cause an error response"."""
    assert revoke(op, "garbage").status_code == 200
    assert revoke(op, f"{op.district.id}.{'x' * 43}").status_code == 200


def test_another_client_cannot_revoke_my_tokens(op: OP) -> None:
    body = op.tokens()
    other = op.container.apps.create_app("Vandal", ["https://v.example/cb"])
    assert other.client_secret is not None
    auth = (other.app.id, other.client_secret)
    for token in (body["access_token"], body["refresh_token"]):
        r = revoke(op, token, auth)
        assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    u = op.client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert u.status_code == 200


def test_the_caller_must_authenticate(op: OP) -> None:
    r = op.client.post("/revoke", data={"token": "x"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
