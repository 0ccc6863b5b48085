"""The client_credentials grant: RFC 6749 §4.4, one connected district per token."""

from __future__ import annotations

from typing import Any

from homeroom.oidc.bearer import verify_access_token
from homeroom.oidc.tokens import RevocationList
from tests.oidc.conftest import ISSUER, OP


def cc(op: OP, **extra: str) -> Any:
    return op.token({"grant_type": "client_credentials", **extra}, auth=(op.app.id, op.secret))


def test_a_token_for_the_only_connected_district(op: OP) -> None:
    from prometheus_client import REGISTRY

    labels = {"grant": "client_credentials"}
    before = REGISTRY.get_sample_value("homeroom_tokens_issued_total", labels) or 0
    r = cc(op)
    assert r.status_code == 200, r.text
    assert REGISTRY.get_sample_value("homeroom_tokens_issued_total", labels) == before + 1
    body = r.json()
    assert "refresh_token" not in body and "id_token" not in body
    assert body["scope"] == "roster.read"
    principal = verify_access_token(
        body["access_token"],
        issuer=ISSUER,
        keys=op.container.key_ring,
        revocations=RevocationList(op.container.kv, 600),
    )
    assert principal.subject is None
    assert principal.district_id == op.district.id and principal.client_id == op.app.id


def test_the_district_parameter_chooses_among_several(op: OP) -> None:
    second = op.container.roster_admin.create_district("shelbyville", "Shelbyville")
    op.container.apps.connect(second, op.app.id)
    op.container.oidc.clients.invalidate()
    r = cc(op)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    ok = cc(op, district="shelbyville").json()
    principal = verify_access_token(
        ok["access_token"], issuer=ISSUER, keys=op.container.key_ring, revocations=None
    )
    assert principal.district_id == second.id


def test_unconnected_or_unknown_districts_are_refused_alike(op: OP) -> None:
    op.container.roster_admin.create_district("shelbyville", "Shelbyville")
    for slug in ("shelbyville", "atlantis"):
        r = cc(op, district=slug)
        assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_scopes_are_limited_to_service_scopes(op: OP) -> None:
    assert cc(op, scope="roster.read usage.write").json()["scope"] == "roster.read usage.write"
    r = cc(op, scope="openid")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_public_clients_may_not_use_it(op: OP) -> None:
    r = op.token({"grant_type": "client_credentials", "client_id": op.public_app.id})
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
