"""``homeroom probe --demo`` against a real demo server: passes, and catches a deploy that
breaks app logins while portal sign-in still works (issue 8, "done when")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from homeroom.config import load_settings
from homeroom.demo import DEMO_SLUG
from homeroom.ops.probe import STEPS
from homeroom.storage.sql import tables as t
from homeroom.wiring import build
from tests.loadtest.conftest import free_port, homeroom


@dataclass
class DemoServer:
    url: str
    env: dict[str, str]
    data: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.data / "serve.log").open("ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "homeroom", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError((self.data / "serve.log").read_text())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def probe(self) -> tuple[int, dict[str, object]]:
        result = homeroom(
            self.env, "probe", "--url", self.url, "--demo", "--json", "--max-runs", "1"
        )
        lines = result.stdout.strip().splitlines()
        return result.returncode, (json.loads(lines[-1]) if lines else {})


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    """``homeroom migrate && homeroom demo && homeroom serve`` on a free loopback port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    env.update(
        HOMEROOM_DATA_DIR=str(tmp_path),
        HOMEROOM_PORT=str(port),
        HOMEROOM_ISSUER=f"http://127.0.0.1:{port}",
        HOMEROOM_LOG_LEVEL="warning",
    )
    for step in ("migrate", "demo"):
        done = homeroom(env, step)
        assert done.returncode == 0, done.stderr
    server = DemoServer(f"http://127.0.0.1:{port}", env, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_probe_passes_every_step_against_the_demo(demo_server: DemoServer) -> None:
    code, report = demo_server.probe()
    assert code == 0, report
    assert report["ok"] is True and report["failed_step"] is None
    steps = report["steps"]
    assert isinstance(steps, list) and [s["name"] for s in steps] == list(STEPS)
    # The default portal step is the students' path, the district portal (not /login).
    assert steps[1]["detail"] == f"signed in at /d/{DEMO_SLUG}", steps[1]


def test_a_deploy_that_breaks_app_logins_fails_the_probe_at_authorize(
    demo_server: DemoServer,
) -> None:
    """The demo app's registered redirect URI changes (a bad config push) and the server
    restarts: portal sign-in still works, app logins do not, and the probe says where."""
    demo = json.loads((demo_server.data / "demo-app.json").read_text())
    demo_server.stop()
    container = build(load_settings(env=demo_server.env))
    try:
        with container.db.platform() as uow:
            uow.conn.execute(
                update(t.apps)
                .where(t.apps.c.id == demo["app_client_id"])
                .values(redirect_uris=["https://elsewhere.example/callback"])
            )
    finally:
        container.close()
    demo_server.start()
    code, report = demo_server.probe()
    assert code != 0
    assert report["failed_step"] == "authorize", report
    steps = report["steps"]
    assert isinstance(steps, list)
    assert [s["ok"] for s in steps] == [True, True, False]  # discovery, portal sign-in
    assert steps[1]["detail"] == f"signed in at /d/{DEMO_SLUG}"  # the portal still works
    assert "instead of redirecting to the app" in str(steps[2]["detail"])
