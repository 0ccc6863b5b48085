"""Server-side failures are 5xx and counted, never dressed up as a user's OAuth error.

A broken app login must page someone: if the database or the KV store fails while the
authorization endpoint is deciding, the browser gets a 5xx (not an error redirect that the
app would show as "access denied"), and ``homeroom_server_errors_total`` goes up.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from homeroom.errors import ServiceUnavailable
from homeroom.web.app import create_app
from tests.oidc.conftest import ISSUER, OP


def errors(kind: str) -> float:
    return REGISTRY.get_sample_value("homeroom_server_errors_total", {"kind": kind}) or 0.0


def test_a_crash_while_authorizing_is_a_counted_500_not_a_redirect(op: OP) -> None:
    op.login()

    def broken(*_args: object) -> None:
        raise RuntimeError("database exploded")

    op.container.oidc.clients.connection = broken  # type: ignore[method-assign]
    before = errors("unhandled")
    with TestClient(create_app(op.container), base_url=ISSUER, raise_server_exceptions=False) as c:
        c.cookies.update(op.client.cookies)
        r = c.get(
            "/authorize",
            params={
                "response_type": "code",
                "client_id": op.app.id,
                "redirect_uri": "https://app.example/callback",
                "scope": "openid",
                "state": "s",
            },
            follow_redirects=False,
        )
    assert r.status_code == 500 and "location" not in r.headers
    assert "exploded" not in r.text
    assert errors("unhandled") == before + 1


def test_kv_outage_at_the_token_endpoint_is_503_with_retry_after(op: OP) -> None:
    code = op.code()

    def down(*_args: object, **_kwargs: object) -> None:
        raise ServiceUnavailable("kv store unavailable", retry_after=2)

    # Redeeming a code pops it and marks it spent in one KV operation.
    op.container.kv.pop_and_set = down  # type: ignore[method-assign]
    before = errors("unavailable")
    r = op.exchange(code)
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json()["error"] == "temporarily_unavailable"
    assert errors("unavailable") == before + 1
