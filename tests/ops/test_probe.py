"""``homeroom probe``: passes end to end, and fails naming the step that broke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from homeroom.cli.main import main
from homeroom.ops.probe import STEPS, ProbeConfig, ProbeMetrics, run_probe
from homeroom.web.app import create_app
from homeroom.wiring import Container
from tests.ops import scripted_op as op
from tests.services import free_port

CONFIG = ProbeConfig(
    url=op.ISSUER,
    district="maplewood",
    username=op.USERNAME,
    password=op.PASSWORD,
    client_id=op.CLIENT_ID,
    client_secret=op.CLIENT_SECRET,
    redirect_uri=op.REDIRECT_URI,
)


def test_probe_passes_every_step_against_a_working_provider() -> None:
    provider = op.ScriptedOP()
    with TestClient(provider.app) as client:
        report = run_probe(CONFIG, client)
    assert report.ok, report.to_dict()
    assert [s.name for s in report.steps] == list(STEPS)
    assert all(s.seconds >= 0 for s in report.steps)
    assert report.steps[STEPS.index("id_token")].detail == "sub usr_probe"


@pytest.mark.parametrize("step", STEPS)
def test_probe_fails_at_the_broken_step_and_names_it(step: str) -> None:
    provider = op.ScriptedOP()
    provider.broken = step
    with TestClient(provider.app) as client:
        report = run_probe(CONFIG, client)
    assert not report.ok
    assert report.failed is not None and report.failed.name == step
    assert [s.name for s in report.steps][-1] == step  # nothing ran after the failure
    assert report.to_dict()["failed_step"] == step


def test_broken_app_login_fails_although_portal_sign_in_works() -> None:
    provider = op.ScriptedOP()
    provider.broken = "authorize"  # the portal is fine; app logins bounce to the login page
    with TestClient(provider.app) as client:
        report = run_probe(CONFIG, client)
    assert [s.ok for s in report.steps] == [True, True, False]
    assert "instead of redirecting to the app" in report.steps[-1].detail


def test_probe_against_homeroom_fails_at_discovery_until_oidc_is_merged(
    container: Container,
) -> None:
    with TestClient(create_app(container)) as client:
        report = run_probe(
            ProbeConfig(
                url="http://testserver",
                district="maplewood",
                username="student01",
                password="x",
                client_id="app_x",
                redirect_uri="http://testserver/demo-app/callback",
            ),
            client,
        )
    assert report.failed is not None and report.failed.name == "discovery"
    assert "HTTP 404" in report.failed.detail


def test_probe_metrics_record_each_run() -> None:
    provider = op.ScriptedOP()
    metrics = ProbeMetrics()
    with TestClient(provider.app) as client:
        metrics.record(run_probe(CONFIG, client))
        provider.broken = "token"
        metrics.record(run_probe(CONFIG, client))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(
            __import__("prometheus_client").generate_latest(metrics.registry).decode()
        )
        for s in f.samples
    }
    assert samples[("homeroom_probe_runs_total", (("failed_step", "none"), ("outcome", "pass")))]
    assert samples[("homeroom_probe_runs_total", (("failed_step", "token"), ("outcome", "fail")))]
    assert samples[("homeroom_probe_step_success", (("step", "token"),))] == 0
    assert samples[("homeroom_probe_step_success", (("step", "authorize"),))] == 1
    assert samples[("homeroom_probe_last_success_timestamp_seconds", ())] > 0


def test_cli_exits_non_zero_naming_the_step(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROBE_PASSWORD", "x")
    textfile = tmp_path / "probe.prom"
    args = ["probe", "--url", f"http://127.0.0.1:{free_port()}", "--district", "d"]
    args += ["--username", "u", "--client-id", "c", "--redirect-uri", "http://a/cb"]
    args += ["--json", "--timeout", "2", "--textfile", str(textfile)]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "probe failed at step 'discovery'" in captured.err
    report = json.loads(captured.out)
    assert report["ok"] is False and report["failed_step"] == "discovery"
    assert "homeroom_probe_step_success" in textfile.read_text()


def test_cli_continuous_mode_runs_until_max_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_PASSWORD", "x")
    args = ["probe", "--url", f"http://127.0.0.1:{free_port()}", "--district", "d"]
    args += ["--username", "u", "--client-id", "c", "--redirect-uri", "http://a/cb", "--json"]
    args += ["--interval", "0.01", "--max-runs", "3", "--timeout", "2"]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(json.loads(x)["failed_step"] == "discovery" for x in lines)


def test_cli_refuses_missing_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["probe", "--url", "http://127.0.0.1:1"])
    assert exited.value.code == 2
    assert "missing" in capsys.readouterr().err


@pytest.mark.parametrize("sql_backend", ["sqlite"])
def test_demo_option_reads_what_homeroom_demo_writes(container: Container) -> None:
    from homeroom.cli.probe import _demo_config
    from homeroom.demo import seed_demo

    info = seed_demo(container)
    values = _demo_config(container)
    assert values["client_id"] == info.app_client_id
    assert values["redirect_uri"] == info.app_redirect_uri
    assert values["username"] == info.student_username and values["password"]
    assert values["district"] == "maplewood" and values["client_secret"]
