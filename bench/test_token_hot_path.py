"""Micro benchmarks of the token endpoint's hot path: signing, code lookup, client auth,
and a whole authorization_code exchange (domain layer, no HTTP).

Recorded results live in ``bench/results.md``.
"""

from __future__ import annotations

import time
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture
from tests.oidc.conftest import REDIRECT, query_of

from homeroom.identity.sessions import Session
from homeroom.oidc.authorize import CodeRedirect, authorize, parse_authorization_request
from homeroom.oidc.bearer import verify_access_token
from homeroom.oidc.client_auth import authenticate_client
from homeroom.oidc.codes import AuthorizationCode, CodeStore
from homeroom.oidc.keys import KeyRing
from homeroom.oidc.token_endpoint import token_request
from homeroom.oidc.tokens import RevocationList, TokenSigner
from homeroom.secrets import StoreSecrets
from homeroom.wiring import Container

Seeded = tuple[Container, dict[str, Any]]


def test_sign_access_token_es256(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    container, data = seeded
    signer = TokenSigner(container.settings.issuer, container.key_ring)
    benchmark(
        lambda: signer.access_token(
            client_id=data["app"].id,
            district_id=data["district"].id,
            subject=data["student"].id,
            scope="openid profile",
            ttl_s=600,
        )
    )


def test_sign_id_token_rs256(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    container, data = seeded
    signer = TokenSigner(container.settings.issuer, container.key_ring)
    benchmark(
        lambda: signer.id_token(
            client_id=data["app"].id,
            alg="RS256",
            claims={"sub": data["student"].id},
            ttl_s=600,
            auth_time=int(time.time()),
            nonce="n",
            sid="s",
            access_token="a.b.c",
        )
    )


def _student_access_token(seeded: Seeded) -> str:
    container, data = seeded
    token, _, _ = TokenSigner(container.settings.issuer, container.key_ring).access_token(
        client_id=data["app"].id,
        district_id=data["district"].id,
        subject=data["student"].id,
        scope="openid",
        ttl_s=600,
    )
    return token


def test_verify_access_token_first_time(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    """A token this worker has not seen (another worker signed it): the ES256 signature is
    verified (``KeyRing.decode``). Each round verifies a new token on a warm ring."""
    container, _data = seeded
    issuer = container.settings.issuer
    assert isinstance(container.secrets, StoreSecrets)
    ring = KeyRing(container.secrets)  # this worker's ring: it signs nothing here
    ring.jwks_json()

    def new_token() -> tuple[tuple[str], dict[str, object]]:
        return (_student_access_token(seeded),), {}

    verify_access_token(new_token()[0][0], issuer=issuer, keys=ring, revocations=None)  # warm
    benchmark.pedantic(  # type: ignore[no-untyped-call]
        lambda token: verify_access_token(token, issuer=issuer, keys=ring, revocations=None),
        setup=new_token,
        rounds=200,
    )


def test_verify_access_token(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    """The same token again (userinfo after the token response, an app paging the roster
    API): the key ring remembers it, so this is claims, expiry and revocation only."""
    container, _data = seeded
    token = _student_access_token(seeded)
    revocations = RevocationList(container.kv, 600)
    benchmark(
        lambda: verify_access_token(
            token,
            issuer=container.settings.issuer,
            keys=container.key_ring,
            revocations=revocations,
        )
    )


def test_code_issue_and_redeem(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    container, data = seeded
    codes = CodeStore(container.kv)
    grant = AuthorizationCode(
        client_id=data["app"].id,
        redirect_uri=REDIRECT,
        scope="openid",
        district_id=data["district"].id,
        user_id=data["student"].id,
        sid="s",
        auth_time=int(time.time()),
        code_challenge=None,
        nonce="n",
        claims={"sub": data["student"].id},
    )
    benchmark(lambda: codes.redeem(codes.issue(grant)))


def test_client_auth_secret_basic(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    container, data = seeded
    import base64

    header = "Basic " + base64.b64encode(f"{data['app'].id}:{data['secret']}".encode()).decode()
    ctx = container.oidc
    benchmark(lambda: authenticate_client(ctx, {}, header, ctx.endpoints.token))


def test_authorization_code_exchange(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    """authorize (with a live session) → token: the instant-login path minus HTTP."""
    container, data = seeded
    ctx = container.oidc
    session: Session = container.sessions.start(data["district"].id, data["student"].id, "pw")
    request = parse_authorization_request(
        ctx,
        [
            ("response_type", "code"),
            ("client_id", data["app"].id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile"),
            ("state", "s"),
            ("nonce", "n"),
        ],
    )
    import base64

    header = "Basic " + base64.b64encode(f"{data['app'].id}:{data['secret']}".encode()).decode()

    def login() -> dict[str, Any]:
        outcome = authorize(ctx, request, session)
        assert isinstance(outcome, CodeRedirect)
        code = query_of(outcome.url)["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        return token_request(ctx, form, header)

    assert "id_token" in benchmark(login)


def _basic(data: dict[str, Any]) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{data['app'].id}:{data['secret']}".encode()).decode()


def test_client_credentials_grant(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    """client auth (HMAC) + per-client rate limit + one signed access token."""
    container, data = seeded
    header = _basic(data)
    form = {"grant_type": "client_credentials"}
    body = benchmark(lambda: token_request(container.oidc, form, header))
    assert body["token_type"] == "Bearer"


def test_refresh_rotation(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    """One rotation per round: compare-and-set, new refresh token row, new access token."""
    container, data = seeded
    ctx = container.oidc
    header = _basic(data)
    session = container.sessions.start(data["district"].id, data["student"].id, "pw")
    request = parse_authorization_request(
        ctx,
        [
            ("response_type", "code"),
            ("client_id", data["app"].id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("nonce", "n"),
        ],
    )
    outcome = authorize(ctx, request, session)
    assert isinstance(outcome, CodeRedirect)
    code = query_of(outcome.url)["code"]
    first = token_request(
        ctx, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}, header
    )
    current = [first["refresh_token"]]

    def rotate() -> None:
        body = token_request(
            ctx, {"grant_type": "refresh_token", "refresh_token": current[0]}, header
        )
        current[0] = body["refresh_token"]

    benchmark(rotate)


def test_instant_login_over_http(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    """authorize (session cookie) → token → userinfo through the whole ASGI app in-process
    (TestClient overhead included: compare rounds, not absolute figures)."""
    from fastapi.testclient import TestClient

    from homeroom.web.app import create_app

    container, data = seeded
    session = container.sessions.start(data["district"].id, data["student"].id, "pw")
    with TestClient(create_app(container), base_url=container.settings.issuer) as client:
        cookie = _cookie_value(container, session.id)
        client.cookies.set("homeroom_session", cookie)
        params = {
            "response_type": "code",
            "client_id": data["app"].id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
            "state": "s",
            "nonce": "n",
        }

        def flow() -> None:
            r = client.get("/authorize", params=params, follow_redirects=False)
            code = query_of(r.headers["location"])["code"]
            t = client.post(
                "/token",
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
                auth=(data["app"].id, data["secret"]),
            ).json()
            info = client.get("/userinfo", headers={"Authorization": f"Bearer {t['access_token']}"})
            assert info.status_code == 200

        benchmark(flow)


def _cookie_value(container: Container, session_id: str) -> str:
    from starlette.responses import Response

    response = Response()
    container.session_cookie.write(response, session_id)
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]


def test_rate_limit_hit_in_process(benchmark: BenchmarkFixture, seeded: Seeded) -> None:
    """One per-client check on the in-process moving window (``ops.ratelimit_memory``)."""
    container, data = seeded
    limiter = container.rate_limiter
    assert limiter.in_process
    benchmark(lambda: limiter.check("client", data["app"].id))


def test_client_credentials_grants_group_committed(
    benchmark: BenchmarkFixture, seeded: Seeded
) -> None:
    """32 client_credentials grants in one event-loop turn, as ``web.hot.blocking`` runs them
    on the embedded stores: their audit appends share one transaction (divide by 32)."""
    import asyncio

    from homeroom.audit.group_commit import deferred_appends

    container, data = seeded
    header = _basic(data)
    form = {"grant_type": "client_credentials"}

    async def one() -> None:
        with deferred_appends() as pending:
            token_request(container.oidc, form, header)
        await pending.durable()

    async def batch() -> None:
        await asyncio.gather(*(one() for _ in range(32)))

    loop = asyncio.new_event_loop()
    try:
        benchmark(lambda: loop.run_until_complete(batch()))
    finally:
        loop.close()
