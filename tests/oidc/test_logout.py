"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from homeroom.oidc.logout import BACKCHANNEL_EVENT
from tests.oidc.conftest import ISSUER, OP, REDIRECT, query_of

BYE = "https://app.example/bye"


class Receiver(HTTPServer):
    tokens: list[str]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = parse_qs(self.rfile.read(length).decode())
            server: Any = self.server
            server.tokens.append(body["logout_token"][0])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = Receiver(("127.0.0.1", 0), Handler)
    server.tokens = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _session_is_live(op: OP) -> bool:
    r = op.authorize(prompt="none")
    return "code" in query_of(r.headers["location"])


def test_logout_with_id_token_hint_ends_the_session_and_redirects_with_state(op: OP) -> None:
    id_token = op.tokens("openid")["id_token"]
    assert _session_is_live(op)
    r = op.client.get(
        "/logout",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": BYE, "state": "s1"},
        follow_redirects=False,
    )
    assert r.status_code == 302 and r.headers["location"] == BYE + "?state=s1"
    assert not _session_is_live(op)


def test_unregistered_post_logout_redirect_uri_is_never_followed(op: OP) -> None:
    id_token = op.tokens("openid")["id_token"]
    for uri in ("https://evil.example/", REDIRECT, BYE + "/x"):
        r = op.client.get(
            "/logout",
            params={"id_token_hint": id_token, "post_logout_redirect_uri": uri},
            follow_redirects=False,
        )
        assert r.status_code == 400 and "location" not in r.headers
    r = op.client.get("/logout", params={"post_logout_redirect_uri": BYE}, follow_redirects=False)
    assert r.status_code == 400  # no client named: cannot be checked


def test_a_forged_hint_is_refused(op: OP) -> None:
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", private=True)
    forged = jwt.encode({"alg": "ES256"}, {"iss": ISSUER, "aud": op.app.id, "sub": "x"}, key)
    r = op.client.get("/logout", params={"id_token_hint": forged}, follow_redirects=False)
    assert r.status_code == 400


def test_without_a_hint_the_user_confirms_with_a_csrf_protected_form(op: OP) -> None:
    op.login()
    page = op.client.get(
        "/logout", params={"client_id": op.app.id, "post_logout_redirect_uri": BYE}
    )
    assert page.status_code == 200 and "Sign out of Homeroom?" in page.text
    assert _session_is_live(op)
    forged = op.client.post(
        "/logout",
        data={"confirm": "yes", "client_id": op.app.id, "csrf_token": "nope"},
        follow_redirects=False,
    )
    assert forged.status_code == 200 and _session_is_live(op)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    done = op.client.post(
        "/logout",
        data={
            "confirm": "yes",
            "csrf_token": token.group(1),
            "client_id": op.app.id,
            "post_logout_redirect_uri": BYE,
        },
        follow_redirects=False,
    )
    assert done.status_code == 302 and done.headers["location"] == BYE
    assert not _session_is_live(op)


def test_backchannel_logout_tokens_reach_registered_apps(op: OP, receiver: Receiver) -> None:
    port = receiver.server_address[1]
    new = op.container.apps.create_app(
        "BC app",
        [REDIRECT],
        backchannel_logout_uri=f"http://127.0.0.1:{port}/backchannel",
    )
    op.container.apps.connect(op.district, new.app.id)
    assert new.client_secret is not None
    op.login()
    code = query_of(op.authorize(client_id=new.app.id).headers["location"])["code"]
    body = op.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(new.app.id, new.client_secret),
    ).json()
    sid = jwt.decode(
        body["id_token"],
        KeySet.import_key_set(op.client.get("/jwks.json").json()),
        algorithms=["ES256"],
    ).claims["sid"]
    r = op.client.get("/logout", params={"id_token_hint": body["id_token"]})
    assert r.status_code == 200 and "signed out" in r.text
    assert len(receiver.tokens) == 1
    logout = jwt.decode(
        receiver.tokens[0],
        KeySet.import_key_set(op.client.get("/jwks.json").json()),
        algorithms=["ES256"],
    )
    assert logout.header["typ"] == "logout+jwt"
    c = logout.claims
    assert c["iss"] == ISSUER and c["aud"] == new.app.id and c["sub"] == op.student.id
    assert c["sid"] == sid and c["events"] == {BACKCHANNEL_EVENT: {}}
    assert "nonce" not in c and c["jti"] and c["exp"] > c["iat"]


def test_an_unreachable_backchannel_uri_does_not_break_logout(op: OP) -> None:
    from prometheus_client import REGISTRY

    from tests.services import free_port

    new = op.container.apps.create_app(
        "Gone app", [REDIRECT], backchannel_logout_uri=f"http://127.0.0.1:{free_port()}/bc"
    )
    op.container.apps.connect(op.district, new.app.id)
    op.login()
    assert "code" in query_of(op.authorize(client_id=new.app.id).headers["location"])
    labels = {"outcome": "failed"}
    before = REGISTRY.get_sample_value("homeroom_oidc_backchannel_logouts_total", labels) or 0
    page = op.client.get("/logout", params={"client_id": new.app.id})
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    done = op.client.post(
        "/logout", data={"confirm": "yes", "csrf_token": token.group(1), "client_id": new.app.id}
    )
    assert done.status_code == 200 and not _session_is_live(op)
    after = REGISTRY.get_sample_value("homeroom_oidc_backchannel_logouts_total", labels)
    assert after == before + 1
