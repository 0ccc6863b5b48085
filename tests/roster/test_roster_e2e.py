"""Issue 5, end to end: import the repository's sample OneRoster package, register an app,
connect it with a restricted share, get a real client_credentials token from ``/token`` and
read both APIs: exactly the shared subset comes back, nothing else. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from homeroom.oidc.tokens import TokenSigner
from homeroom.roster.models import District
from homeroom.sharing.models import ScopeMode
from homeroom.web.app import create_app
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings
from tests.roster.packages import copy_sample

ISSUER = "http://127.0.0.1:8000"
OR = "/ims/oneroster/v1p1"
# cls-oak-m3 ("Math 3 - Rivera"): its teacher and six students.
SHARED_USERNAMES = {
    "mrivera",
    "ava.park",
    "chloe.nguyen",
    "emma.smith",
    "gus.berg",
    "ivan.petrov",
    "kofi.mensah",
}


@dataclass
class World:
    container: Container
    client: TestClient
    riverside: District
    hillview: District
    app_id: str
    secret: str

    def token(self, district: str | None = "riverside", **extra: str) -> Any:
        data = {"grant_type": "client_credentials", **extra}
        if district is not None:
            data["district"] = district
        return self.client.post("/token", data=data, auth=(self.app_id, self.secret))

    def bearer(self, district: str = "riverside") -> dict[str, str]:
        r = self.token(district)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def open_world(sql_target: SqlTarget, tmp_path: Path, **settings: object) -> Iterator[World]:
    container = build(make_settings(sql_target, tmp_path, issuer=ISSUER, **settings))
    admin = container.roster_admin
    riverside = admin.create_district("riverside", "Riverside")
    hillview = admin.create_district("hillview", "Hillview")
    container.roster_importer.import_package(riverside.id, copy_sample(tmp_path, "a"))
    container.roster_importer.import_package(hillview.id, copy_sample(tmp_path, "b"))
    created = container.apps.create_app("Reader", ["https://reader.example/cb"])
    assert created.client_secret is not None
    container.sharing.set_connection(
        riverside, created.app.id, mode=ScopeMode.SECTIONS, sections=["cls-oak-m3"]
    )
    with TestClient(create_app(container), base_url=ISSUER) as client:
        yield World(container, client, riverside, hillview, created.app.id, created.client_secret)
    container.close()


@pytest.fixture
def world(sql_target: SqlTarget, tmp_path: Path) -> Iterator[World]:
    yield from open_world(sql_target, tmp_path)


def usernames_of(users: list[dict[str, Any]]) -> set[str]:
    return {u["username"] for u in users}


def test_oneroster_returns_exactly_the_shared_subset(world: World) -> None:
    h = world.bearer()
    users = world.client.get(f"{OR}/users", headers=h, params={"limit": 100})
    assert users.status_code == 200, users.text
    assert users.headers["x-total-count"] == str(len(SHARED_USERNAMES))
    assert usernames_of(users.json()["users"]) == SHARED_USERNAMES
    # Basic fields only: no email, phone or demographics.
    assert all("email" not in u or not u["email"] for u in users.json()["users"])
    classes = world.client.get(f"{OR}/classes", headers=h).json()["classes"]
    assert [c["title"] for c in classes] == ["Math 3 - Rivera"]
    schools = world.client.get(f"{OR}/schools", headers=h).json()["schools"]
    assert [s["name"] for s in schools] == ["Oak Hill Elementary"]
    demographics = world.client.get(f"{OR}/demographics", headers=h)
    assert demographics.status_code in (200, 404)
    if demographics.status_code == 200:
        assert demographics.json()["demographics"] == []
    assert "x-ratelimit-limit" in users.headers and "x-ratelimit-remaining" in users.headers


def test_clever_returns_exactly_the_same_subset(world: World) -> None:
    h = world.bearer()
    oneroster = world.client.get(f"{OR}/users", headers=h).json()["users"]
    clever = world.client.get("/api/v3/users", headers=h, params={"limit": 100})
    assert clever.status_code == 200, clever.text
    assert {u["data"]["id"] for u in clever.json()["data"]} == {u["sourcedId"] for u in oneroster}
    sections = world.client.get("/api/v3/sections", headers=h).json()["data"]
    assert len(sections) == 1
    students = world.client.get(f"/api/v3/sections/{sections[0]['data']['id']}/users", headers=h)
    assert len(students.json()["data"]) == len(SHARED_USERNAMES)
    me = world.client.get("/api/v3/me", headers=h).json()
    assert me["data"] == {"id": world.riverside.id, "type": "district"}


def test_records_outside_the_share_and_other_districts_are_404(world: World) -> None:
    world.container.sharing.set_connection(world.hillview, world.app_id, mode=ScopeMode.DISTRICT)
    world.container.oidc.clients.invalidate()
    # Connected to two districts now: the token request must name one.
    r = world.token(district=None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    hill = world.client.get(f"{OR}/users", headers=world.bearer("hillview")).json()["users"]
    assert len(hill) == 28  # students and teachers (the default roles)
    river = world.bearer()
    shared = {
        u["sourcedId"] for u in world.client.get(f"{OR}/users", headers=river).json()["users"]
    }
    for user in hill:
        assert user["sourcedId"] not in shared
        assert world.client.get(f"{OR}/users/{user['sourcedId']}", headers=river).status_code == 404
        clever = world.client.get(f"/api/v3/users/{user['sourcedId']}", headers=river)
        assert clever.status_code == 404
    assert (
        world.client.get(f"/api/v3/districts/{world.hillview.id}", headers=river).status_code == 404
    )


def test_an_unconnected_app_gets_no_token_and_a_disconnected_one_404(world: World) -> None:
    other = world.container.apps.create_app("Stranger", ["https://stranger.example/cb"])
    assert other.client_secret is not None
    r = world.client.post(
        "/token",
        data={"grant_type": "client_credentials", "district": "riverside"},
        auth=(other.app.id, other.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    h = world.bearer()
    world.container.sharing.disconnect(world.riverside, world.app_id)
    for path in (f"{OR}/users", f"{OR}/orgs", "/api/v3/users", "/api/v3/districts"):
        assert world.client.get(path, headers=h).status_code == 404, path


def test_a_users_token_reaches_only_me(world: World) -> None:
    h = world.bearer()
    user_id = world.client.get("/api/v3/users", headers=h).json()["data"][0]["data"]["id"]
    ctx = world.container.oidc
    access, _, _ = TokenSigner(ctx.issuer, ctx.keys).access_token(
        client_id=world.app_id,
        district_id=world.riverside.id,
        subject=user_id,
        scope="openid profile",
        ttl_s=60,
    )
    mine = {"Authorization": f"Bearer {access}"}
    me = world.client.get("/api/v3/me", headers=mine)
    assert me.status_code == 200 and me.json()["data"]["id"] == user_id
    for path in (f"{OR}/users", "/api/v3/users", "/api/v3/sections", f"/api/v3/users/{user_id}"):
        assert world.client.get(path, headers=mine).status_code == 403, path


def test_a_district_token_needs_roster_read(world: World) -> None:
    r = world.token(scope="usage.write")
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    denied = world.client.get(f"{OR}/users", headers=h)
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]


def test_no_token_or_a_forged_one_is_401(world: World) -> None:
    assert world.client.get(f"{OR}/users").status_code == 401
    forged = {"Authorization": "Bearer a.b.c"}
    r = world.client.get("/api/v3/users", headers=forged)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_each_token_is_rate_limited_with_headers_and_429(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    for world in open_world(sql_target, tmp_path, rate_limit_client="3/minute"):
        h = world.bearer()
        remaining = []
        for path in (f"{OR}/users", "/api/v3/users", f"{OR}/users/nope"):
            r = world.client.get(path, headers=h)
            assert r.headers["x-ratelimit-limit"] == "3"
            assert int(r.headers["x-ratelimit-reset"]) >= 1
            remaining.append(int(r.headers["x-ratelimit-remaining"]))
        assert remaining == [2, 1, 0]
        refused = world.client.get("/api/v3/sections", headers=h)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["x-ratelimit-remaining"] == "0"
        # Another district's token of the same app counts on its own.
        world.container.sharing.set_connection(
            world.hillview, world.app_id, mode=ScopeMode.DISTRICT
        )
        world.container.oidc.clients.invalidate()
        assert world.client.get(f"{OR}/users", headers=world.bearer("hillview")).status_code == 200


def test_nul_bytes_are_refused_not_a_server_error(world: World) -> None:
    # Found by schemathesis: PostgreSQL refuses NUL in text, which was a 500.
    h = world.bearer()
    for path, params in (
        ("/api/v3/terms", {"starting_after": "\x00x"}),
        ("/api/v3/users/us%00r", {}),
        (f"{OR}/users", {"filter": "givenName='\x00'"}),
        (f"{OR}/users", {"sort": "\x00"}),
    ):
        r = world.client.get(path, params=params, headers=h)
        assert r.status_code in (400, 404, 422), (path, r.status_code)
