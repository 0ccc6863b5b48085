"""OpenID Connect Discovery 1.0 §3 / RFC 8414 §2, and the JWK Set (RFC 7517)."""

from __future__ import annotations

from tests.oidc.conftest import ISSUER, OP

REQUIRED = (  # OIDC Discovery §3 REQUIRED members
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)


def test_both_well_known_documents_are_identical_and_complete(op: OP) -> None:
    oidc = op.client.get("/.well-known/openid-configuration")
    oauth = op.client.get("/.well-known/oauth-authorization-server")
    assert oidc.status_code == oauth.status_code == 200
    assert oidc.json() == oauth.json()
    meta = oidc.json()
    for name in REQUIRED:
        assert meta[name], name
    # "issuer: [...] identical to the issuer value returned by WebFinger" - and to ours.
    assert meta["issuer"] == ISSUER
    # OIDC Core §15.1: RS256 MUST be supported for ID tokens.
    assert "RS256" in meta["id_token_signing_alg_values_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True


def test_every_advertised_endpoint_exists(op: OP) -> None:
    meta = op.client.get("/.well-known/openid-configuration").json()
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
    ):
        url = meta[name]
        assert url.startswith(ISSUER + "/"), name
        path = url.removeprefix(ISSUER)
        r = op.client.get(path, follow_redirects=False)
        assert r.status_code not in (404, 500), (name, r.status_code)


def test_jwks_publishes_public_keys_only_with_cache_headers(op: OP) -> None:
    r = op.client.get("/jwks.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jwk-set+json")
    assert "max-age=" in r.headers["cache-control"]
    keys = r.json()["keys"]
    assert {k["alg"] for k in keys} == {"ES256", "RS256"}
    assert all(k["use"] == "sig" and k["kid"] for k in keys)
    assert not any(private in k for k in keys for private in ("d", "p", "q", "dp", "dq", "qi"))


def test_every_advertised_grant_type_is_accepted(op: OP) -> None:
    meta = op.client.get("/.well-known/openid-configuration").json()
    for grant in meta["grant_types_supported"]:
        r = op.token({"grant_type": grant}, auth=(op.app.id, op.secret))
        assert r.json().get("error") != "unsupported_grant_type", grant


def test_every_advertised_scope_is_accepted(op: OP) -> None:
    meta = op.client.get("/.well-known/openid-configuration").json()
    user_scopes = [s for s in meta["scopes_supported"] if "." not in s]
    service_scopes = [s for s in meta["scopes_supported"] if "." in s]
    assert op.tokens(" ".join(user_scopes))["scope"] == " ".join(user_scopes)
    r = op.token(
        {"grant_type": "client_credentials", "scope": " ".join(service_scopes)},
        auth=(op.app.id, op.secret),
    )
    assert r.status_code == 200
