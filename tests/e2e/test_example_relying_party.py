"""The example relying party (``examples/relying_party.py``, Authlib's Starlette client)
signs a user in, shows who it is, and signs out, against a real Homeroom server."""

from __future__ import annotations

import requests
from examples.relying_party import create_app

from tests.e2e.conftest import Stack, serve
from tests.services import free_port


def test_example_app_sign_in_and_out(stack: Stack) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    registered = stack.container.apps.create_app(
        "Example RP", [f"{base}/callback"], post_logout_redirect_uris=[f"{base}/"]
    )
    stack.container.apps.connect(stack.seeded["district"], registered.app.id)
    assert registered.client_secret is not None
    rp = create_app(stack.issuer, registered.app.id, registered.client_secret, base)
    browser = requests.Session()
    with serve(rp, port):
        assert "Log in with Homeroom" in browser.get(f"{base}/", timeout=5).text
        start = browser.get(
            f"{base}/login", params={"district": "springfield"}, allow_redirects=False
        )
        assert start.status_code == 302
        callback = stack.sign_in(browser, start.headers["location"])
        assert callback.startswith(f"{base}/callback?")
        home = browser.get(callback, timeout=10)
        assert "Hello, Lisa Simpson!" in home.text
        out = browser.get(f"{base}/logout", timeout=10)
        assert out.url.startswith(f"{base}/?state=") and "Log in with Homeroom" in out.text
        # The Homeroom session ended too: a new login needs the sign-in page again.
        again = browser.get(f"{base}/login", allow_redirects=False)
        op = browser.get(again.headers["location"], allow_redirects=False)
        assert "/login?" in op.headers["location"]
