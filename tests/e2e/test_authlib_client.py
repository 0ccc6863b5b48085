"""Authlib's OAuth 2.0 / OIDC client against a real server: code + PKCE, ID token
verification against the published JWKS, userinfo, refresh rotation, revocation, logout."""

from __future__ import annotations

import secrets

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.conftest import Stack

CALLBACK = "http://127.0.0.1:9999/cb"  # registered for the seeded app; never contacted


def test_full_cycle(stack: Stack) -> None:
    meta = stack.metadata()
    app, secret = stack.seeded["app"], stack.seeded["secret"]
    client = OAuth2Session(
        app.id,
        secret,
        scope="openid profile email offline_access",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
    )
    verifier, nonce = generate_token(48), secrets.token_urlsafe(16)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, district="springfield"
    )
    browser = requests.Session()
    callback = stack.sign_in(browser, url)
    assert callback.startswith(CALLBACK + "?")
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=5).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["ES256"])
    claims = id_token.claims
    assert claims["iss"] == meta["issuer"] and claims["aud"] == app.id
    assert claims["nonce"] == nonce and claims["sub"] == stack.seeded["student"].id

    info = client.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["email"] == "lisa@springfield.example"

    old_refresh = token["refresh_token"]
    refreshed = client.refresh_token(meta["token_endpoint"])
    assert refreshed["refresh_token"] != old_refresh
    assert client.get(meta["userinfo_endpoint"]).status_code == 200

    revoked = client.revoke_token(
        meta["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200
    assert client.get(meta["userinfo_endpoint"]).status_code == 401  # family revoked

    out = browser.get(
        meta["end_session_endpoint"],
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "https://app.example/bye",
            "state": "bye-1",
        },
        allow_redirects=False,
    )
    assert (
        out.status_code == 302 and out.headers["location"] == "https://app.example/bye?state=bye-1"
    )
    silent, _ = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, prompt="none"
    )
    after = browser.get(silent, allow_redirects=False)
    assert "error=login_required" in after.headers["location"]


def test_public_client_with_pkce(stack: Stack) -> None:
    meta = stack.metadata()
    public = stack.seeded["public_app"]
    client = OAuth2Session(
        public.id,
        scope="openid",
        redirect_uri="https://pad.example/cb",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier
    )
    callback = stack.sign_in(requests.Session(), url)
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    assert token["token_type"] == "Bearer" and "id_token" in token
