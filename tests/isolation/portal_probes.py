"""Route probes of the district portal (``/d/<slug>/…``): sign-in pages, QR badges, the
launchpad, badge sheets, upstream IdP sign-in and portal logout.

The portal names its district in the path. A's callers replay each page with B's slug (A's
session must count for nothing there: the same answer as an anonymous browser) and with B's
identifiers under A's slug (the same answer as an identifier that exists nowhere).
"""

from __future__ import annotations

import io
import re
import secrets

from fastapi.testclient import TestClient

from homeroom.demo import badge_card_png
from homeroom.ids import new_id
from homeroom.tenancy import TenantScope
from tests.isolation.routes import probe
from tests.isolation.world import PASSWORD, HttpResponse, World, assert_same_answer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client: TestClient, page: str) -> str:
    r = client.get(page)
    found = _CSRF.search(r.text)
    assert found, (r.status_code, r.text[:300])
    return found.group(1)


def _anonymous(world: World) -> TestClient:
    return world.browser()


def _b_public(world: World) -> list[str]:
    """What B's own public sign-in page shows anyone: its slug and name (with the marker)."""
    return [world.b.district.slug, world.b.district.name, world.b.marker]


def _badge_active(world: World, tenant_badge: str, district_id: str) -> bool:
    with TenantScope(district_id), world.container.db.scoped() as uow:
        return uow.badges.get(tenant_badge).status == "active"


def _same_as_anonymous(world: World, path: str) -> None:
    """A's signed-in callers on B's portal page get what an anonymous browser gets."""
    anon = _anonymous(world).get(path, follow_redirects=False)
    for client in (world.a.student_client, world.a.admin_client):
        assert client is not None
        r = client.get(path, follow_redirects=False)
        world.assert_clean(r, sent=_b_public(world))
        assert_same_answer(r, anon)


# ---------------------------------------------------------------------- sign-in pages


@probe(("GET", "/d/{slug}"), ("GET", "/d/{slug}/badge"))
def probe_portal_signin_pages(world: World) -> None:
    b = world.b.district.slug
    for suffix in ("", "/badge"):
        _same_as_anonymous(world, f"/d/{b}{suffix}")
        # An unknown district: the bare 404, whoever asks.
        client = world.a.student_client
        assert client is not None
        missing = client.get(f"/d/no-such-{secrets.token_hex(3)}{suffix}")
        assert missing.status_code == 404
        world.assert_clean(missing)


@probe(("POST", "/d/{slug}/signin"))
def probe_portal_password(world: World) -> None:
    """B's username and password on A's portal fail exactly like an unknown user."""
    a = world.a.district.slug

    def attempt(username: str) -> HttpResponse:
        client = _anonymous(world)
        token = _csrf(client, f"/d/{a}")
        return client.post(
            f"/d/{a}/signin",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )

    b_user = world.b.student.username
    nobody = "nobody-" + secrets.token_hex(4)
    r, other = attempt(b_user), attempt(nobody)
    assert r.status_code == 401, r.text[:300]
    world.assert_clean(r, sent=[b_user, world.b.marker])
    assert_same_answer(r, other, replace=[(b_user, nobody)])


def _png(payload: str) -> bytes:
    out = io.BytesIO()
    badge_card_png(payload, "Student").save(out, format="PNG")
    return out.getvalue()


