"""Caches and KV keys: every key of tenant data carries the district, and an object cached
for district A is never served to district B.

``KV_KEYS`` is the register of every KV key prefix (documented in docs/security.md): a new
prefix written during the world's sign-ins, token grants and API calls fails
``test_every_kv_key_is_registered`` until it is classified here.
"""

from __future__ import annotations

import hashlib

import pytest

from homeroom.identity.lockout import SignInLocked, SignInLockout
from homeroom.identity.sessions import SessionStore
from homeroom.ids import is_id, new_id
from homeroom.oidc.codes import AuthorizationCode, CodeStore
from homeroom.ops.ratelimit import RateLimiter
from homeroom.storage.kv import MemoryKV
from tests.isolation.world import World

# prefix -> (tenant?, why it is safe)
KV_KEYS: dict[str, tuple[bool, str]] = {
    "sess:": (True, "sess:<district>.<random>: the id names the district, checked on read"),
    "usess:": (True, "usess:<district>:<user>:<session>"),
    "code:": (True, "code:<district>:<sha256(code)>, grant checked against the district"),
    "code-spent:": (True, "code-spent:<district>:<sha256(code)>"),
    "revoked:": (False, "revoked:<jti>: a flag on a random token id, no tenant data"),
    "assertion:": (False, "assertion:<client>:<jti>: replay guard per (global) app"),
    "rl": (
        False,
        "rate limits and sign-in lockouts (limits library); keys are hashes, a lockout's "
        "of (district, username, ip): the district is in the hash",
    ),
}


def _prefix(key: str) -> str | None:
    return next((p for p in KV_KEYS if key.startswith(p)), None)


def test_every_kv_key_is_registered(world: World) -> None:
    kv = getattr(world.container.kv, "inner", world.container.kv)  # under MeteredKV
    assert isinstance(kv, MemoryKV)
    world.browser().post("/login", data={"district": world.a.district.slug})  # a failure
    keys = list(kv._data)
    assert keys, "the world wrote no KV keys"
    unknown = sorted({k.split(":")[0] for k in keys if _prefix(k) is None})
    assert unknown == [], f"KV keys with no entry in KV_KEYS: {unknown}"
    districts = (world.a.district.id, world.b.district.id)
    for key in keys:
        prefix = _prefix(key)
        assert prefix is not None
        if KV_KEYS[prefix][0]:
            assert any(d in key for d in districts), f"tenant KV key without district: {key}"


def test_a_session_is_never_served_under_another_district() -> None:
    kv = MemoryKV()
    store = SessionStore(kv)
    a, b = new_id("district"), new_id("district")
    session = store.start(a, new_id("user"), "password")
    assert session.id.startswith(a + ".")
    assert store.get(session.id) == session
    relabelled = b + session.id[len(a) :]
    kv.set("sess:" + relabelled, kv.get("sess:" + session.id) or b"", ttl_s=60)
    assert store.get(relabelled) is None


def test_a_code_is_never_redeemed_under_another_district() -> None:
    kv = MemoryKV()
    codes = CodeStore(kv)
    a, b = new_id("district"), new_id("district")
    grant = AuthorizationCode(
        client_id="app_x",
        redirect_uri="https://x/cb",
        scope="openid",
        district_id=a,
        user_id=new_id("user"),
        sid="s",
        auth_time=0,
        code_challenge=None,
        nonce=None,
    )
    code = codes.issue(grant)
    relabelled = b + code[len(a) :]
    raw = kv.pop(f"code:{a}:" + hashlib.sha256(code.encode()).hexdigest())
    assert raw is not None
    kv.set(f"code:{b}:" + hashlib.sha256(relabelled.encode()).hexdigest(), raw)
    assert codes.redeem(relabelled) is None


def test_cached_connection_of_a_is_never_served_to_b(world: World) -> None:
    clients = world.container.oidc.clients
    clients.invalidate()
    mine = clients.connection(world.a.district.id, world.a.app.id)
    assert mine is not None and mine.district_id == world.a.district.id
    assert clients.connection(world.b.district.id, world.a.app.id) is None  # not A's object
    shared_b = clients.connection(world.b.district.id, world.shared_app.id)
    assert shared_b is not None and shared_b.district_id == world.b.district.id
    keys = list(clients._connections._data)
    assert keys and all(isinstance(k, tuple) and is_id(k[0], "district") for k in keys)


def test_sign_in_lockout_of_a_does_not_lock_b() -> None:
    lockout = SignInLockout(RateLimiter({"ip": "100/minute", "account": "2/minute"}))
    a, b = new_id("district"), new_id("district")
    for _ in range(2):
        lockout.failed(a, "sam", "10.0.0.1")
    with pytest.raises(SignInLocked):
        lockout.admit(a, "sam", "10.0.0.1")  # sam of A is locked
    lockout.admit(b, "sam", "10.0.0.1")  # sam of B is not


def test_a_warm_connection_of_a_never_lets_the_app_into_b(world: World) -> None:
    """End to end: A's cached connection of the shared app is warm, B's is gone from the
    database; a token for B must be refused (a cache keyed by app alone would grant it)."""
    clients = world.container.oidc.clients
    clients.invalidate()
    client = world.browser()
    auth = (world.shared_app.id, world.shared_secret)

    def token_for(slug: str) -> int:
        data = {"grant_type": "client_credentials", "district": slug}
        return client.post("/token", data=data, auth=auth).status_code

    assert token_for(world.a.district.slug) == 200  # warms (A, shared app)
    world.container.sharing.disconnect(world.b.district, world.shared_app.id)
    assert clients.connection(world.a.district.id, world.shared_app.id) is not None
    assert token_for(world.b.district.slug) in (400, 401)
    assert token_for(world.a.district.slug) == 200  # A's stays connected
