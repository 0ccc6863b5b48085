"""A real Homeroom server on loopback for the smoke runs, and a runner for the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

METRICS_TOKEN = "smoke-metrics-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def homeroom(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeroom", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    pid: int


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``homeroom serve`` (uvicorn, embedded SQLite, in-process KV) as a subprocess: the
    quick-start demo server a fresh clone gets."""
    data = tmp_path_factory.mktemp("server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    env.update(
        HOMEROOM_DATA_DIR=str(data),
        HOMEROOM_PORT=str(port),
        HOMEROOM_ISSUER=f"http://127.0.0.1:{port}",
        HOMEROOM_LOG_LEVEL="warning",
        # Every virtual user comes from 127.0.0.1: the per-address limit (300/minute by
        # default) would refuse the run itself. Account lockouts stay at their defaults.
        HOMEROOM_RATE_LIMIT_IP="1000000/minute",
        HOMEROOM_RATE_LIMIT_CLIENT="1000000/minute",
        HOMEROOM_METRICS_TOKEN="secret://development/homeroom-web/metrics-token",
    )
    assert homeroom(env, "migrate").returncode == 0
    stored = subprocess.run(
        [sys.executable, "-m", "homeroom", "secrets", "put", env["HOMEROOM_METRICS_TOKEN"]],
        env=env,
        input=METRICS_TOKEN,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stored.returncode == 0, stored.stderr
    log = (data / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "homeroom", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"server did not start: {(data / 'serve.log').read_text()}")
            time.sleep(0.1)
        yield LiveServer(url, env, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def report_dir(tmp: Path, name: str) -> str:
    return str(tmp / name)