@probe(("POST", "/d/{slug}/badge"), ("POST", "/d/{slug}/badge/photo"))
def probe_portal_badge_sign_in(world: World) -> None:
    """A's badge on B's portal and B's badge on A's portal are refused exactly like a badge
    that does not exist, as a scanned text (full URL and bare form) and as a photo."""
    before_b = _badge_active(world, world.b.badge_id, world.b.district.id)
    before_a = _badge_active(world, world.a.badge_id, world.a.district.id)
    assert before_a and before_b
    for portal, foreign in ((world.a, world.b), (world.b, world.a)):
        slug = portal.district.slug
        credential = foreign.badge_payload.rpartition(".")[2]
        fake = secrets.token_urlsafe(24)
        mark = foreign.badge_payload[: -len(credential)]
        bare_mark = "hrb1."
        cases = [
            (foreign.badge_payload, mark + fake),  # foreign full URL vs unknown credential
            (bare_mark + credential, bare_mark + fake),  # bare form: hashed in this district
            (
                foreign.badge_payload.replace(f"/d/{foreign.district.slug}/", f"/d/{slug}/"),
                mark.replace(f"/d/{foreign.district.slug}/", f"/d/{slug}/") + fake,
            ),  # relabelled to this portal
        ]
        for payload, unknown in cases:
            answers = []
            for value in (payload, unknown):
                client = _anonymous(world)
                token = _csrf(client, f"/d/{slug}/badge")
                answers.append(
                    client.post(
                        f"/d/{slug}/badge",
                        data={"payload": value, "csrf_token": token},
                        follow_redirects=False,
                    )
                )
            r, other = answers
            assert r.status_code == 401, (r.status_code, r.text[:300])
            world.assert_clean(r, sent=[payload, world.b.marker, world.b.district.slug])
            assert_same_answer(r, other)
        # The same as a photo of the badge.
        photos = []
        for payload in (foreign.badge_payload, mark + fake):
            client = _anonymous(world)
            token = _csrf(client, f"/d/{slug}/badge")
            photos.append(
                client.post(
                    f"/d/{slug}/badge/photo",
                    data={"csrf_token": token},
                    files={"photo": ("badge.png", _png(payload), "image/png")},
                    follow_redirects=False,
                )
            )
        assert photos[0].status_code == 401, photos[0].text[:300]
        world.assert_clean(photos[0], sent=[world.b.marker, world.b.district.slug])
        assert_same_answer(photos[0], photos[1])
    # Refusals void nothing: both badges still sign their own student in at home.
    assert _badge_active(world, world.b.badge_id, world.b.district.id)
    assert _badge_active(world, world.a.badge_id, world.a.district.id)
    client = _anonymous(world)
    token = _csrf(client, f"/d/{world.a.district.slug}/badge")
    ok = client.post(
        f"/d/{world.a.district.slug}/badge",
        data={"payload": world.a.badge_payload, "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"].endswith("/apps"), ok.text[:300]


# ---------------------------------------------------------------------- launchpad


@probe(("GET", "/d/{slug}/apps"))
def probe_portal_launchpad(world: World) -> None:
    _same_as_anonymous(world, f"/d/{world.b.district.slug}/apps")
    student = world.a.student_client
    assert student is not None
    r = student.get(f"/d/{world.a.district.slug}/apps")
    assert r.status_code == 200 and world.a.marker in r.text, r.text[:300]
    world.assert_clean(r)
    assert world.b.app.id not in r.text


@probe(("GET", "/d/{slug}/launch/{client_id}"))
def probe_portal_launch(world: World) -> None:
    """Launching B's app from A's portal: the same 404 as an app that does not exist."""
    student = world.a.student_client
    assert student is not None
    a = world.a.district.slug
    missing = new_id("app")
    b = student.get(f"/d/{a}/launch/{world.b.app.id}", follow_redirects=False)
    none = student.get(f"/d/{a}/launch/{missing}", follow_redirects=False)
    orphan = student.get(f"/d/{a}/launch/{world.orphan_app.id}", follow_redirects=False)
    assert b.status_code == 404
    world.assert_clean(b, sent=[world.b.app.id])
    assert_same_answer(b, none)
    assert_same_answer(b, orphan)
    # The shared app from B's portal with A's session: signed out there.
    _same_as_anonymous(world, f"/d/{world.b.district.slug}/launch/{world.shared_app.id}")


@probe(("POST", "/d/{slug}/logout"))
def probe_portal_logout(world: World) -> None:
    """A's student posting B's logout ends neither A's session nor B's."""
    student = world.a.student_client
    assert student is not None
    b_slug = world.b.district.slug
    token = _csrf(student, f"/d/{b_slug}")
    saved = dict(student.cookies.items())
    r = student.post(f"/d/{b_slug}/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    world.assert_clean(r, sent=_b_public(world))
    for name, value in saved.items():  # the browser forgot the cookie; the server did not
        student.cookies.set(name, value)
    assert student.get(f"/d/{world.a.district.slug}/apps").status_code == 200
    b_student = world.b.student_client
    assert b_student is not None
    assert b_student.get(f"/d/{b_slug}/apps").status_code == 200


# ---------------------------------------------------------------------- badge sheets


@probe(("GET", "/d/{slug}/badges"))
def probe_portal_badges_page(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    a = world.a.district.slug
    missing = new_id("section")
    b = admin.get(f"/d/{a}/badges", params={"section": world.b.section.id})
    none = admin.get(f"/d/{a}/badges", params={"section": missing})
    assert b.status_code == 200
    world.assert_clean(b, sent=[world.b.section.id])
    assert_same_answer(b, none, replace=[(world.b.section.id, missing)])
    _same_as_anonymous(world, f"/d/{world.b.district.slug}/badges")


def _post_badges(
    world: World, client: TestClient, slug: str, action: str, data: dict[str, str]
) -> HttpResponse:
    token = _csrf(client, f"/d/{slug}/badges")
    return client.post(
        f"/d/{slug}/badges/{action}",
        data={**data, "csrf_token": token},
        follow_redirects=False,
    )


@probe(("POST", "/d/{slug}/badges/void"))
def probe_portal_badge_void(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    a = world.a.district.slug
    missing = new_id("user")
    b = _post_badges(world, admin, a, "void", {"user_id": world.b.student.id})
    none = _post_badges(world, admin, a, "void", {"user_id": missing})
    assert b.status_code == 404
    world.assert_clean(b, sent=[world.b.student.id])
    assert_same_answer(b, none)
    assert _badge_active(world, world.b.badge_id, world.b.district.id)


@probe(("POST", "/d/{slug}/badges/void-all"))
def probe_portal_badge_void_all(world: World) -> None:
    """A's admin voiding "all" on B's portal is signed out there; on A's portal it voids
    A's badges only."""
    admin = world.a.admin_client
    assert admin is not None
    b_slug = world.b.district.slug
    token = _csrf(admin, f"/d/{world.a.district.slug}/badges")
    r = admin.post(
        f"/d/{b_slug}/badges/void-all",
        data={"confirm": "yes", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/d/{b_slug}"
    world.assert_clean(r, sent=_b_public(world))
    assert _badge_active(world, world.b.badge_id, world.b.district.id)
    before = world.b_rows()
    mine = _post_badges(world, admin, world.a.district.slug, "void-all", {"confirm": "yes"})
    assert mine.status_code == 303
    assert not _badge_active(world, world.a.badge_id, world.a.district.id)
    assert world.b_rows() == before


@probe(("POST", "/d/{slug}/badges/print"))
def probe_portal_badge_print(world: World) -> None:
    """Printing B's section, school or student from A's portal: the same 404 as an id that
    exists nowhere, and no badge of B is issued or voided."""
    admin = world.a.admin_client
    assert admin is not None
    a = world.a.district.slug
    before = world.b_rows()
    for field, b_id, kind in (
        ("section_id", world.b.section.id, "section"),
        ("school_id", world.b.school.id, "school"),
        ("user_id", world.b.student.id, "user"),
    ):
        b = _post_badges(world, admin, a, "print", {field: b_id})
        none = _post_badges(world, admin, a, "print", {field: new_id(kind)})
        assert b.status_code == 404, (field, b.status_code, b.text[:200])
        world.assert_clean(b, sent=[b_id])
        assert_same_answer(b, none)
    assert world.b_rows() == before
    # A's own section prints A's student only.
    mine = _post_badges(world, admin, a, "print", {"section_id": world.a.section.id})
    assert mine.status_code == 200 and mine.headers["content-type"] == "application/pdf"
    world.assert_clean(mine)


# ---------------------------------------------------------------------- upstream IdPs


def _configure_upstream(world: World) -> dict[str, str]:
    """One upstream IdP per district (an issuer nothing listens on): its id per district."""
    ids = {}
    with world.container.db.platform() as uow:
        for tenant in (world.a, world.b):
            idp = {
                "id": f"idp{secrets.token_hex(6)}",
                "name": f"IdP {tenant.marker}",
                "issuer": "http://127.0.0.1:9",
                "client_id": f"client-{tenant.marker}",
                "match": "email",
                "claim": "email",
            }
            settings = {
                **uow.districts.get(tenant.district.id).settings,
                "upstream_idps": [idp],
                "login_methods": ["password", "upstream"],
            }
            uow.districts.update_settings(tenant.district.id, settings)
            ids[tenant.district.id] = idp["id"]
    return ids


@probe(("GET", "/d/{slug}/upstream/{idp_id}/start"), ("GET", "/d/{slug}/upstream/callback"))
def probe_portal_upstream(world: World) -> None:
    """B's upstream IdP id on A's portal: the same 404 as an id that exists nowhere; A's
    callback never accepts a state it did not bind to this browser."""
    ids = _configure_upstream(world)
    b_idp = ids[world.b.district.id]
    student = world.a.student_client
    assert student is not None
    a = world.a.district.slug
    b = student.get(f"/d/{a}/upstream/{b_idp}/start", follow_redirects=False)
    none = student.get(f"/d/{a}/upstream/idpnothing/start", follow_redirects=False)
    assert b.status_code == 404
    world.assert_clean(b, sent=[b_idp])
    assert_same_answer(b, none)
    # The callback with a state and code, no bound cookie: refused, nothing of B.
    for slug in (a, world.b.district.slug):
        cb = student.get(
            f"/d/{slug}/upstream/callback",
            params={"state": secrets.token_urlsafe(16), "code": "c"},
            follow_redirects=False,
        )
        assert cb.status_code == 400, cb.text[:200]
        world.assert_clean(cb, sent=_b_public(world))
    _same_as_anonymous(world, f"/d/{world.b.district.slug}/upstream/{b_idp}/start")


# ---------------------------------------------------------------------- demo files


@probe(("GET", "/demo/{name}"))
def probe_demo_files(world: World) -> None:
    """The demo district's printable badges: nothing of A or B is ever served from here
    (the world has no demo files; any name is the same plain 404)."""
    client = world.a.admin_client
    assert client is not None
    answers = [
        client.get(f"/demo/{name}", params={"district": world.b.district.slug})
        for name in ("badge.png", "badges.pdf", world.b.badge_id)
    ]
    for r in answers:
        assert r.status_code == 404
        world.assert_clean(r, sent=[world.b.district.slug, world.b.badge_id])
        assert_same_answer(r, answers[0])
