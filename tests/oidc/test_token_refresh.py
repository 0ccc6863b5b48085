"""The refresh_token grant: RFC 6749 §6 with rotation and reuse detection (BCP §4.14.2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from homeroom.storage.sql.tables_oidc import refresh_tokens
from homeroom.tenancy import TenantScope
from tests.oidc.conftest import OP


def refresh(op: OP, token: str, **extra: str) -> Any:
    return op.token(
        {"grant_type": "refresh_token", "refresh_token": token, **extra},
        auth=(op.app.id, op.secret),
    )


def test_offline_access_yields_a_refresh_token_stored_only_as_a_hash(op: OP) -> None:
    body = op.tokens()
    token = body["refresh_token"]
    assert token.startswith(op.district.id + ".")
    with TenantScope(op.district.id), op.container.db.scoped() as uow:
        stored = [r.token_hash for r in uow.conn.execute(select(refresh_tokens))]
    assert stored and token not in stored and all(len(h) == 64 for h in stored)


def test_every_use_rotates_the_refresh_token(op: OP) -> None:
    first = op.tokens()["refresh_token"]
    r = refresh(op, first)
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first
    assert second["access_token"] and second["id_token"]
    third = refresh(op, second["refresh_token"])
    assert third.status_code == 200


def test_reuse_of_a_rotated_token_revokes_the_whole_family(op: OP) -> None:
    first = op.tokens()["refresh_token"]
    second = refresh(op, first).json()
    reuse = refresh(op, first)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # The legitimate holder's newer token is dead too, and so is its access token.
    assert refresh(op, second["refresh_token"]).json()["error"] == "invalid_grant"
    r = op.client.get("/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert r.status_code == 401


def test_a_refresh_token_is_bound_to_its_client(op: OP) -> None:
    token = op.tokens()["refresh_token"]
    other = op.container.apps.create_app("Other", ["https://o.example/cb"])
    assert other.client_secret is not None
    r = op.token(
        {"grant_type": "refresh_token", "refresh_token": token},
        auth=(other.app.id, other.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert refresh(op, token).status_code == 200  # untouched by the other client's attempt


def test_scope_may_narrow_but_never_widen(op: OP) -> None:
    token = op.tokens("openid profile offline_access")["refresh_token"]
    wider = refresh(op, token, scope="openid email offline_access")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrower = refresh(op, token, scope="openid")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "openid"


def test_without_offline_access_there_is_no_refresh_token(op: OP) -> None:
    assert "refresh_token" not in op.tokens("openid profile")


def test_garbage_tokens_are_invalid_grant(op: OP) -> None:
    for token in ("nope", f"{op.district.id}.{'x' * 43}", "dst_x.y"):
        r = refresh(op, token)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_a_disconnected_app_cannot_refresh(op: OP) -> None:
    token = op.tokens()["refresh_token"]
    with TenantScope(op.district.id), op.container.db.scoped() as uow:
        uow.connections.delete(op.app.id)
    op.container.oidc.clients.invalidate()
    assert refresh(op, token).json()["error"] == "invalid_grant"
