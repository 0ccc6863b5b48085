"""Rate limits on ``/login`` and ``/token``: failures per address, machine grants per client;
429 + Retry-After. What succeeds from one address is never refused for its address: a
school's students, and an app's servers, each come from a few addresses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from homeroom.web.app import create_app
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings
from tests.oidc.conftest import ISSUER, OP, seed


@pytest.fixture
def tight(sql_target: SqlTarget, tmp_path: Path) -> Iterator[OP]:
    settings = make_settings(
        sql_target,
        tmp_path,
        issuer=ISSUER,
        rate_limit_ip="6/minute",
        rate_limit_client="3/minute",
        rate_limit_account="2/minute",
    )
    container = build(settings)
    seeded = seed(container)
    with TestClient(create_app(container), base_url=ISSUER) as client:
        yield OP(container=container, client=client, **seeded)
    container.close()


def _limited(category: str) -> float:
    return REGISTRY.get_sample_value("homeroom_rate_limited_total", {"category": category}) or 0


def test_token_requests_are_limited_per_client(tight: OP) -> None:
    before = _limited("client")
    cc = {"grant_type": "client_credentials"}
    for _ in range(3):
        assert tight.token(cc, auth=(tight.app.id, tight.secret)).status_code == 200
    refused = tight.token(cc, auth=(tight.app.id, tight.secret))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert _limited("client") == before + 1


def test_a_wrong_secret_does_not_spend_the_clients_budget(tight: OP) -> None:
    cc = {"grant_type": "client_credentials"}
    for _ in range(3):
        assert tight.token(cc, auth=(tight.app.id, "wrong")).status_code == 401
    assert tight.token(cc, auth=(tight.app.id, tight.secret)).status_code == 200


def test_token_requests_are_limited_per_address(tight: OP) -> None:
    before = _limited("ip")
    cc = {"grant_type": "client_credentials"}
    codes = [tight.token(cc, auth=(tight.app.id, "wrong")).status_code for _ in range(7)]
    assert codes == [401] * 6 + [429]
    assert _limited("ip") == before + 1


def test_sign_in_posts_are_limited_per_address(tight: OP) -> None:
    # Different accounts, so the lockout never triggers: only the address limit can refuse.
    codes = [tight.login(username=f"nobody{i}", password="x").status_code for i in range(7)]
    assert codes == [401] * 6 + [429]
    assert tight.client.get("/login").status_code == 200  # the form itself is not counted


def test_the_lockout_uses_the_account_setting(tight: OP) -> None:
    for _ in range(2):
        assert tight.login(password="wrong-password").status_code == 401
    locked = tight.login()
    assert locked.status_code == 429 and locked.headers["x-ratelimit-limit"] == "2"


def test_code_exchanges_spend_no_budget(tight: OP) -> None:
    """More sign-ins and code exchanges from one address than either budget allows (six
    per address, three per client): all served, as a school's morning must be."""
    before = _limited("ip"), _limited("client")
    for _ in range(4):
        tight.client.cookies.clear()
        assert tight.login().status_code == 200  # signed in: not counted per address
        assert "homeroom_session" in tight.client.cookies
    for _ in range(8):
        assert tight.exchange(tight.code()).status_code == 200
    assert (_limited("ip"), _limited("client")) == before


def test_refresh_grants_are_limited_per_client(tight: OP) -> None:
    refresh = tight.tokens()["refresh_token"]
    for _ in range(3):
        r = tight.token(
            {"grant_type": "refresh_token", "refresh_token": refresh},
            auth=(tight.app.id, tight.secret),
        )
        assert r.status_code == 200, r.text
        refresh = r.json()["refresh_token"]
    refused = tight.token(
        {"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(tight.app.id, tight.secret),
    )
    assert refused.status_code == 429 and refused.headers["x-ratelimit-limit"] == "3"


def test_a_spent_address_is_refused_even_the_right_secret(tight: OP) -> None:
    """The address's budget guards client secrets against guessing: once six wrong guesses
    have used it up, the address gets 429 before any secret is checked."""
    for _ in range(6):
        assert (
            tight.token({"grant_type": "client_credentials"}, auth=(tight.app.id, "x")).status_code
            == 401
        )
    right = tight.token({"grant_type": "client_credentials"}, auth=(tight.app.id, tight.secret))
    assert right.status_code == 429
