"""Two independent Homeroom servers on loopback: the district's IdP and the portal using it.

The IdP ("springfield", SQLite, its own data dir, keys and secrets) registers an app for the
portal. The portal (the test's SQL backend) has districts "alpha" and "beta"; alpha signs in
through the IdP, matching by email. Nothing of the OpenID protocol is mocked: the portal
talks to the IdP over HTTP exactly as it would to Google or Microsoft.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from homeroom.identity.upstream import UpstreamIdp
from homeroom.roster.models import District, Role, User
from homeroom.sharing.models import FieldGroup
from homeroom.storage.sql.migrate import upgrade
from homeroom.web.app import create_app
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings
from tests.e2e.conftest import serve
from tests.oidc.conftest import PASSWORD, seed
from tests.services import free_port


@dataclass
class Federation:
    idp_url: str
    idp: Container
    portal_url: str
    portal: Container
    alpha: District
    beta: District
    alpha_lisa: User
    beta_bart: User
    upstream: UpstreamIdp

    def sign_in_upstream(self, browser: requests.Session, username: str) -> requests.Response:
        """Click "Sign in with …", sign in at the IdP, come back; the portal's answer."""
        start = browser.get(
            f"{self.portal_url}/d/alpha/upstream/{self.upstream.id}/start",
            allow_redirects=False,
            timeout=30,
        )
        assert start.status_code == 303, start.text
        assert start.headers["location"].startswith(f"{self.idp_url}/authorize?")
        r = browser.get(start.headers["location"], allow_redirects=False, timeout=30)
        assert r.status_code == 302 and r.headers["location"].startswith("/login?"), r.text
        page = browser.get(self.idp_url + r.headers["location"], timeout=30)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        nxt = re.search(r'name="next" value="([^"]+)"', page.text)
        assert csrf and nxt, page.text
        done = browser.post(
            f"{self.idp_url}/login",
            data={
                "csrf_token": csrf.group(1),
                "next": nxt.group(1).replace("&amp;", "&"),
                "district": "springfield",
                "username": username,
                "password": PASSWORD,
            },
            allow_redirects=False,
            timeout=30,
        )
        assert done.status_code == 303, done.text
        # The IdP's sign-in form answers with the authorization's redirect itself
        # (web.oidc.continue_authorization): straight back to the portal with the code.
        callback = done.headers["location"]
        assert callback.startswith(f"{self.portal_url}/d/alpha/upstream/callback?"), callback
        return browser.get(callback, allow_redirects=False, timeout=30)


@pytest.fixture
def federation(sql_target: SqlTarget, tmp_path: Path) -> Iterator[Federation]:
    idp_port, portal_port = free_port(), free_port()
    idp_url, portal_url = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{portal_port}"
    idp_db = f"sqlite:///{tmp_path / 'idp.db'}"
    upgrade(idp_db)
    idp = build(
        make_settings(SqlTarget("sqlite", idp_db, idp_db, ""), tmp_path / "idp", issuer=idp_url)
    )
    seeded = seed(idp)
    idp.roster_admin.create_user(
        "springfield",
        username="bart",
        role=Role.STUDENT,
        given_name="Bart",
        email="bart@springfield.example",
        password=PASSWORD,
    )
    registered = idp.apps.create_app("Alpha portal", [f"{portal_url}/d/alpha/upstream/callback"])
    idp.apps.connect(
        seeded["district"], registered.app.id, field_groups=(FieldGroup.BASIC, FieldGroup.EMAIL)
    )
    assert registered.client_secret is not None

    portal = build(make_settings(sql_target, tmp_path / "portal", issuer=portal_url))
    admin = portal.roster_admin
    alpha = admin.create_district("alpha", "Alpha Unified")
    admin.create_district("beta", "Beta County Schools")
    alpha_lisa = admin.create_user(
        "alpha",
        username="lsimpson",
        role=Role.STUDENT,
        given_name="Lisa",
        email="Lisa@Springfield.example",  # emails match case-insensitively
    )
    beta_bart = admin.create_user(
        "beta", username="bart", role=Role.STUDENT, email="bart@springfield.example"
    )
    upstream = portal.upstream_idps.add(
        alpha,
        name="Springfield ID",
        issuer=idp_url,
        client_id=registered.app.id,
        client_secret=registered.client_secret,
        match="email",
    )
    with serve(create_app(idp), idp_port), serve(create_app(portal), portal_port):
        yield Federation(
            idp_url,
            idp,
            portal_url,
            portal,
            admin.district("alpha"),
            admin.district("beta"),
            alpha_lisa,
            beta_bart,
            upstream,
        )
    portal.close()
    idp.close()


@dataclass
class HungServer:
    """A loopback socket that accepts connections and never answers."""

    port: int
    _sock: socket.socket
    accepted: int = 0
    probes: int = 0
    _held: list[socket.socket] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.accepted >= count, timeout)
            return self.accepted

    def drained(self) -> int:
        """Accepted connections, counted after every earlier connect was accepted: connect
        once more ourselves and wait for that one (accept is FIFO)."""
        before = self.accepted
        self.probes += 1
        probe = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            self.wait_for(before + 1)
        finally:
            probe.close()
        return self.accepted - self.probes


@pytest.fixture
def hung_server() -> Iterator[HungServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.2)
    server = HungServer(sock.getsockname()[1], _sock=sock)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with server._cond:
                server._held.append(conn)
                server.accepted += 1
                server._cond.notify_all()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(5)
        sock.close()
        for conn in server._held:
            conn.close()
