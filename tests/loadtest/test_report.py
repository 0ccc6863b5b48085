"""The JSON and HTML report of a run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from homeroom.loadtest.plan import Plan, back_to_school
from homeroom.loadtest.report import summarize, write_report
from homeroom.loadtest.results import Results


def sample_run() -> tuple[Plan, Results]:
    plan = Plan(
        url="http://127.0.0.1:8000/<x>",
        mix={"instant_login": 9, "client_credentials": 1},
        model="open",
        phases=back_to_school(100, 30).phases,
        start_at=1_700_000_000.0,
        down_bucket_s=10,
        profile="back-to-school",
    )
    r = Results(start_at=plan.start_at)
    for k, offset in enumerate(plan.curve.arrivals()):
        due = plan.start_at + offset
        failed = 12 <= offset < 14  # an outage in the middle of the peak
        scenario = "instant_login" if k % 10 else "client_credentials"
        r.record_step(f"{scenario}.token", due, due + 0.004)
        stalled = 20 <= offset < 21  # the server paused for 300 ms in this second
        took = 0.300 if stalled else 0.006
        r.record_flow(scenario, due, due + took, "token: http_503" if failed else None)
    return plan, r


def test_summary_counts_logins_and_down_buckets() -> None:
    plan, results = sample_run()
    s = summarize(plan, results)
    assert s["scheduled_flows"] == s["flows_ok"] + s["flows_failed"]
    assert s["errors"] == s["flows_failed"] > 0
    assert s["down_basis"] == "login flows"
    downs = [b["start_s"] for b in s["down_buckets"] if b["down"]]
    assert downs == [10.0] and s["down_minutes"] == 1
    assert s["logins_per_s_window"]["phase"] == "peak"
    # 90 % of 100/s are logins, and 2 of the 12 peak seconds were an outage: 90 x 10/12
    assert 73 <= s["logins_per_s"] <= 77
    assert s["steps"]["instant_login.token"]["p99_ms"] < 4.1
    assert len(s["timeline"]) >= 30
    assert s["timeline"][15]["scheduled_per_s"] == 100.0
    # each second's flow latency shows when the tail happened: only second 20 stalled
    assert s["timeline"][19]["flow_p99_ms"] == pytest.approx(6.0, rel=0.011)
    assert s["timeline"][20]["flow_p50_ms"] == pytest.approx(300.0, rel=0.011)
    assert s["timeline"][20]["flow_max_ms"] == pytest.approx(300.0, abs=0.01)
    assert s["timeline"][13]["flow_p99_ms"] is None  # every flow due then failed


def test_report_files_are_self_contained(tmp_path: Path) -> None:
    plan, results = sample_run()
    s = summarize(plan, results)
    json_path, html_path = write_report(tmp_path / "r", s, ["errors>0 (observed 5)"])
    data = json.loads(json_path.read_text())
    assert data["gate"] == {"breached": ["errors>0 (observed 5)"]}
    assert data["down_minutes"] == 1
    page = html_path.read_text()
    assert page.count("<svg") == 4 and "<polyline" in page
    assert "Flow latency over time" in page
    assert "<script" not in page and not re.search(r"""(src|href)=["']https?:""", page)
    assert "&lt;x&gt;" in page and "<x>" not in page  # the target URL is escaped
    assert "Gate failed" in page and "instant_login: token: http_503" in page
    _, plain = write_report(tmp_path / "p", s)
    assert "Gate" not in plain.read_text()
