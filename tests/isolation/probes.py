"""Route probes: district A's caller replays each endpoint with district B's identifiers.

Each probe asserts that nothing of B comes back (``World.assert_clean``: bodies and
headers), that B's rows are unchanged where the route could write, and, where an
identifier is looked up, that B's identifier and an identifier that exists nowhere get the
same answer (``assert_same_answer``: no 403-versus-404 oracle).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

from homeroom.audit.models import AuditEvent
from homeroom.ids import new_id
from homeroom.tenancy import TenantScope
from tests.isolation.routes import probe
from tests.isolation.world import (
    METRICS_TOKEN,
    REDIRECT,
    HttpResponse,
    World,
    assert_same_answer,
    query_of,
)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------- operations


@probe(("GET", "/readyz"), ("GET", "/api/v1/status"))
def probe_health(world: World) -> None:
    client = world.a.admin_client
    assert client is not None
    for path in ("/readyz", "/api/v1/status"):
        r = client.get(path, params={"district": world.b.district.slug})
        assert r.status_code == 200, r.text
        world.assert_clean(r)


@probe(("GET", "/metrics"))
def probe_metrics(world: World) -> None:
    """Metric labels are route templates and codes, never ids, names or tokens."""
    client = world.a.admin_client
    assert client is not None
    client.get(f"/authorize?client_id={world.b.app.id}")  # B's ids in a request path...
    r = client.get("/metrics", headers=_bearer(METRICS_TOKEN))
    assert r.status_code == 200
    world.assert_clean(r)  # ...never in the exposition
    anon = client.get("/metrics", headers=_bearer(world.a.service_token))
    assert anon.status_code == 401


@probe(
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/jwks.json"),
)
def probe_discovery(world: World) -> None:
    client = world.a.student_client
    assert client is not None
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        world.assert_clean(client.get(path, params={"district": world.b.district.slug}))
    world.assert_clean(client.get("/jwks.json"))


# ---------------------------------------------------------------------- sign-in


@probe(("GET", "/login"))
def probe_login_page(world: World) -> None:
    """A's login page, asked for B's user as the username hint, shows nothing of B."""
    client = world.a.student_client
    assert client is not None
    b_user = world.b.student.username
    r = client.get("/login", params={"district": world.a.district.slug, "username": b_user})
    world.assert_clean(r, sent=[b_user, world.b.marker])
    nobody = "nobody-" + secrets.token_hex(4)
    other = client.get("/login", params={"district": world.a.district.slug, "username": nobody})
    assert_same_answer(r, other, replace=[(b_user, nobody)])


@probe(("POST", "/login"))
def probe_login_submit(world: World) -> None:
    """B's username and password in A's district fail exactly like an unknown user."""
    client = world.browser()
    b_user = world.b.student.username

    def attempt(username: str) -> HttpResponse:
        page = client.get("/login", params={"district": world.a.district.slug})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        return client.post(
            "/login",
            data={
                "csrf_token": csrf.group(1),
                "district": world.a.district.slug,
                "username": username,
                "password": "correct-horse-1",
            },
        )

    r = attempt(b_user)
    nobody = "nobody-" + secrets.token_hex(4)
    other = attempt(nobody)
    assert r.status_code == 401
    world.assert_clean(r, sent=[b_user, world.b.marker])
    assert_same_answer(r, other, replace=[(b_user, nobody)])
    # The failed attempt is audited in A (where it was tried), never in B.
    with_b = [e for e in _audit(world, world.b.district.id) if e.action == "signin.failure"]
    assert with_b == []


def _audit(world: World, district_id: str) -> list[AuditEvent]:
    with TenantScope(district_id), world.container.db.scoped() as uow:
        return list(uow.audit.list())


@probe(("GET", "/authorize"), ("POST", "/authorize"))
def probe_authorize(world: World) -> None:
    """A's signed-in student cannot sign in to B's app (connected only to B): the answer is
    the same as for an app connected to no district, and names nothing of B."""
    client = world.a.student_client
    assert client is not None

    def ask(client_id: str, method: str, **extra: str) -> HttpResponse:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
            "state": "s",
            **extra,
        }
        if method == "GET":
            return client.get("/authorize?" + urlencode(params), follow_redirects=False)
        return client.post("/authorize", data=params, follow_redirects=False)

    for method in ("GET", "POST"):
        b = ask(world.b.app.id, method)
        orphan = ask(world.orphan_app.id, method)
        assert b.status_code == 302
        assert query_of(b.headers["location"])["error"] == "access_denied"
        world.assert_clean(b, sent=[world.b.app.id])
        assert_same_answer(b, orphan, replace=[(world.b.app.id, world.orphan_app.id)])
        # A login hint naming B's user: A's session is used, B's user is not.
        hinted = ask(world.shared_app.id, method, login_hint=world.b.student.username)
        code = query_of(hinted.headers["location"]).get("code")
        assert code, hinted.headers
        world.assert_clean(hinted, sent=[world.b.student.username, world.b.marker])


# ---------------------------------------------------------------------- tokens


@probe(("POST", "/token"))
def probe_token(world: World) -> None:
    client = world.browser()
    auth = (world.a.app.id, world.a.app_secret)
    fake_refresh = world.b.district.id + "." + secrets.token_urlsafe(32)
    unknown_refresh = new_id("district") + "." + secrets.token_urlsafe(32)
    b_refresh = str(world.b.own_tokens["refresh_token"])
    before = world.b_rows()
    answers = {}
    for name, value in (("b", b_refresh), ("fake", fake_refresh), ("unknown", unknown_refresh)):
        r = client.post(
            "/token", data={"grant_type": "refresh_token", "refresh_token": value}, auth=auth
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
        world.assert_clean(r, sent=[value])
        answers[name] = r
    assert_same_answer(answers["b"], answers["unknown"])
    # client_credentials for B's district by A's app: same as an unknown district.
    cc = {"grant_type": "client_credentials", "district": world.b.district.slug}
    r = client.post("/token", data=cc, auth=auth)
    other = client.post("/token", data={**cc, "district": "no-such-district"}, auth=auth)
    assert r.status_code in (400, 401) and r.json()["error"] == "unauthorized_client"
    assert_same_answer(r, other, replace=[(world.b.district.slug, "no-such-district")])
    world.assert_clean(r, sent=[world.b.district.slug, world.b.marker])
    assert world.b_rows() == before  # nothing of B rotated, revoked or written


@probe(("POST", "/introspect"))
def probe_introspect(world: World) -> None:
    client = world.browser()
    auth = (world.a.app.id, world.a.app_secret)
    for token in (
        world.b.own_tokens["access_token"],
        world.b.own_tokens["refresh_token"],
        world.b.service_token,
        world.b.shared_tokens["access_token"],
    ):
        r = client.post("/introspect", data={"token": token}, auth=auth)
        assert r.json() == {"active": False}, r.text
        world.assert_clean(r, sent=[token])
    # Even the shared app (connected to both) learns of B's token only as itself.
    shared = client.post(
        "/introspect",
        data={"token": world.b.own_tokens["access_token"]},
        auth=(world.shared_app.id, world.shared_secret),
    )
    assert shared.json() == {"active": False}


@probe(("POST", "/revoke"))
def probe_revoke(world: World) -> None:
    """A's app presents B's tokens: refused exactly like a token of another client in A's
    own district (RFC 7009 §2.1 requires the refusal; it must not depend on the district),
    and nothing of B changes."""
    client = world.browser()
    auth = (world.a.app.id, world.a.app_secret)
    before = world.b_rows()
    for kind in ("refresh_token", "access_token"):
        b_token = str(world.b.own_tokens[kind])
        a_other = str(world.a.shared_tokens[kind])  # A's district, another client
        r = client.post("/revoke", data={"token": b_token}, auth=auth)
        same = client.post("/revoke", data={"token": a_other}, auth=auth)
        world.assert_clean(r, sent=[b_token])
        assert_same_answer(r, same)
    assert world.b_rows() == before
    still = client.post(
        "/introspect",
        data={"token": world.b.own_tokens["access_token"]},
        auth=(world.b.app.id, world.b.app_secret),
    )
    assert still.json()["active"] is True


@probe(("GET", "/userinfo"), ("POST", "/userinfo"))
def probe_userinfo(world: World) -> None:
    client = world.browser()
    token = world.a.shared_tokens["access_token"]
    for r in (
        client.get("/userinfo", headers=_bearer(token)),
        client.post("/userinfo", data={"access_token": token}),
    ):
        assert r.status_code == 200 and r.json()["sub"] == world.a.student.id, r.text
        world.assert_clean(r)
    # A client_credentials token of A has no user: nothing of anyone.
    r = client.get("/userinfo", headers=_bearer(world.a.service_token))
    assert r.status_code in (401, 403)
    world.assert_clean(r)


@probe(("GET", "/logout"), ("POST", "/logout"))
def probe_logout(world: World) -> None:
    """B's id_token_hint does not sign A's student out and reveals nothing of B."""
    client = world.a.student_client
    assert client is not None
    hint = world.b.shared_tokens["id_token"]
    a_hint = world.a.own_tokens["id_token"]
    for method in ("GET", "POST"):
        params = {"id_token_hint": hint}
        r = (
            client.get("/logout", params=params)
            if method == "GET"
            else client.post("/logout", data=params)
        )
        assert r.status_code == 200 and "csrf_token" in r.text, r.text  # asked to confirm
        world.assert_clean(r, sent=[hint])
    # A's own session is intact: the authorize endpoint still issues a code without login.
    again = client.get(
        "/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": world.shared_app.id,
                "redirect_uri": REDIRECT,
                "scope": "openid",
                "state": "s",
            }
        ),
        follow_redirects=False,
    )
    assert "code" in query_of(again.headers["location"]), again.headers
    assert a_hint  # A's own hint exists (seeded); B's hint was the only one replayed


# ---------------------------------------------------------------------- audit API


@probe(("GET", "/api/v1/audit"))
def probe_audit(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    for fmt in ("json", "csv"):
        r = admin.get("/api/v1/audit", params={"format": fmt})
        assert r.status_code == 200 and world.a.district.id in r.text, r.text[:200]
        world.assert_clean(r)
    # Naming B's district: the same 404 as a district that does not exist.
    named = admin.get("/api/v1/audit", params={"district": world.b.district.slug})
    missing = admin.get("/api/v1/audit", params={"district": "no-such-district"})
    assert named.status_code == 404
    assert_same_answer(named, missing)
    world.assert_clean(named, sent=[world.b.district.slug])
    # App tokens, even A's own, carry no audit.read; B's token is just as refused.
    for token in (world.a.service_token, world.b.service_token):
        r = world.browser().get("/api/v1/audit", headers=_bearer(token))
        assert r.status_code == 403, r.text
        world.assert_clean(r, sent=[token])
    # A's student: 403 by role, whatever the district named.
    student = world.a.student_client
    assert student is not None
    assert student.get("/api/v1/audit").status_code == 403


# ---------------------------------------------------------------------- demo relying party


@probe(("*", "/demo-app"))
def probe_demo_app(world: World) -> None:
    """The demo RP keeps its own browser session: A's Homeroom session (or B's ids in the
    query) shows it nobody, and its pages name nothing of B. Its sign-in goes through the
    OP endpoints probed above."""
    client = world.a.student_client
    assert client is not None
    r = client.get("/demo-app/", params={"sub": world.b.student.id})
    assert r.status_code == 200 and "Log in with Homeroom" in r.text
    world.assert_clean(r, sent=[world.b.student.id])
