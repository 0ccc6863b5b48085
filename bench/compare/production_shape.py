"""Homeroom in its production shape: ``homeroom serve --workers N`` on PostgreSQL and Redis.

    .venv/bin/python bench/compare/production_shape.py --scenario instant_login \
        --duration 20s --concurrency 32 --workers 2

Issue 9 asks for 1,000 instant logins/s on two server cores with PostgreSQL and Redis as the
stores, the load generator on cores of its own. This machine has two cores in all, so the
script measures the per-core figure: the Homeroom workers pinned to ``--server-cores``
(default core 0), the harness to ``--load-cores`` (default core 1), PostgreSQL and Redis
unpinned (they are the machine's shared servers) unless ``--store-cores`` pins them for the
run (the postmaster and every backend, and redis-server, restored afterwards). It reports

- flows per Homeroom CPU-second (the workers' own user + system time in the window, from
  the harness's ``--server-pid`` accounting), and
- the seconds of the run whose slowest flow took over 50 ms (when in the run the tail was),
- the server's own latency per route in the measured window, from the
  ``homeroom_http_request_seconds`` histogram (scraped from ``/metrics`` before and after):
  requests, how many took over 50 ms inside the server, and the bucket holding its p99. It
  tells a tail spent inside Homeroom's handlers from one spent before a request reached
  them (the listen queue, uvicorn, a core taken by PostgreSQL, Redis or the generator),
- flows per CPU-second of Homeroom + PostgreSQL + Redis together (PostgreSQL backends of
  the run's database read from ``/proc``, Redis from ``INFO cpu``; these two are sampled
  around the whole harness run, warm-up sign-ins included, so that figure is a lower bound).

It creates a fresh database with an owner role and an application role without BYPASSRLS
(row-level security applies, as in production), migrates it, seeds the load-test district,
runs the scenario for ``--warmup`` and then ``ANALYZE`` (see ``_analyze``), measures, and drops
the database at the end. An open-model run (``--rate``) settles for ``--settle`` at its rate
before the measured window (``homeroom loadtest run --settle``): the measured run's browsers
sign in first, and the caches its window relies on (the sign-in check's answers live 2.5-5 s)
would otherwise open the window cold after those sign-ins, every browser's first flow paying
a database read in the same half second. Redis uses a database number of its own (``/9``), which
is flushed first. Local PostgreSQL must accept trust authentication on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench_roster_import import backend_cpu, drop_postgres, postgres_urls  # noqa: E402

HOMEROOM = str(ROOT / ".venv" / "bin" / "homeroom")


def _no_password(url: str) -> str:
    """Trust authentication: Homeroom refuses passwords inline in a URL (they are secrets)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"postgresql://{info['user']}@{info['host']}:{info['port']}/{info['dbname']}"


def _redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _wait_ready(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server at {url} did not become ready in {timeout_s:.0f} s")


def _store_pids(admin_dsn: str, kv: redis.Redis) -> list[int]:
    """The PostgreSQL postmaster and its processes, and redis-server: what serves the run."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    postmaster = int((Path(row[0]) / "postmaster.pid").read_text().split()[0])
    return [postmaster, *_children(postmaster), int(kv.info("server")["process_id"])]


def _pin(pids: list[int], cores: set[int]) -> dict[int, set[int]]:
    """Pin each process (all its threads) to ``cores``; returns what to restore. Backends
    forked later inherit the postmaster's affinity."""
    before: dict[int, set[int]] = {}
    for pid in pids:
        try:
            before[pid] = os.sched_getaffinity(pid)
            for task in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(task), cores)
        except (ProcessLookupError, FileNotFoundError):
            continue
    return before


def _unpin(before: dict[int, set[int]]) -> None:
    for pid, cores in before.items():
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(task), cores)
        except (ProcessLookupError, FileNotFoundError):
            continue


def _analyze(owner_url: str) -> None:
    """Statistics, as a database that has been running has them (autovacuum's ANALYZE).

    A fresh database has none: psycopg prepares a statement on its fifth use, and the
    generic plan PostgreSQL then caches for the connection is chosen for tables it takes to
    be nearly empty. The rotation's UPDATE came out as an index scan on ``(district_id,
    user_id)`` filtering on the token hash: every refresh read every token of the district
    (20.8 million tuples fetched for 6,431 updates in one run), and nothing re-plans it until
    autovacuum's ANALYZE, whose first pass comes after the run. ANALYZE after the warm-up
    invalidates those plans; the next ones use the primary key.
    """
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


