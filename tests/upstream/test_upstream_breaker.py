"""A district IdP that accepts connections and never answers: each sign-in costs one
bounded timeout until the circuit breaker opens, then fails fast (503 + Retry-After)
without touching the upstream. The connection count is what proves it: remove the breaker
from ``UpstreamGuard`` and every later click reaches the hung socket again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from homeroom.identity.upstream import UpstreamIdp
from homeroom.ops.breaker import BreakerState
from homeroom.roster.models import District
from homeroom.web.app import create_app
from homeroom.wiring import Container
from tests.upstream.conftest import HungServer

THRESHOLD = 2


@pytest.fixture
def hung_district(
    container: Container, hung_server: HungServer
) -> Iterator[tuple[TestClient, District, UpstreamIdp]]:
    district = container.roster_admin.create_district("alpha", "Alpha Unified")
    idp = container.upstream_idps.add(
        district,
        name="Slow ID",
        issuer=f"http://127.0.0.1:{hung_server.port}",
        client_id="homeroom",
        client_secret="s3cret-value",
        match="email",
    )
    login = container.upstream_login
    login.connect_timeout_s = login.read_timeout_s = 0.3
    login.failure_threshold, login.attempts, login.reset_timeout_s = THRESHOLD, 1, 600.0
    with TestClient(create_app(container), base_url=container.settings.issuer) as client:
        yield client, district, idp


def test_a_hung_upstream_opens_the_breaker_and_later_sign_ins_fail_fast(
    container: Container,
    hung_server: HungServer,
    hung_district: tuple[TestClient, District, UpstreamIdp],
) -> None:
    client, _district, idp = hung_district
    start = f"/d/alpha/upstream/{idp.id}/start"
    for _ in range(THRESHOLD):
        r = client.get(start, follow_redirects=False)
        assert r.status_code == 503 and "not answering" in r.text
    assert hung_server.drained() == THRESHOLD
    for _ in range(5):
        r = client.get(start, follow_redirects=False)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
    assert hung_server.drained() == THRESHOLD  # no new connection while open
    assert container.upstream_login.guard(idp).breaker.state is BreakerState.OPEN
    name = f"idp:{idp.issuer}"
    assert REGISTRY.get_sample_value("homeroom_breaker_state", {"breaker": name}) == 2
    errors = {"upstream": name, "outcome": "error"}
    assert REGISTRY.get_sample_value("homeroom_upstream_seconds_count", errors) == THRESHOLD


def test_the_client_secret_is_never_in_settings_pages_or_logs(
    container: Container,
    hung_district: tuple[TestClient, District, UpstreamIdp],
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, district, idp = hung_district
    settings = container.roster_admin.district("alpha").settings
    assert "s3cret-value" not in repr(settings)
    assert "upstream" in settings["login_methods"]
    assert container.secrets.get_or_create(idp.secret_name) == b"s3cret-value"
    page = client.get(f"/d/alpha/upstream/{idp.id}/start")
    assert "s3cret-value" not in page.text
    captured = capsys.readouterr()
    assert "s3cret-value" not in captured.out + captured.err
    container.upstream_idps.remove(container.roster_admin.district(district.slug), idp.id)
    assert "upstream" not in container.roster_admin.district("alpha").settings["login_methods"]
    assert client.get(f"/d/alpha/upstream/{idp.id}/start").status_code == 404
