"""The sign-in and protocol paths move the series declared in ``ops/metrics.py``."""

from __future__ import annotations

from prometheus_client import REGISTRY

from homeroom.ops import metrics
from tests.oidc.conftest import OP, pkce_pair


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_each_series_is_declared_once_in_ops_metrics() -> None:
    import importlib.util

    assert importlib.util.find_spec("homeroom.oidc.metrics") is None
    assert metrics.TOKENS_ISSUED._labelnames == ("grant",)


def test_a_sign_in_counts_by_method_and_outcome(op: OP) -> None:
    ok = sample("homeroom_logins_total", method="password", outcome="success")
    bad = sample("homeroom_logins_total", method="password", outcome="bad_credentials")
    assert op.login().status_code == 200
    assert op.login(password="wrong-password").status_code == 401
    assert sample("homeroom_logins_total", method="password", outcome="success") == ok + 1
    assert sample("homeroom_logins_total", method="password", outcome="bad_credentials") == bad + 1


def test_token_grants_count_by_grant(op: OP) -> None:
    code = sample("homeroom_tokens_issued_total", grant="authorization_code")
    refresh = sample("homeroom_tokens_issued_total", grant="refresh_token")
    tokens = op.tokens()
    assert sample("homeroom_tokens_issued_total", grant="authorization_code") == code + 1
    r = op.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(op.app.id, op.secret),
    )
    assert r.status_code == 200, r.text
    assert sample("homeroom_tokens_issued_total", grant="refresh_token") == refresh + 1


def test_oidc_errors_count_by_endpoint_and_code(op: OP) -> None:
    grant = sample("homeroom_oidc_errors_total", endpoint="token", error="invalid_grant")
    _verifier, challenge = pkce_pair()
    code = op.code(code_challenge=challenge, code_challenge_method="S256")
    assert op.exchange(code, code_verifier="x" * 43).json()["error"] == "invalid_grant"
    assert sample("homeroom_oidc_errors_total", endpoint="token", error="invalid_grant") == (
        grant + 1
    )
    client = sample("homeroom_oidc_errors_total", endpoint="token", error="invalid_client")
    r = op.token({"grant_type": "client_credentials"}, auth=(op.app.id, "wrong"))
    assert r.status_code == 401
    assert sample("homeroom_oidc_errors_total", endpoint="token", error="invalid_client") == (
        client + 1
    )
    userinfo = sample("homeroom_oidc_errors_total", endpoint="userinfo", error="invalid_token")
    assert op.client.get("/userinfo", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert sample("homeroom_oidc_errors_total", endpoint="userinfo", error="invalid_token") == (
        userinfo + 1
    )
    auth = authorize_errors()
    assert op.authorize(client_id="no-such-client").status_code == 400
    assert authorize_errors() == auth + 1


def authorize_errors() -> float:
    return sum(
        s.value
        for family in REGISTRY.collect()
        if family.name == "homeroom_oidc_errors"
        for s in family.samples
        if s.name.endswith("_total") and s.labels.get("endpoint") == "authorize"
    )


def test_hot_protocol_routes_are_labelled_by_path(op: OP) -> None:
    """/authorize, /token, /userinfo are plain Starlette routes: still labelled, not
    "unmatched"."""
    before = sample("homeroom_http_requests_total", route="/token", status="200")
    op.tokens()
    assert sample("homeroom_http_requests_total", route="/token", status="200") == before + 1