METRICS_TOKEN = "production-shape-metrics-token"  # a throwaway bench server's
_HTTP_BUCKETS = "homeroom_http_request_seconds_bucket"


def _http_buckets(url: str) -> dict[tuple[str, float], float]:
    """(route, le) -> cumulative count of the server's request-latency histogram."""
    response = httpx.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    response.raise_for_status()
    counts: dict[tuple[str, float], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == _HTTP_BUCKETS:
                key = (sample.labels["route"], float(sample.labels["le"]))
                counts[key] = counts.get(key, 0.0) + sample.value  # summed over statuses
    return counts


def _server_latency(
    before: dict[tuple[str, float], float], after: dict[tuple[str, float], float]
) -> dict[str, dict[str, float | int | None]]:
    """Per route, in the window between two scrapes: requests, those over 50 ms inside the
    server, and the upper bound (s) of the bucket that holds the p99."""
    routes: dict[str, dict[str, float | int | None]] = {}
    for route in sorted({r for r, _ in after}):
        window = sorted(
            (le, after[(route, le)] - before.get((route, le), 0.0)) for r, le in after if r == route
        )
        total = window[-1][1]  # le = +Inf
        if total <= 0:
            continue
        at_50ms = next((count for le, count in window if le >= 0.05), total)
        p99 = next((le for le, count in window if count >= 0.99 * total), None)
        routes[route] = {
            "requests": int(total),
            "over_50ms": int(total - at_50ms),
            "p99_le_s": None if p99 is None or p99 == float("inf") else p99,
        }
    return routes


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="instant_login")
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=None, help="open model at this rate")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-cores", default="0")
    parser.add_argument("--load-cores", default="1")
    parser.add_argument(
        "--store-cores",
        default=None,
        help="pin PostgreSQL and Redis to these cores for the run (e.g. 1); default unpinned",
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--warmup",
        default="5s",
        help="a run of the scenario before the measured one, then ANALYZE ('' for none)",
    )
    parser.add_argument(
        "--settle",
        default="5s",
        help="open model: this long at the rate before the measured window ('' for none)",
    )
    parser.add_argument("--port", type=int, default=3010)
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/9",
        help="empty: the in-process KV store and rate limiter, to tell Redis's share",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/compare/out/production-shape")
    args = parser.parse_args()

    owner_url, app_url, app_role = postgres_urls(args.admin_dsn)
    database = str(psycopg.conninfo.conninfo_to_dict(app_url)["dbname"])
    kv = redis.Redis.from_url(args.redis_url or "redis://127.0.0.1:6379/9")
    if args.redis_url:
        kv.flushdb()
    url = f"http://127.0.0.1:{args.port}"
    server: subprocess.Popen[bytes] | None = None
    pinned: dict[int, set[int]] = {}
    if args.store_cores is not None:
        cores = {int(c) for c in args.store_cores.split(",")}
        pinned = _pin(_store_pids(args.admin_dsn, kv), cores)
    with tempfile.TemporaryDirectory(prefix="homeroom-prodshape-") as data:
        env = {
            **os.environ,
            "HOMEROOM_DATA_DIR": data,
            "HOMEROOM_DATABASE_URL": _no_password(app_url),
            "HOMEROOM_MIGRATE_DATABASE_URL": _no_password(owner_url),
            "HOMEROOM_APP_DB_ROLE": app_role,
            "HOMEROOM_REDIS_URL": args.redis_url,  # empty: in-process
            "HOMEROOM_PORT": str(args.port),
            "HOMEROOM_ISSUER": url,
            "HOMEROOM_WORKERS": str(args.workers),
            "HOMEROOM_LOG_LEVEL": "warning",
            # every virtual user comes from 127.0.0.1; the limiter still runs on each request
            "HOMEROOM_RATE_LIMIT_IP": "1000000/minute",
            "HOMEROOM_RATE_LIMIT_CLIENT": "1000000/minute",
            "HOMEROOM_METRICS_TOKEN": "secret://development/homeroom-web/metrics-token",
        }
        try:
            subprocess.run([HOMEROOM, "migrate"], env=env, check=True, capture_output=True)
            subprocess.run(
                [HOMEROOM, "secrets", "put", env["HOMEROOM_METRICS_TOKEN"]],
                env=env, check=True, capture_output=True, input=METRICS_TOKEN.encode(),
            )  # fmt: skip
            seed = Path(data) / "seed.json"
            subprocess.run(
                [HOMEROOM, "loadtest", "seed", "--district", "loadtest", "--users",
                 str(args.users), "--out", str(seed), "--password-stdin"],
                env=env, check=True, capture_output=True, input=b"homeroom-compare-password\n",
            )  # fmt: skip
            server = subprocess.Popen(
                ["taskset", "-c", args.server_cores, HOMEROOM, "serve"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(Path(data) / "server.log", "wb"),  # noqa: SIM115
            )
            _wait_ready(url)
            pids = [server.pid, *_children(server.pid)]
            pids += [c for p in pids[1:] for c in _children(p)]
            model = ["--rate", str(args.rate)] if args.rate else ["--closed"]
            if args.rate and args.settle:
                model += ["--settle", args.settle]
            args.out.mkdir(parents=True, exist_ok=True)

            def harness(duration: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    ["taskset", "-c", args.load_cores, HOMEROOM, "loadtest", "run", "--url",
                     url, "--scenario", args.scenario, *model, "--concurrency",
                     str(args.concurrency), "--duration", duration, "--seed-file", str(seed),
                     "--report", str(args.out), "--json",
                     *[a for p in pids for a in ("--server-pid", str(p))]],
                    env=env, capture_output=True, text=True,
                )  # fmt: skip

            def checked(run: subprocess.CompletedProcess[str]) -> str:
                if run.returncode not in (0, 1) or not run.stdout.strip():
                    raise SystemExit(f"the load run failed: {run.stderr.strip()[-2000:]}")
                return run.stdout

            if args.warmup:
                checked(harness(args.warmup))
                _analyze(owner_url)
            pg0, kv0 = backend_cpu(args.admin_dsn, database), _redis_cpu(kv)
            buckets0 = _http_buckets(url)
            run = harness(args.duration)
            server_latency = _server_latency(buckets0, _http_buckets(url))
            pg_cpu = backend_cpu(args.admin_dsn, database) - pg0
            kv_cpu = _redis_cpu(kv) - kv0 if args.redis_url else 0.0
            report = checked(run)
            summary = json.loads(report)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            drop_postgres(args.admin_dsn, owner_url)
            if args.redis_url:
                kv.flushdb()
            _unpin(pinned)

    flows = summary["flows_ok"]
    per_cpu = summary.get("flows_per_server_cpu_s")
    server_cpu = summary.get("server_cpu_s")
    total = None
    if flows and server_cpu is not None:
        total = round(flows / (server_cpu + pg_cpu + kv_cpu), 1)
    flow = summary["steps"].get(f"{args.scenario}.flow", {})
    result = {
        "scenario": args.scenario,
        "workers": args.workers,
        "flows_per_s": summary["flows_per_s"],
        "flows_failed": summary["flows_failed"],
        "p50_ms": flow.get("p50_ms"),
        "p99_ms": flow.get("p99_ms"),
        "flows_per_homeroom_cpu_s": per_cpu,
        "postgres_cpu_s": round(pg_cpu, 2),
        "redis_cpu_s": round(kv_cpu, 2),
        "flows_per_total_cpu_s": total,
        "down_minutes": summary.get("down_minutes"),
        "store_cores": args.store_cores,
        # (second, p99 ms, max ms, the dispatcher's worst lateness ms) of each second whose
        # slowest flow took over 50 ms: a late dispatcher is the generator's own stall
        "slow_seconds": [
            (p["t"], p["flow_p99_ms"], p["flow_max_ms"], p["dispatch_late_ms"])
            for p in summary["timeline"]
            if (p["flow_max_ms"] or 0) > 50
        ],
        "server_latency": server_latency,
        # the stretch before the window at the same rate (--settle), reported apart
        "settling": {
            "seconds": summary["settling"]["seconds"],
            "flows_ok": summary["settling"]["flows_ok"],
            "flows_failed": summary["settling"]["flows_failed"],
            "p99_ms": summary["settling"]["flow"]["p99_ms"],
        },
        "generator_heap_settling_ms": summary["generator"]["heap_settling_ms"],
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
