"""Captured logs of real processes contain no secret value, in any encoding.

Covers what exists before the OIDC merge: web start-up and requests, app creation, session
cookie issue, an application secret written and read, and the CLI's secret commands. (A
full sign-in run is added when the sign-in flow lands.)
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from homeroom.secrets.redaction import REDACTED, Redactor
from tests.conftest import SqlTarget

HERE = Path(__file__).parent


def _env(sql_target: SqlTarget, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    env.update(
        HOMEROOM_DATA_DIR=str(tmp_path / "data"),
        HOMEROOM_DATABASE_URL=sql_target.url,
        HOMEROOM_MIGRATE_DATABASE_URL=sql_target.owner_url,
        HOMEROOM_LOG_JSON="true",
        HOMEROOM_LOG_LEVEL="debug",
        PYTHONPATH=str(HERE.parent.parent),
    )
    if sql_target.app_role:
        env["HOMEROOM_APP_DB_ROLE"] = sql_target.app_role
    return env


def _forms(value: bytes) -> list[str]:
    forms = [
        value.hex(),
        base64.b64encode(value).decode(),
        base64.urlsafe_b64encode(value).decode(),
    ]
    with contextlib.suppress(UnicodeDecodeError):
        forms.append(value.decode())
    return forms


def _cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeroom", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_web_process_logs_contain_no_secret_value(sql_target: SqlTarget, tmp_path: Path) -> None:
    env = _env(sql_target, tmp_path)
    assert _cli(env, "migrate").returncode == 0
    values_file = tmp_path / "values.txt"
    run = subprocess.run(
        [sys.executable, str(HERE / "flow_for_logs.py"), str(values_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    logs = run.stdout + run.stderr
    values = [bytes.fromhex(h) for h in values_file.read_text().split()]
    assert len(values) == 3
    for value in values:
        for form in _forms(value):
            assert form not in logs
    assert logs.count(REDACTED) >= 5
    assert "secret_created" in logs and "upstream_failed" in logs and "Traceback" in logs


def test_cli_output_never_echoes_values_unless_revealed(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    env = _env(sql_target, tmp_path)
    value = "cli-secret-value-" + os.urandom(8).hex()
    outputs = [_cli(env, "migrate")]
    ref = "secret://production/billing/api-token"
    outputs.append(_cli(env, "secrets", "put", ref, stdin=value + "\n"))
    outputs.append(_cli(env, "secrets", "put", "secret://production/crm/api-token", stdin=value))
    for args in (
        ("secrets", "get", ref),
        ("secrets", "get", ref, "--json"),
        ("secrets", "list"),
        ("secrets", "history", ref),
        ("secrets", "dupes"),
        ("secrets", "audit", "list"),
        ("secrets", "rotate", ref),
        ("demo",),
    ):
        outputs.append(_cli(env, *args))
    for result in outputs:
        assert result.returncode == 0, result.stderr
        for form in _forms(value.encode()):
            assert form not in result.stdout + result.stderr
    revealed = _cli(env, "secrets", "get", ref, "--label", "previous", "--reveal")
    assert revealed.stdout == value  # stdin's trailing newline is not part of the value


def test_redactor_covers_encodings_and_ignores_short_values() -> None:
    redactor = Redactor()
    secret = b"\x01\x02" + os.urandom(30)
    redactor.register(secret)
    redactor.register(b"short")
    for form in _forms(secret):
        assert redactor.redact(f"a {form} b") == f"a {REDACTED} b"
    assert redactor.redact("short stays") == "short stays"
    assert redactor.redact_any({"x": [secret]}) == {"x": [REDACTED]}


def test_overlapping_and_adjacent_secrets_are_redacted_whole() -> None:
    redactor = Redactor()
    redactor.register(b"alpha-bravo-charlie")
    redactor.register(b"charlie-delta-echo")  # overlaps the first one's tail
    redactor.register(b"foxtrot-golf")
    line = "x alpha-bravo-charlie-delta-echo y foxtrot-golffoxtrot-golf z"
    assert redactor.redact(line) == f"x {REDACTED} y {REDACTED} z"
    assert "charlie" not in redactor.redact(line)


def test_thousands_of_secrets_are_all_redacted() -> None:
    """A process that has resolved many districts' secrets: every value, in every form, is
    still found, and a value registered last is as covered as the first (the redactor once
    kept one regex of every form, recompiled per new secret: a test process that had
    resolved a few thousand hung on its next log line)."""
    redactor = Redactor()
    values = [os.urandom(24) for _ in range(3000)]
    for value in values:
        redactor.register(value)
    for value in values[:: len(values) // 25] + values[-3:]:
        for form in _forms(value):
            assert redactor.redact(f"k={form};") == f"k={REDACTED};"
    assert redactor.redact_any(b"raw " + values[-1] + b" end") == f"raw {REDACTED} end"
    late = os.urandom(24)
    line = f"late {late.hex()} end"
    assert redactor.redact(line) == line  # not registered yet
    redactor.register(late)
    assert redactor.redact(line) == f"late {REDACTED} end"
    redactor.clear()
    assert redactor.redact(line) == line
