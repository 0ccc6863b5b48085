"""The portal over HTTP through the real app (FastAPI TestClient), on SQLite and PostgreSQL:
password sign-in, generic errors, audit, lockout and throttling, CSRF, launch, sign-out."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from homeroom.ops.metrics import LOGINS, RATE_LIMITED
from homeroom.roster.models import District, Role, User
from homeroom.tenancy import TenantScope
from homeroom.web.app import create_app
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings

PASSWORD = "correct-horse"


@dataclass
class Site:
    container: Container
    client: TestClient
    alpha: District
    beta: District
    kid: User
    reader_app: str
    plain_app: str
    teacher_app: str


@contextmanager
def _site(container: Container) -> Iterator[Site]:
    admin = container.roster_admin
    alpha = admin.create_district("alpha", "Alpha Unified")
    beta = admin.create_district("beta", "Beta County Schools")
    kid = admin.create_user("alpha", username="kid", role=Role.STUDENT, password=PASSWORD)
    admin.create_user("beta", username="kid", role=Role.STUDENT, password="beta-password")
    issuer = container.settings.issuer
    reader = container.apps.create_app(
        "Reader", [f"{issuer}/cb"], initiate_login_uri="http://127.0.0.1:9/login"
    ).app.id
    plain = container.apps.create_app(
        "Plain", ["http://127.0.0.1:9/first", "http://127.0.0.1:9/second"]
    ).app.id
    teacher = container.apps.create_app("Gradebook", ["http://127.0.0.1:9/cb"]).app.id
    unconnected = container.apps.create_app("Elsewhere", ["http://127.0.0.1:9/cb"]).app.id
    container.apps.connect(alpha, reader)
    container.apps.connect(alpha, plain)
    container.apps.connect(alpha, teacher, roles_allowed=("teacher",))
    container.apps.connect(beta, unconnected)
    with TestClient(create_app(container), base_url=issuer) as client:
        yield Site(container, client, alpha, beta, kid, reader, plain, teacher)


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    with _site(container) as built:
        yield built


@pytest.fixture
def limited_site(sql_target: SqlTarget, tmp_path: Path) -> Iterator[Site]:
    """Tight limits so a test reaches them: 3 failures lock an account for 2 seconds, 6
    attempts a minute per address."""
    settings = make_settings(
        sql_target, tmp_path, rate_limit_account="3/2 seconds", rate_limit_ip="6/minute"
    )
    container = build(settings)
    try:
        with _site(container) as built:
            yield built
    finally:
        container.close()


def _page_csrf(client: TestClient, path: str) -> str:
    """The form token of a page (an HMAC of the cookie, not the cookie itself)."""
    page = client.get(path)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return token.group(1)


def _csrf(client: TestClient, slug: str) -> str:
    return _page_csrf(client, f"/d/{slug}")


def _sign_in(site: Site, username: str, password: str, slug: str = "alpha") -> Any:
    token = _csrf(site.client, slug)
    return site.client.post(
        f"/d/{slug}/signin",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', html)
    assert found, html
    return found.group(1)


def _audit(site: Site, district: District, action: str) -> list[tuple[str, str | None]]:
    with TenantScope(district.id), site.container.db.scoped() as uow:
        return [(e.outcome, e.target_id) for e in uow.audit.list(action=action)]


def test_password_sign_in_opens_the_launchpad_and_is_audited(site: Site) -> None:
    response = _sign_in(site, "kid", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/d/alpha/apps"
    page = site.client.get("/d/alpha/apps")
    assert page.status_code == 200
    assert "Reader" in page.text and "Plain" in page.text
    assert "Gradebook" not in page.text  # connected for teachers only
    assert "Elsewhere" not in page.text  # connected to beta only
    assert _audit(site, site.alpha, "signin.password") == [("success", site.kid.id)]


def test_launchpad_respects_school_scoped_connections(site: Site) -> None:
    from homeroom.sharing.models import ScopeMode

    with TenantScope(site.alpha.id), site.container.db.scoped() as uow:
        plain = uow.connections.get(site.plain_app)
        uow.connections.put(
            dataclasses.replace(plain, scope_mode=ScopeMode.SCHOOLS, school_ids=("sch_x",))
        )
    _sign_in(site, "kid", PASSWORD)
    page = site.client.get("/d/alpha/apps")
    assert "Reader" in page.text and "Plain" not in page.text
    assert site.client.get(f"/d/alpha/launch/{site.plain_app}").status_code == 404


def test_failures_are_generic_and_audited(site: Site) -> None:
    wrong = _sign_in(site, "kid", "wrong-password")
    unknown = _sign_in(site, "nobody", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert _alert(wrong.text) == _alert(unknown.text)
    assert _audit(site, site.alpha, "signin.password") == [
        ("failure", site.kid.id),
        ("failure", None),
    ]
    assert site.client.get("/d/alpha/apps", follow_redirects=False).status_code == 303


def _logins(method: str, outcome: str) -> float:
    return LOGINS.labels(method=method, outcome=outcome)._value.get()


def test_account_is_locked_out_after_repeated_failures(limited_site: Site) -> None:
    """The shared sign-in guard (``identity.lockout``): without it this test fails."""
    site = limited_site
    before = _logins("password", "locked")
    for _ in range(3):
        assert _sign_in(site, "kid", "wrong-password").status_code == 401
    locked = _sign_in(site, "kid", PASSWORD)  # the right password, refused while locked
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.headers["x-ratelimit-remaining"] == "0"
    assert "Too many tries" in _alert(locked.text)
    assert "homeroom_session" not in site.client.cookies
    assert _logins("password", "locked") == before + 1
    assert ("failure", None) in _audit(site, site.alpha, "signin.password")  # refusal audited
    assert _sign_in(site, "kid", "beta-password", "beta").status_code == 303
    time.sleep(2.2)
    assert _sign_in(site, "kid", PASSWORD).status_code == 303


def test_one_ip_is_throttled_across_accounts(limited_site: Site) -> None:
    site = limited_site
    before = RATE_LIMITED.labels(category="ip")._value.get()
    for n in range(6):
        assert _sign_in(site, f"guess{n}", "wrong-password").status_code == 401
    throttled = _sign_in(site, "kid", PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert "Too many tries" in _alert(throttled.text)
    assert RATE_LIMITED.labels(category="ip")._value.get() == before + 1
    assert _logins("password", "rate_limited") >= 1


def test_provider_login_and_portal_share_one_address_limit(limited_site: Site) -> None:
    """One mechanism: attempts at the provider's ``/login`` and the portal's form count
    against the same per-address budget."""
    site = limited_site
    for n in range(6):
        assert _sign_in(site, f"guess{n}", "wrong-password").status_code == 401
    page = site.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    refused = site.client.post(
        "/login",
        data={
            "district": "alpha",
            "username": "kid",
            "password": PASSWORD,
            "csrf_token": token.group(1),
        },
    )
    assert refused.status_code == 429 and "retry-after" in refused.headers


def test_sign_in_needs_the_csrf_token(site: Site) -> None:
    _csrf(site.client, "alpha")
    response = site.client.post(
        "/d/alpha/signin", data={"username": "kid", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 400
    forged = site.client.post(
        "/d/alpha/signin",
        data={"username": "kid", "password": PASSWORD, "csrf_token": "x" * 32},
        follow_redirects=False,
    )
    assert forged.status_code == 400
    assert "homeroom_session" not in site.client.cookies


def test_launch_goes_to_initiate_login_uri_or_authorize(site: Site) -> None:
    _sign_in(site, "kid", PASSWORD)
    issuer = site.container.settings.issuer
    reader = site.client.get(f"/d/alpha/launch/{site.reader_app}", follow_redirects=False)
    assert reader.status_code == 303
    where = urlsplit(reader.headers["location"])
    assert f"{where.scheme}://{where.netloc}{where.path}" == "http://127.0.0.1:9/login"
    assert parse_qs(where.query) == {"iss": [issuer], "login_hint": [site.kid.id]}
    plain = site.client.get(f"/d/alpha/launch/{site.plain_app}", follow_redirects=False)
    where = urlsplit(plain.headers["location"])
    assert f"{where.scheme}://{where.netloc}{where.path}" == f"{issuer}/authorize"
    assert parse_qs(where.query) == {
        "response_type": ["code"],
        "client_id": [site.plain_app],
        "redirect_uri": ["http://127.0.0.1:9/first"],
        "scope": ["openid"],
    }
    for not_mine in (site.teacher_app, "app_00000000000000000000"):
        assert site.client.get(f"/d/alpha/launch/{not_mine}").status_code == 404


def test_sign_out_ends_the_session(site: Site) -> None:
    _sign_in(site, "kid", PASSWORD)
    cookie = site.client.cookies.get("homeroom_session")
    session_id = site.container.session_cookie._signer.unsign(str(cookie)).decode()
    assert site.container.sessions.get(session_id) is not None
    token = _page_csrf(site.client, "/d/alpha/apps")
    out = site.client.post("/d/alpha/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/d/alpha?signed_out=1"
    assert site.container.sessions.get(session_id) is None


def test_a_new_sign_in_ends_the_previous_session(site: Site) -> None:
    _sign_in(site, "kid", PASSWORD)
    signer = site.container.session_cookie._signer
    first = signer.unsign(str(site.client.cookies.get("homeroom_session"))).decode()
    _sign_in(site, "kid", "beta-password", "beta")  # the next child on the same Chromebook
    second = signer.unsign(str(site.client.cookies.get("homeroom_session"))).decode()
    assert first != second
    assert site.container.sessions.get(first) is None
    assert site.container.sessions.get(second) is not None


def test_another_districts_session_is_no_session(site: Site) -> None:
    assert _sign_in(site, "kid", PASSWORD).status_code == 303
    beta_apps = site.client.get("/d/beta/apps", follow_redirects=False)
    assert beta_apps.status_code == 303 and beta_apps.headers["location"] == "/d/beta"
    beta_home = site.client.get("/d/beta")
    assert beta_home.status_code == 200 and "Alpha" not in beta_home.text
    assert "Beta County Schools" in beta_home.text


def test_unknown_and_malformed_districts_are_the_same_404(site: Site) -> None:
    unknown = site.client.get("/d/gamma")
    malformed = site.client.get("/d/Not_A_Slug!")
    assert unknown.status_code == malformed.status_code == 404
    assert unknown.text == malformed.text
    assert "Alpha" not in unknown.text and "Beta" not in unknown.text
    assert site.client.post("/d/gamma/signin", data={}).status_code == 404
    assert site.client.get("/d/alpha/badge").status_code == 404  # badges are off in alpha


def test_language_follows_accept_language(site: Site) -> None:
    spanish = site.client.get("/d/alpha", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in spanish.text and "Contraseña" in spanish.text
    english = site.client.get("/d/alpha", headers={"Accept-Language": "fr, en;q=0.8"})
    assert '<html lang="en">' in english.text and "Password" in english.text


def test_demo_badge_files_are_served_in_development_only(container: Container) -> None:
    from homeroom.demo import seed_demo

    seed_demo(container)
    with TestClient(create_app(container)) as client:
        png = client.get("/demo/badge.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert client.get("/demo/badges.pdf").content.startswith(b"%PDF")
        assert client.get("/demo/secrets").status_code == 404
    container.settings = container.settings.model_copy(update={"environment": "production"})
    with TestClient(create_app(container)) as client:
        assert client.get("/demo/badge.png").status_code == 404


def test_teachers_void_badges_of_their_students_and_admins_void_all(container: Container) -> None:
    from homeroom.demo import seed_demo
    from homeroom.identity.badges import credential_from_payload

    info = seed_demo(container)
    district = container.roster_admin.district(info.district_slug)
    with TenantScope(district.id), container.db.scoped() as uow:
        kid = uow.users.by_username("student01")
        other = uow.users.by_username("student02")
    assert kid is not None and other is not None
    issued = {i.user.id: i for i in container.badges.issue(district, [kid, other], "test")}

    def works(user: User) -> bool:
        credential = credential_from_payload(issued[user.id].payload, district.slug)
        return (
            credential is not None and container.badges.authenticate(district, credential) == user
        )

    def sign_in(client: TestClient, username: str, password: str) -> str:
        token = _page_csrf(client, "/d/maplewood")
        response = client.post(
            "/d/maplewood/signin",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
        return token

    app = create_app(container)
    with TestClient(app, base_url=container.settings.issuer) as chen:
        token = sign_in(chen, "mr.chen", info.teacher_password)  # teaches grades 6 and 7
        refused = chen.post(
            "/d/maplewood/badges/void", data={"user_id": kid.id, "csrf_token": token}
        )
        assert refused.status_code == 404 and works(kid)
        all_refused = chen.post(
            "/d/maplewood/badges/void-all", data={"confirm": "yes", "csrf_token": token}
        )
        assert all_refused.status_code == 404 and works(other)
    with TestClient(app, base_url=container.settings.issuer) as rivera:
        token = sign_in(rivera, "ms.rivera", info.teacher_password)  # teaches Kindergarten
        page = rivera.get("/d/maplewood/badges")
        section_id = re.search(r"badges\?section=(sec_\w+)", page.text)
        assert section_id is not None
        students = rivera.get(f"/d/maplewood/badges?section={section_id.group(1)}")
        assert "Stop badge of Ava Garcia" in students.text
        done = rivera.post(
            "/d/maplewood/badges/void",
            data={"user_id": kid.id, "section_id": section_id.group(1), "csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code == 303 and "done=voided" in done.headers["location"]
        assert not works(kid) and works(other)
    with TestClient(app, base_url=container.settings.issuer) as admin:
        token = sign_in(admin, "admin", info.admin_password)
        done = admin.post(
            "/d/maplewood/badges/void-all",
            data={"confirm": "yes", "csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code == 303 and not works(other)


def test_failed_badges_spend_the_address_budget_and_lock_no_account(limited_site: Site) -> None:
    """Badge sign-in goes through the same guard. Failed badges (well-formed credentials
    that sign nobody in) lock no "badge account": past the account limit (three) a real
    badge still signs in. They count against the address's budget of failures (six), and
    once it is spent the address is refused, even a real badge, with 429."""
    from homeroom.identity.badges import badge_payload, new_credential

    site = limited_site
    container = site.container
    with container.db.platform() as uow:
        settings = dict(site.alpha.settings)
        settings["badge_grades"] = ["KG"]
        settings["login_methods"] = ["password", "badge"]
        uow.districts.update_settings(site.alpha.id, settings)
        alpha = uow.districts.get(site.alpha.id)
    small = container.roster_admin.create_user(
        "alpha", username="small", role=Role.STUDENT, grade="KG"
    )
    (real,) = container.badges.issue(alpha, [small], actor="test")
    issuer = container.settings.issuer

    def scan(payload: str) -> Any:
        token = _page_csrf(site.client, "/d/alpha/badge")
        return site.client.post(
            "/d/alpha/badge",
            data={"payload": payload, "csrf_token": token},
            follow_redirects=False,
        )

    before = _logins("badge", "rate_limited")
    for _ in range(3):
        assert scan(badge_payload(issuer, "alpha", new_credential())).status_code == 401
    assert scan(real.payload).status_code == 303  # three failures lock nothing
    site.client.cookies.delete("homeroom_session")
    for _ in range(3):
        assert scan(badge_payload(issuer, "alpha", new_credential())).status_code == 401
    refused = scan(real.payload)  # six failures: the address is spent
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert _logins("badge", "rate_limited") == before + 1


# ----------------------------------------------------------------- badge pages as hot paths


def _badge_site(site: Site) -> tuple[District, str]:
    """Badges on for KG in alpha; a kindergartner and the payload on their QR code."""
    container = site.container
    alpha = container.badges.set_grades(site.alpha, ["KG"], actor="test")
    small = container.roster_admin.create_user(
        "alpha", username="small", role=Role.STUDENT, grade="KG"
    )
    (issued,) = container.badges.issue(alpha, [small], actor="test")
    return alpha, issued.payload


def _scan(site: Site, payload: str) -> Any:
    token = _page_csrf(site.client, "/d/alpha/badge")
    return site.client.post(
        "/d/alpha/badge",
        data={"payload": payload, "csrf_token": token},
        follow_redirects=False,
    )


def test_sign_in_pages_and_launchpad_are_served_ahead_of_fastapi(site: Site) -> None:
    """The pages of a badge or password sign-in are hot routes (``web.hot``), found by
    pattern with the district slug as a path parameter; their neighbours are not."""
    hot = site.client.app.hot  # type: ignore[attr-defined]
    assert hot is not None

    def find(method: str, path: str) -> tuple[str, dict[str, str]] | None:
        scope: dict[str, Any] = {"type": "http", "method": method, "path": path}
        route = hot.find(scope)
        return None if route is None else (route.path, scope.get("path_params", {}))

    assert find("GET", "/d/alpha/badge") == ("/d/{slug}/badge", {"slug": "alpha"})
    assert find("POST", "/d/alpha/badge") == ("/d/{slug}/badge", {"slug": "alpha"})
    assert find("GET", "/d/beta/apps") == ("/d/{slug}/apps", {"slug": "beta"})
    assert find("PUT", "/d/alpha/apps") is None
    assert find("POST", "/d/alpha/badge/photo") is None
    assert find("GET", "/d/alpha/badges") is None
    assert find("GET", "/d/alpha") == ("/d/{slug}", {"slug": "alpha"})
    assert find("POST", "/d/alpha/signin") == ("/d/{slug}/signin", {"slug": "alpha"})
    assert find("GET", "/d/alpha/signin") is None
    assert find("GET", "/d/alpha/usage") is None
    assert find("GET", "/authorize") == ("/authorize", {})  # fixed paths: one dict lookup
    # A method the hot route does not serve is FastAPI's 405, as before.
    assert site.client.put("/d/alpha/apps").status_code == 405


def test_a_badge_scan_signs_in_and_bad_forms_get_clear_answers(site: Site) -> None:
    _, payload = _badge_site(site)
    done = _scan(site, payload)
    assert done.status_code == 303 and done.headers["location"] == "/d/alpha/apps"
    assert [o for o, _ in _audit(site, site.alpha, "signin.badge")] == ["success"]
    launchpad = site.client.get("/d/alpha/apps")
    assert launchpad.status_code == 200 and "/d/alpha/launch/" in launchpad.text
    # Too large to be a badge form: 413, nothing else done.
    big = site.client.post(
        "/d/alpha/badge",
        content=b"payload=" + b"x" * 9000,
        follow_redirects=False,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    # Not urlencoded text: no CSRF token, so the badge page again with the form error.
    broken = site.client.post(
        "/d/alpha/badge",
        content=b"\xff\xfe",
        follow_redirects=False,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert broken.status_code == 400 and 'role="alert"' in broken.text
    # An unknown district is the bare 404 on every hot page.
    assert site.client.get("/d/nowhere/badge").status_code == 404
    assert site.client.post("/d/nowhere/badge", data={"payload": payload}).status_code == 404
    assert site.client.get("/d/nowhere/apps").status_code == 404
    assert _logins("badge", "success") >= 1


def test_turning_a_grade_off_stops_badges_at_once_though_the_page_is_cached(
    site: Site,
) -> None:
    """The badge page and the launchpad read the district from the provider's short-lived
    cache; the scan itself reads it fresh, so a grade turned off refuses the next scan."""
    alpha, payload = _badge_site(site)
    token = _page_csrf(site.client, "/d/alpha/badge")  # the district is cached now
    site.container.badges.set_grades(alpha, ["01"], actor="test")  # KG off, badges still on
    refused = site.client.post(
        "/d/alpha/badge",
        data={"payload": payload, "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 401
    site.container.badges.set_grades(alpha, [], actor="test")  # badges off altogether
    off = site.client.post(
        "/d/alpha/badge",
        data={"payload": payload, "csrf_token": token},
        follow_redirects=False,
    )
    assert off.status_code == 404


def test_a_warm_launchpad_reads_no_district_and_no_app(site: Site) -> None:
    """After the first launchpad, the district and the apps come from the provider's cache:
    the page reads only the signed-in user and the district's connections, in one
    transaction."""
    from sqlalchemy import event

    _, payload = _badge_site(site)
    assert _scan(site, payload).status_code == 303
    assert site.client.get("/d/alpha/apps").status_code == 200  # warm
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            statements.append(statement.lower())

    transactions: list[object] = []

    def begun(conn: Any) -> None:
        transactions.append(conn)

    engine = site.container.db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "begin", begun)
    try:
        page = site.client.get("/d/alpha/apps")
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "begin", begun)
    assert page.status_code == 200 and "Reader" in page.text and "Plain" in page.text
    assert len(transactions) == 1
    assert "Gradebook" not in page.text  # teachers only
    tables = [re.search(r"\bfrom (\w+)", s).group(1) for s in statements]  # type: ignore[union-attr]
    assert sorted(tables) == ["connections", "user_schools", "users"], statements


def test_the_password_form_verifies_on_the_hashers_bounded_pool(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 runs on the hasher's own pool (at most one verification per core), not on a
    request thread of FastAPI's pool (forty of them, each waiting for a slot) and never on
    the event loop: a wrong password costs the same verification, on the same pool."""
    hasher = site.container.passwords
    threads: list[str] = []
    verify = hasher.verify

    def recorded(stored_hash: str | None, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return verify(stored_hash, password)

    monkeypatch.setattr(hasher, "verify", recorded)
    assert _sign_in(site, "kid", "wrong-password").status_code == 401
    assert _sign_in(site, "nobody", "wrong-password").status_code == 401
    assert _sign_in(site, "kid", PASSWORD).status_code == 303
    assert len(threads) == 3
    assert all(name.startswith("argon2") for name in threads), threads


def test_other_pages_are_served_while_a_password_is_checked(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event loop is free during a verification: a page asked for while one is in
    progress is served before it ends. Verifying on the loop would serve it only after."""
    hasher = site.container.passwords
    verify = hasher.verify
    entered, release = threading.Event(), threading.Event()
    verifying = threading.Event()

    def held(stored_hash: str | None, password: str) -> bool:
        verifying.set()
        entered.set()
        release.wait(10)
        verifying.clear()
        return verify(stored_hash, password)

    token = _csrf(site.client, "alpha")
    monkeypatch.setattr(hasher, "verify", held)
    outcome: list[int] = []

    def sign_in() -> None:
        response = site.client.post(
            "/d/alpha/signin",
            data={"username": "kid", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        outcome.append(response.status_code)

    worker = threading.Thread(target=sign_in)
    worker.start()
    try:
        assert entered.wait(10)
        page = site.client.get("/d/beta")
        served_during = verifying.is_set()
    finally:
        release.set()
        worker.join(20)
    assert page.status_code == 200
    assert served_during, "the page waited for the password verification"
    assert outcome == [303]


def test_bad_password_forms_get_clear_answers_and_change_nothing(site: Site) -> None:
    """Too large for the form: 413. Not urlencoded UTF-8: the form again with the CSRF
    error (400). An over-long username is a wrong sign-in (401), not a validation error."""
    big = site.client.post(
        "/d/alpha/signin",
        content=b"username=kid&password=" + b"x" * 17_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert big.status_code == 413
    broken = site.client.post(
        "/d/alpha/signin",
        content=b"username=\xff\xfe&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert broken.status_code == 400 and "<form" in broken.text
    assert _audit(site, site.alpha, "signin.password") == []
    long_name = _sign_in(site, "k" * 300, PASSWORD)
    assert long_name.status_code == 401
    assert _audit(site, site.alpha, "signin.password") == [("failure", None)]
    assert site.client.post("/d/nowhere/signin", data={"username": "kid"}).status_code == 404
    assert "homeroom_session" not in site.client.cookies
