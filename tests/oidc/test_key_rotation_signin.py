"""Rotating Homeroom's own keys through the secret store interrupts no sign-in.

A running app (one container, as one worker) follows rotations of the session-cookie key
and the signing keys: portal sessions signed with the old cookie key keep working, tokens
signed before the rotation keep verifying against the published JWKS and at /userinfo;
once the old key's retention has passed it is gone; a rollback restores the old key. Runs
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from starlette.requests import Request

from homeroom.secrets import ADMIN, RandomKeyRotator
from homeroom.storage.sql.tables_secrets import secrets
from tests.oidc.conftest import OP

COOKIE = "secret://development/homeroom-web/session-cookie-key"
SIGNING = (
    "secret://development/homeroom-web/signing-key-es256",
    "secret://development/homeroom-web/signing-key-rs256",
)


def _follow(op: OP) -> None:
    """What every worker does within its refresh interval: check the labels now."""
    op.container.session_keys.expire()
    op.container.key_ring.reload()


def _age(op: OP, ref: str, seconds: float) -> None:
    path = ref.removeprefix("secret://")
    with op.container.db.engine.begin() as conn:
        (at,) = conn.execute(select(secrets.c.rotated_at).where(secrets.c.path == path)).one()
        conn.execute(
            update(secrets)
            .where(secrets.c.path == path)
            .values(rotated_at=at - dt.timedelta(seconds=seconds))
        )


def _id_token_verifies(op: OP, token: str) -> bool:
    published = KeySet.import_key_set(op.client.get("/jwks.json").json())
    try:
        jwt.decode(token, published, algorithms=["ES256", "RS256"])
    except (JoseError, ValueError):
        return False
    return True


def _still_signed_in(op: OP) -> bool:
    r = op.authorize()
    return r.status_code == 302 and "code=" in r.headers["location"]


def _userinfo(op: OP, access_token: str) -> int:
    r = op.client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return r.status_code


def test_rotation_signs_nobody_out_and_the_old_keys_go_after_expiry(op: OP) -> None:
    before = op.tokens()  # signs in at the portal on the way
    assert _still_signed_in(op)
    old_cookie = op.client.cookies.get("homeroom_session")
    store = op.container.secret_store
    store.rotate(ADMIN, COOKIE, RandomKeyRotator(32))
    op.container.key_ring.rotate(force=True)
    _follow(op)

    assert op.client.cookies.get("homeroom_session") == old_cookie
    assert _still_signed_in(op)  # the session signed with the old cookie key
    assert _id_token_verifies(op, before["id_token"])  # signed by the now-retired key
    assert _userinfo(op, before["access_token"]) == 200
    after = op.exchange(op.code()).json()
    assert _id_token_verifies(op, after["id_token"])
    new_kid = jwt.decode(after["access_token"], op.container.key_ring.verification_keys()).header
    assert new_kid["kid"] == op.container.key_ring.signing_key("ES256").kid

    # Time passes beyond every old token's and cookie's lifetime: the old keys are gone.
    for ref in (COOKIE, *SIGNING):
        _age(op, ref, 48 * 3600)
    _follow(op)
    assert not _id_token_verifies(op, before["id_token"])
    assert _userinfo(op, before["access_token"]) == 401
    assert _userinfo(op, after["access_token"]) == 200
    assert not _still_signed_in(op)  # the old cookie no longer verifies


def test_rollback_restores_the_old_keys(op: OP) -> None:
    op.tokens()
    old_cookie = op.client.cookies.get("homeroom_session")
    old_kid = op.container.key_ring.signing_key("ES256").kid
    store = op.container.secret_store
    store.rotate(ADMIN, COOKIE, RandomKeyRotator(32))
    op.container.key_ring.rotate(force=True)
    _follow(op)
    op.login()  # a sign-in under the new cookie key
    new_cookie = op.client.cookies.get("homeroom_session")
    assert new_cookie != old_cookie
    signed_new = op.exchange(op.code()).json()

    assert "current is version" in store.rollback(ADMIN, COOKIE)
    for ref in SIGNING:
        assert "cancelled pending" in store.rollback(ADMIN, ref)
        assert "current is version" in store.rollback(ADMIN, ref)
    _follow(op)
    assert op.container.key_ring.signing_key("ES256").kid == old_kid
    assert _still_signed_in(op)  # the cookie signed with the rolled-back key still counts
    assert _id_token_verifies(op, signed_new["id_token"])
    # (Signing in again ended the old session; its cookie's signature still verifies.)
    request = Request(
        {"type": "http", "headers": [(b"cookie", f"homeroom_session={old_cookie}".encode())]}
    )
    assert op.container.session_cookie.read(request) is not None
