"""The parent of a run: plan it, start the Locust worker processes, merge, report, gate.

``--processes N`` starts N worker processes on this machine. They share one schedule (the
same ``start_at``; arrival k goes to process k mod N) and each writes its results as exact,
mergeable histograms and counters, which this process adds up. (Locust's own master/worker
protocol aggregates its request statistics, not our scheduled-time latencies, so the harness
merges its own.)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from homeroom.errors import InvalidInput, ServiceUnavailable
from homeroom.loadtest.cpu import CpuWindow
from homeroom.loadtest.plan import (
    BACK_TO_SCHOOL_MIX,
    Phase,
    Plan,
    ScenarioMix,
    back_to_school,
    constant,
)
from homeroom.loadtest.report import summarize, write_report
from homeroom.loadtest.results import Results
from homeroom.loadtest.thresholds import Threshold, breaches

__all__ = ["RunOutcome", "build_plan", "execute"]

PROFILES = ("back-to-school", "steady")


@dataclass(frozen=True)
class RunOutcome:
    summary: dict[str, Any]
    breached: list[str]
    json_path: Path
    html_path: Path


def build_plan(
    *,
    url: str,
    scenario: str | None,
    profile: str | None,
    rate: float,
    duration: float,
    model: str = "open",
    processes: int = 1,
    concurrency: int = 64,
    timeout_s: float = 10.0,
    seed_file: dict[str, Any] | None = None,
    down_bucket_s: float | None = None,
    warmup_s: float | None = None,
    seed: int = 1,
    settle_s: float = 0.0,
) -> Plan:
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("--url must be an http(s) URL")
    if rate <= 0 or duration <= 0:
        raise InvalidInput("--rate and --duration must be positive")
    if processes < 1 or concurrency < 1:
        raise InvalidInput("--processes and --concurrency must be at least 1")
    if settle_s < 0 or (settle_s and model != "open"):
        raise InvalidInput("--settle takes a positive duration and an arrival rate (not --closed)")
    if profile is not None and profile not in PROFILES:
        raise InvalidInput(f"--profile must be one of {', '.join(PROFILES)}")
    if profile == "back-to-school":
        mix = dict(ScenarioMix.parse(scenario).weights) if scenario else dict(BACK_TO_SCHOOL_MIX)
        if not scenario and seed_file is not None and not seed_file.get("badges"):
            del mix["badge_login"]  # a provider without badges: the rest of the morning
        phases: tuple[Phase, ...] = back_to_school(rate, duration).phases
    else:
        mix = dict(ScenarioMix.parse(scenario or "health").weights)
        phases = constant(rate, duration).phases
    if "badge_login" in mix and seed_file is not None and not seed_file.get("badges"):
        raise InvalidInput(
            "scenario badge_login needs badges in the seed file "
            "(written by 'homeroom loadtest seed')"
        )
    needs_seed = set(mix) - {"health"}
    if needs_seed and not seed_file:
        raise InvalidInput(
            f"scenario(s) {', '.join(sorted(needs_seed))} need --seed-file "
            "(written by 'homeroom loadtest seed')"
        )
    # Each browser signs in once before the window (worker.py's warm-up).
    per_user_setup = 0.08 if {"instant_login", "refresh"} & set(mix) else 0.0
    warm = warmup_s if warmup_s is not None else 3.0 + per_user_setup * concurrency
    bucket = down_bucket_s if down_bucket_s is not None else (60.0 if duration >= 120 else 10.0)
    return Plan(
        url=url.rstrip("/"),
        mix=mix,
        model=model,
        phases=phases,
        start_at=time.time() + warm + settle_s,
        processes=processes,
        concurrency=concurrency,
        timeout_s=timeout_s,
        seed_file=seed_file or {},
        seed=seed,
        down_bucket_s=bucket,
        profile=profile or ("steady" if model == "open" else "closed"),
        settle_s=settle_s,
    )


def _run_workers(plan: Plan, workdir: Path) -> Results:
    plan_path = workdir / "plan.json"
    plan_path.write_text(plan.to_json(), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: list[tuple[subprocess.Popen[bytes], Path, Path]] = []
    for index in range(plan.processes):
        out = workdir / f"worker-{index}.json"
        log = workdir / f"worker-{index}.log"
        with log.open("wb") as log_fh:
            proc = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
                [
                    sys.executable,
                    "-m",
                    "homeroom.loadtest.worker",
                    str(plan_path),
                    str(index),
                    str(out),
                ],
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                env=env,
            )
        procs.append((proc, out, log))
    limit = plan.start_at - time.time() + plan.duration + plan.timeout_s + 60
    merged = Results(start_at=plan.start_at)
    failures: list[str] = []
    for proc, out, log in procs:
        try:
            code = proc.wait(timeout=max(limit, 1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = -9
        if code != 0 or not out.exists():
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            failures.append(f"worker {out.stem} exited {code}: {tail[0]}")
            continue
        merged.merge(Results.from_dict(json.loads(out.read_text(encoding="utf-8"))))
    if failures:
        raise ServiceUnavailable("load generator failed: " + "; ".join(failures))
    return merged


def execute(
    plan: Plan,
    report_dir: Path,
    thresholds: list[Threshold] | None = None,
    keep_workdir: Path | None = None,
    server_pids: tuple[int, ...] = (),
) -> RunOutcome:
    with tempfile.TemporaryDirectory(prefix="homeroom-loadtest-") as tmp:
        workdir = keep_workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        # Re-anchor the schedule now that we are about to start the processes.
        warm = max(0.0, plan.start_at - time.time())
        plan = replace(plan, start_at=time.time() + max(warm, 2.0))
        cpu = None
        if server_pids:
            cpu = CpuWindow(server_pids, plan.start_at, plan.start_at + plan.duration)
            cpu.begin()
        results = _run_workers(plan, workdir)
    summary = summarize(plan, results)
    if cpu is not None:
        add_server_cpu(summary, results, plan, cpu.finish())
    breached = breaches(thresholds, summary) if thresholds else []
    json_path, html_path = write_report(
        report_dir, summary, breached if thresholds is not None else None
    )
    return RunOutcome(summary, breached, json_path, html_path)


def add_server_cpu(
    summary: dict[str, Any], results: Results, plan: Plan, cpu_s: float | None
) -> None:
    """Flows completed inside the measured window per second of server CPU: the per-core
    rate, robust to neighbours on a shared machine (see :mod:`.cpu`)."""
    window = range(0, math.floor(plan.duration))
    flows = sum(results.flows_done.get(s, 0) for s in window)
    logins = sum(results.logins_done.get(s, 0) for s in window)
    summary["server_cpu_s"] = None if cpu_s is None else round(cpu_s, 3)
    ok = cpu_s is not None and cpu_s > 0
    summary["flows_per_server_cpu_s"] = round(flows / cpu_s, 1) if ok and cpu_s else None
    summary["logins_per_server_cpu_s"] = round(logins / cpu_s, 1) if ok and cpu_s else None


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h``."""
    text = text.strip().lower()
    scale = {"s": 1.0, "m": 60.0, "h": 3600.0}
    try:
        unit = scale.get(text[-1:], 0.0)
        value = float(text[:-1]) * unit if unit else float(text)
    except ValueError:
        raise InvalidInput(f"duration {text!r}: expected e.g. 90s, 5m") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"duration {text!r} must be positive")
    return value
