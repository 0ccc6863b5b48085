"""A full sign-in run whose logs, captured at DEBUG and searched, contain no secret value.

The run (``signin_for_logs.py``) is its own process, started the way ``homeroom serve``
starts the app; its stdout and stderr are captured whole. Every secret of the run — the
password, the client secret (and a wrong guess at it), the authorization code, access and
refresh tokens, the session cookie and its key, the signing keys (JWK, ``d``, PEM), the
client-secret HMAC key, the CSRF key and the key-encryption key — is searched for in raw,
hex and base64 forms. The search is shown to work: a canary logged the same careless ways is
found, and so is a secret logged after the redactor is emptied.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from homeroom.secrets.redaction import REDACTED
from tests.conftest import SqlTarget
from tests.secrets.test_log_redaction import HERE, _cli, _env, _forms

CREDENTIALS = {
    "password",
    "client_secret",
    "wrong_client_secret",
    "session_cookie",
    "authorization_code",
    "access_token",
    "refresh_token",
    "refresh_token_2",
    "service_token",
}
KEYS = {
    "session_cookie_key",
    "client_secret_hmac_key",
    "csrf_key",
    "signing_ES256_jwk",
    "signing_ES256_d",
    "signing_ES256_pem",
    "signing_RS256_jwk",
    "signing_RS256_d",
    "signing_RS256_pem",
    "kek",
}
EXPECTED = CREDENTIALS | KEYS


def _leaks(logs: str, value: bytes) -> list[str]:
    return [form for form in _forms(value) if len(form) >= 8 and form in logs]


def test_full_sign_in_logs_contain_no_secret_value(sql_target: SqlTarget, tmp_path: Path) -> None:
    env = _env(sql_target, tmp_path)
    assert _cli(env, "migrate").returncode == 0
    values_file = tmp_path / "values.txt"
    run = subprocess.run(
        [sys.executable, str(HERE / "signin_for_logs.py"), str(values_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    values = {
        name: bytes.fromhex(hexed)
        for name, hexed in (line.split() for line in values_file.read_text().splitlines())
    }
    canary = values.pop("canary")
    assert set(values) == EXPECTED
    before, after = run.stderr.split("REDACTION-OFF", 1)
    logs = run.stdout + before
    # The run really was logged, at DEBUG, requests and SQL included.
    for needle in ("/token", "/userinfo", "/authorize", "/logout", "SELECT", '"debug"'):
        assert needle in logs, needle
    # The search sees what is logged: the canary, through structlog and stdlib alike.
    assert logs.count(canary.decode()) >= 4
    assert canary.hex() in logs
    for name, value in values.items():
        assert not _leaks(logs, value), f"{name} appears in the logs"
    assert logs.count(REDACTED) >= 6 * len(KEYS)  # each key logged six careless ways
    # And it would catch a leak: with the redactor emptied, a key gets through.
    assert _leaks(after, values["session_cookie_key"])
