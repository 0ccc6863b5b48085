"""Homeroom's load-test scenarios for Locust's own command line and web UI.

    LOADTEST_SEED_FILE=loadtest-seed.json LOADTEST_MIX="instant_login=70,refresh=30" \\
        .venv/bin/locust -f loadtest/locustfile.py --host http://127.0.0.1:8000

This is the closed model with Locust's statistics (per request and per flow, timed from the
actual send), for exploring interactively. For the open model (fixed arrival rate, latency
from the scheduled time), the back-to-school profile, down minutes, the HTML report and
``--fail-on`` gates, use ``homeroom loadtest run``, which runs the same scenarios.

Each flow is also reported to Locust as a ``FLOW`` request named after its scenario; a failed
check fails it with its kind (for example ``token: id_token_nonce``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, task

from homeroom.loadtest.checks import CheckFailed
from homeroom.loadtest.plan import ScenarioMix
from homeroom.loadtest.results import Results
from homeroom.loadtest.scenarios import SCENARIO_FLOWS, Browser, Flow, Target, discover
from homeroom.loadtest.worker import LocustHttp

_SEED: dict[str, Any] = (
    json.loads(Path(os.environ["LOADTEST_SEED_FILE"]).read_text())
    if os.environ.get("LOADTEST_SEED_FILE")
    else {}
)
_MIX = ScenarioMix.parse(os.environ.get("LOADTEST_MIX", "instant_login"))
_TARGET: Target | None = None
_USERS = 0


class HomeroomUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        global _TARGET, _USERS
        _USERS += 1
        http = LocustHttp(self)
        if _TARGET is None:
            host = str(self.host).rstrip("/")
            _TARGET = (
                Target(url=host) if set(_MIX.weights) == {"health"} else discover(http, host, _SEED)
            )
        self.browser = Browser(http, _TARGET, _USERS)
        self.results = Results(start_at=time.time())  # per-step timings stay in Locust stats
        self.choose = _MIX.chooser(_USERS)

    @task
    def flow(self) -> None:
        scenario = next(self.choose)
        started = time.time()
        flow = Flow(self.results, scenario, started)
        exception: Exception | None = None
        try:
            SCENARIO_FLOWS[scenario](self.browser, flow)
        except CheckFailed as exc:
            exception = CheckFailed(f"{flow.current}: {exc.kind}")
        self.environment.events.request.fire(
            request_type="FLOW",
            name=scenario,
            response_time=(time.time() - started) * 1000,
            response_length=0,
            exception=exception,
            context={},
        )
