"""A second, independent client: requests-oauthlib (oauthlib) with PKCE."""

from __future__ import annotations

import pytest
import requests
from requests_oauthlib import OAuth2Session

from tests.e2e.conftest import Stack


def test_code_flow_userinfo_and_client_credentials(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback test server on http
    meta = stack.metadata()
    app, secret = stack.seeded["app"], stack.seeded["secret"]
    session = OAuth2Session(
        app.id, redirect_uri="http://127.0.0.1:9999/cb", scope=["openid", "profile"], pkce="S256"
    )
    url, _state = session.authorization_url(meta["authorization_endpoint"], nonce="n1")
    callback = stack.sign_in(requests.Session(), url, username="hoover")
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, client_secret=secret
    )
    assert token["token_type"].lower() == "bearer" and token["id_token"]
    me = session.get(meta["userinfo_endpoint"]).json()
    assert me["role"] == "teacher" and me["name"] == "Elizabeth Hoover"

    from oauthlib.oauth2 import BackendApplicationClient

    service = OAuth2Session(client=BackendApplicationClient(client_id=app.id))
    cc = service.fetch_token(meta["token_endpoint"], client_id=app.id, client_secret=secret)
    introspected = requests.post(
        meta["introspection_endpoint"],
        data={"token": cc["access_token"]},
        auth=(app.id, secret),
        timeout=5,
    ).json()
    assert introspected["active"] is True and introspected["scope"] == "roster.read"
