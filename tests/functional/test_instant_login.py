"""Instant login from the portal (OIDC Core §4 and the Clever-style launch), ``login_hint``
against the portal session, and portal sign-out fanning out Back-Channel Logout 1.0 to a
real loopback receiver whose Logout Token is verified against the published JWKS."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from homeroom.oidc.authorize import session_sid
from homeroom.oidc.logout import BACKCHANNEL_EVENT
from homeroom.roster.models import Role, User
from homeroom.web.app import create_app
from homeroom.wiring import Container

PASSWORD = "correct-horse"


class _Receiver(BaseHTTPRequestHandler):
    """An app's back-channel logout endpoint: records each POSTed form, answers 200."""

    received: list[dict[str, list[str]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.server.received.append(parse_qs(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/backchannel", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Site:
    container: Container
    client: TestClient
    kid: User
    other_kid: User
    app_id: str
    app_secret: str


@pytest.fixture
def site(container: Container, receiver: tuple[str, list[Any]]) -> Iterator[Site]:
    admin = container.roster_admin
    district = admin.create_district("alpha", "Alpha Unified")
    kid = admin.create_user(
        "alpha", username="kid", role=Role.STUDENT, given_name="Kim", password=PASSWORD
    )
    other = admin.create_user("alpha", username="kid2", role=Role.STUDENT, password=PASSWORD)
    new = container.apps.create_app(
        "Plain",
        ["http://127.0.0.1:9/first", "http://127.0.0.1:9/second"],
        backchannel_logout_uri=receiver[0],
    )
    container.apps.connect(district, new.app.id)
    assert new.client_secret is not None
    issuer = container.settings.issuer
    with TestClient(create_app(container), base_url=issuer) as client:
        yield Site(container, client, kid, other, new.app.id, new.client_secret)


def _csrf(site: Site, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', site.client.get(path).text)
    assert found
    return found.group(1)


def _sign_in(site: Site) -> None:
    token = _csrf(site, "/d/alpha")
    done = site.client.post(
        "/d/alpha/signin",
        data={"username": "kid", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def _launch_code(site: Site) -> dict[str, str]:
    """Tile click → /authorize → the app's redirect URI with a code: no second sign-in."""
    launch = site.client.get(f"/d/alpha/launch/{site.app_id}", follow_redirects=False)
    assert launch.status_code == 303
    authorize = site.client.get(launch.headers["location"], follow_redirects=False)
    assert authorize.status_code == 302, authorize.text
    where = urlsplit(authorize.headers["location"])
    assert f"{where.scheme}://{where.netloc}{where.path}" == "http://127.0.0.1:9/first"
    return {k: v[0] for k, v in parse_qs(where.query).items()}


def test_clever_style_launch_delivers_a_code_for_the_signed_in_user(site: Site) -> None:
    _sign_in(site)
    query = _launch_code(site)
    assert query["iss"] == site.container.settings.issuer
    token = site.client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": "http://127.0.0.1:9/first",
        },
        auth=(site.app_id, site.app_secret),
    )
    assert token.status_code == 200, token.text
    keys = KeySet.import_key_set(site.client.get("/jwks.json").json())
    claims = jwt.decode(token.json()["id_token"], keys).claims
    assert claims["sub"] == site.kid.id and claims["aud"] == site.app_id


def _authorize(site: Site, **extra: str) -> Any:
    query = {
        "response_type": "code",
        "client_id": site.app_id,
        "redirect_uri": "http://127.0.0.1:9/first",
        "scope": "openid",
        "state": "s1",
        **extra,
    }
    return site.client.get("/authorize?" + urlencode(query), follow_redirects=False)


def test_login_hint_naming_the_session_user_gets_a_code(site: Site) -> None:
    _sign_in(site)
    r = _authorize(site, login_hint=site.kid.id)
    assert "code=" in r.headers["location"]


def test_login_hint_naming_another_user_never_uses_the_session(site: Site) -> None:
    _sign_in(site)
    r = _authorize(site, login_hint=site.other_kid.id)
    assert r.status_code == 302 and r.headers["location"].startswith("/login?")
    assert "username=" not in r.headers["location"]  # an id is not a username to pre-fill
    silent = _authorize(site, login_hint=site.other_kid.id, prompt="none")
    assert parse_qs(urlsplit(silent.headers["location"]).query)["error"] == ["login_required"]


def test_portal_sign_out_sends_back_channel_logout(
    site: Site, receiver: tuple[str, list[dict[str, list[str]]]]
) -> None:
    _sign_in(site)
    signer = site.container.session_cookie._signer
    session_id = signer.unsign(str(site.client.cookies.get("homeroom_session"))).decode()
    _launch_code(site)  # the app got a code from this session: it is told of the logout
    token = _csrf(site, "/d/alpha/apps")
    out = site.client.post("/d/alpha/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert site.container.sessions.get(session_id) is None
    [form] = receiver[1]  # TestClient runs background tasks before returning
    keys = KeySet.import_key_set(site.client.get("/jwks.json").json())
    decoded = jwt.decode(form["logout_token"][0], keys)
    claims = decoded.claims
    assert decoded.header["typ"] == "logout+jwt"
    assert claims["iss"] == site.container.settings.issuer
    assert claims["aud"] == site.app_id
    assert claims["sub"] == site.kid.id
    assert claims["sid"] == session_sid(session_id)
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert "nonce" not in claims
    # Signing in again and out without launching anything tells no app.
    _sign_in(site)
    token = _csrf(site, "/d/alpha/apps")
    site.client.post("/d/alpha/logout", data={"csrf_token": token}, follow_redirects=False)
    assert len(receiver[1]) == 1


def test_the_demo_app_refuses_an_unknown_issuer(sql_target: Any, tmp_path: Any) -> None:
    """The demo app's initiate_login_uri starts a login only at the OP it trusts."""
    from homeroom.demo import seed_demo
    from homeroom.wiring import build
    from tests.conftest import make_settings

    container = build(make_settings(sql_target, tmp_path, issuer="http://127.0.0.1:8000"))
    try:
        seed_demo(container)
        with TestClient(create_app(container), base_url="http://127.0.0.1:8000") as client:
            evil = client.get(
                "/demo-app/login?iss=https://evil.example&login_hint=x", follow_redirects=False
            )
            assert evil.status_code == 400 and "Unknown issuer" in evil.text
    finally:
        container.close()
