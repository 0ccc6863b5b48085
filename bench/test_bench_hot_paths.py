"""Micro benchmarks for the hot paths a login touches, and for the harness's own per-flow
costs (the load generator must stay cheaper than the server it measures).

Server side, present in this branch: argon2id verification (the password sign-in ceiling:
the issue's target is 90 % of this raw rate), client-secret HMAC check (every token request),
the session cookie (every portal request) and the KV session lookup (every instant login).
The OpenID Provider's own paths (code issue/redeem, ID-token signing, refresh rotation) get
their benchmarks with the provider's code (issue 9).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.requests import Request
from starlette.responses import Response

from homeroom.identity.passwords import PasswordHasher
from homeroom.identity.sessions import SessionStore
from homeroom.loadtest.checks import pkce_pair, verify_jwt
from homeroom.loadtest.histogram import LatencyHistogram
from homeroom.sharing.credentials import (
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)
from homeroom.storage.kv import MemoryKV
from homeroom.web.session_cookie import COOKIE_NAME, SessionCookie

Bench = Any  # pytest-benchmark's fixture


def test_argon2id_verify_raw(benchmark: Bench) -> None:
    hasher = PasswordHasher()
    stored = hasher.hash("maple-leaf-7")
    assert benchmark(hasher.verify, stored, "maple-leaf-7")


def test_client_secret_verify(benchmark: Bench) -> None:
    key, secret = b"k" * 32, generate_client_secret()
    stored = hash_client_secret(key, secret)
    assert benchmark(verify_client_secret, key, secret, stored)


def test_session_cookie_read(benchmark: Bench) -> None:
    cookie = SessionCookie([b"s" * 32], secure=True, max_age_s=3600)
    response = Response()
    cookie.write(response, "sid-123")
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    scope = {"type": "http", "headers": [(b"cookie", f"{COOKIE_NAME}={value}".encode())]}
    assert benchmark(lambda: cookie.read(Request(scope))) == "sid-123"


def test_session_lookup_memory_kv(benchmark: Bench) -> None:
    store = SessionStore(MemoryKV())
    session = store.start("dst_1", "usr_1", "password")
    assert benchmark(store.get, session.id) is not None


@pytest.fixture(scope="module")
def signed() -> tuple[str, KeySet]:
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    now = int(time.time())
    claims = {"iss": "https://id", "aud": "app", "sub": "u", "exp": now + 600, "nonce": "n"}
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key), KeySet([key])


def test_harness_id_token_verification(benchmark: Bench, signed: tuple[str, KeySet]) -> None:
    token, keys = signed
    claims = benchmark(verify_jwt, token, keys, issuer="https://id", audience="app", nonce="n")
    assert claims["sub"] == "u"


def test_harness_pkce_pair(benchmark: Bench) -> None:
    assert len(benchmark(pkce_pair)[1]) == 43


def test_harness_histogram_record(benchmark: Bench) -> None:
    hist = LatencyHistogram()
    benchmark(hist.record, 3.7)
    assert hist.count > 0
