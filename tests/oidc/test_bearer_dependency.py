"""``RequireBearer``: the FastAPI dependency resource servers (the roster API) use.
RFC 6750 §3 responses; RFC 9068 §4 validation; Principal for user and service tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.testclient import TestClient

from homeroom.oidc.bearer import Principal
from homeroom.web.app import create_app
from homeroom.web.bearer import RequireBearer
from tests.oidc.conftest import ISSUER, OP


def client_with_route(op: OP) -> TestClient:
    app = create_app(op.container)

    @app.get("/api/test/whoami")
    def whoami(
        principal: Annotated[Principal, Depends(RequireBearer("roster.read"))],
    ) -> dict[str, object]:
        return {
            "client_id": principal.client_id,
            "district_id": principal.district_id,
            "subject": principal.subject,
            "scopes": sorted(principal.scopes),
        }

    return TestClient(app, base_url=ISSUER)


def test_service_token_with_the_scope_gets_a_principal(op: OP) -> None:
    token = op.token({"grant_type": "client_credentials"}, auth=(op.app.id, op.secret)).json()
    with client_with_route(op) as c:
        r = c.get("/api/test/whoami", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 200
    assert r.json() == {
        "client_id": op.app.id,
        "district_id": op.district.id,
        "subject": None,
        "scopes": ["roster.read"],
    }


def test_missing_token_is_a_bare_challenge(op: OP) -> None:
    with client_with_route(op) as c:
        r = c.get("/api/test/whoami")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="homeroom"'


def test_invalid_and_revoked_tokens(op: OP) -> None:
    token = op.token({"grant_type": "client_credentials"}, auth=(op.app.id, op.secret)).json()
    with client_with_route(op) as c:
        bad = c.get("/api/test/whoami", headers={"Authorization": "Bearer x.y.z"})
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]
        assert bad.json()["error"] == "invalid_token"
        basic = c.get("/api/test/whoami", headers={"Authorization": "Basic abc"})
        assert basic.status_code == 401
        op.client.post(
            "/revoke", data={"token": token["access_token"]}, auth=(op.app.id, op.secret)
        )
        revoked = c.get(
            "/api/test/whoami", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert revoked.status_code == 401


def test_a_user_token_without_the_scope_is_403_insufficient_scope(op: OP) -> None:
    access = op.tokens("openid")["access_token"]
    with client_with_route(op) as c:
        r = c.get("/api/test/whoami", headers={"Authorization": f"Bearer {access}"})
    assert r.status_code == 403
    assert r.headers["www-authenticate"] == (
        'Bearer realm="homeroom", error="insufficient_scope", scope="roster.read"'
    )
