"""The OIDC scenarios, end to end, against a certified OpenID Provider (panva/oidc-provider).

Homeroom's own provider is not in this branch yet (issue 9), but the scenarios are written
against the standard protocol, so they can be proven now against the comparison server in
``bench/compare/oidc-provider``: every flow must complete with all its checks (state, PKCE,
ID-token signature and claims, userinfo ``sub``, refresh rotation) and zero errors. Needs
``node`` and the npm registry (``npm ci``); skips, saying why, without them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.loadtest.conftest import free_port, homeroom

ROOT = Path(__file__).resolve().parents[2]
OP_DIR = ROOT / "bench" / "compare" / "oidc-provider"


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(tmp_path_factory, {})


@pytest.fixture(scope="module")
def oidc_provider_jwt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``run-compare.sh``'s oidc-provider-jwt: client-credentials tokens are ES256 JWTs."""
    yield from _serve(tmp_path_factory, {"ACCESS_TOKEN_FORMAT": "jwt"})


def _serve(tmp_path_factory: pytest.TempPathFactory, extra: dict[str, str]) -> Iterator[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not installed")
    if not (OP_DIR / "node_modules" / "oidc-provider").is_dir():
        install = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=OP_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if install.returncode != 0:
            pytest.skip(f"npm ci failed: {install.stderr.strip().splitlines()[-1:]}")
    port = free_port()
    log = (tmp_path_factory.mktemp("op") / "op.log").open("wb")
    env = {**os.environ, "PORT": str(port), "NODE_ENV": "production", **extra}
    proc = subprocess.Popen(
        [node, "server.js"], cwd=OP_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/.well-known/openid-configuration", timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("oidc-provider did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _harness(
    url: str, scenario: str, seed: Path, report: Path, *, duration: str, concurrency: int
) -> tuple[int, str, dict[str, Any]]:
    """``homeroom loadtest run`` at 10 flows/s, failing on any error: (exit code, stderr,
    JSON summary)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    result = homeroom(
        env,
        "loadtest", "run", "--json",
        "--url", url,
        "--scenario", scenario,
        "--rate", "10",
        "--duration", duration,
        "--concurrency", str(concurrency),
        "--seed-file", str(seed),
        "--report", str(report),
        "--fail-on", "errors>0",
    )  # fmt: skip
    return result.returncode, result.stderr, json.loads(result.stdout)


@pytest.mark.oidc
@pytest.mark.parametrize(
    "scenario",
    [
        "instant_login",
        "password_login",
        "refresh",
        "client_credentials",
        "instant_login=6,password_login=2,refresh=1,client_credentials=1",
    ],
)
def test_scenario_against_oidc_provider(scenario: str, oidc_provider: str, tmp_path: Path) -> None:
    code, stderr, summary = _harness(
        oidc_provider, scenario, OP_DIR / "seed.json", tmp_path / "r", duration="4s", concurrency=4
    )
    assert code == 0, (stderr, summary["errors_by_kind"])
    assert summary["flows_ok"] == 40 and summary["flows_failed"] == 0
    main = scenario.split("=")[0]
    assert f"{main}.flow" in summary["steps"]


@pytest.mark.oidc
def test_a_rejected_client_is_counted_by_kind(oidc_provider: str, tmp_path: Path) -> None:
    seed = json.loads((OP_DIR / "seed.json").read_text())
    seed["client_secret"] = "wrong-secret"
    bad = tmp_path / "seed.json"
    bad.write_text(json.dumps(seed))
    code, _, summary = _harness(
        oidc_provider, "client_credentials", bad, tmp_path / "r", duration="2s", concurrency=2
    )
    assert code == 3
    assert summary["flows_ok"] == 0
    assert summary["errors_by_kind"] == {"client_credentials: token: http_401_invalid_client": 20}


@pytest.mark.oidc
def test_client_credentials_with_jwt_access_tokens(oidc_provider_jwt: str, tmp_path: Path) -> None:
    """The comparison's JWT variant issues RFC 9068 tokens, and the harness verifies each
    one against the provider's JWKS (a JWT access token is checked as an API would)."""
    seed = json.loads((OP_DIR / "seed.json").read_text())
    reply = httpx.post(
        oidc_provider_jwt + "/token",
        data={"grant_type": "client_credentials"},
        auth=(seed["client_id"], seed["client_secret"]),
    )
    token = reply.json()["access_token"]
    assert token.count(".") == 2
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt"
    code, stderr, summary = _harness(
        oidc_provider_jwt,
        "client_credentials",
        OP_DIR / "seed.json",
        tmp_path / "r",
        duration="2s",
        concurrency=2,
    )
    assert code == 0, (stderr, summary["errors_by_kind"])
    assert summary["flows_ok"] == 20 and summary["flows_failed"] == 0
