"""Benchmark: full OneRoster import of a generated district, then a 1 % re-import.

    python bench/bench_roster_import.py --backend sqlite
    python bench/bench_roster_import.py --backend postgres \
        --admin-dsn postgresql://postgres@127.0.0.1:5432/postgres

Generates (once, cached under --work) the full package and the 1 %-changed package with
``bench/generate_roster.py``, migrates a fresh database (on PostgreSQL with an owner role
and a separate application role under row-level security, as in production), and times
both imports. Peak memory is the process's maximum resident set size
(``resource.getrusage``), so it includes the interpreter and everything imported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from homeroom.identity.passwords import PasswordHasher
from homeroom.roster.admin import RosterAdmin
from homeroom.roster.importer import RosterImporter
from homeroom.storage.sql import Database
from homeroom.storage.sql.migrate import upgrade

HERE = Path(__file__).resolve().parent


def backend_cpu(admin_dsn: str, database: str) -> float:
    """CPU seconds (user + system) used so far by the server processes serving the
    benchmark's database, read from /proc (the server runs on this machine)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
            )
        ]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_package(work: Path, name: str, extra: list[str]) -> Path:
    target = work / name
    if not (target / "manifest.csv").exists():
        subprocess.run(
            [sys.executable, str(HERE / "generate_roster.py"), str(target), *extra], check=True
        )
    return target


def drop_postgres(admin_dsn: str, owner_url: str) -> None:
    """Remove the benchmark's database and roles from the (shared) server."""
    info = psycopg.conninfo.conninfo_to_dict(owner_url)
    name, owner = str(info["dbname"]), str(info["user"])
    app = owner.replace("bench_owner_", "bench_app_", 1)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f"DROP ROLE IF EXISTS {app}")
        conn.execute(f"DROP ROLE IF EXISTS {owner}")


def postgres_urls(admin_dsn: str) -> tuple[str, str, str]:
    """A fresh database owned by a new owner role, used by a new app role (no BYPASSRLS)."""
    suffix = secrets.token_hex(4)
    owner, app, name = f"bench_owner_{suffix}", f"bench_app_{suffix}", f"bench_{suffix}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN PASSWORD 'pw' NOSUPERUSER NOBYPASSRLS")
        conn.execute(f"CREATE ROLE {app} LOGIN PASSWORD 'pw' NOSUPERUSER NOBYPASSRLS")
        conn.execute(f'CREATE DATABASE "{name}" OWNER {owner}')
    base = admin_dsn.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
        conn.execute(f"ALTER SCHEMA public OWNER TO {owner}")
    info = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    host, port = info.get("host", "127.0.0.1"), info.get("port", 5432)
    return (
        f"postgresql://{owner}:pw@{host}:{port}/{name}",
        f"postgresql://{app}:pw@{host}:{port}/{name}",
        app,
    )


@contextmanager
def app_database(admin_dsn: str) -> Iterator[tuple[Database, str]]:
    """A fresh migrated database opened as its application role (under row-level security,
    one pooled connection), and its owner's URL; dropped afterwards with its roles."""
    owner_url, app_url, app_role = postgres_urls(admin_dsn)
    try:
        upgrade(owner_url, app_role)
        db = Database(app_url, pool_size=1)
        try:
            yield db, owner_url
        finally:
            db.dispose()
    finally:
        drop_postgres(admin_dsn, owner_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "homeroom-bench")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="Scale the whole district (students, staff, sections, enrollments), e.g. 0.2.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the PostgreSQL database.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    scale = ["--students", str(args.students)]
    tag = str(args.students)
    if args.scale is not None:
        sizes = {"students": 100_000, "staff": 8_000, "sections": 20_000, "enrollments": 500_000}
        scale = [a for k, n in sizes.items() for a in (f"--{k}", str(int(n * args.scale)))]
        tag = f"x{args.scale:g}"
    full = ensure_package(args.work, f"full-{tag}", scale)
    changed = ensure_package(args.work, f"changed-{tag}", [*scale, "--changes", "0.01"])
    if args.backend == "sqlite":
        path = args.work / f"bench-{secrets.token_hex(4)}.db"
        owner_url = url = f"sqlite:///{path}"
        role = "homeroom_app"
    else:
        owner_url, url, role = postgres_urls(args.admin_dsn)
    upgrade(owner_url, role)
    db = Database(url, pool_size=2)
    district = RosterAdmin(db, PasswordHasher()).create_district("bench", "Bench")
    importer = RosterImporter(db)
    report: dict[str, object] = {"backend": args.backend, "students": args.students}
    base_mib = peak_mib()
    for label, package in (("full", full), ("reimport_1pct", changed)):
        pg = args.backend == "postgres"
        database = str(psycopg.conninfo.conninfo_to_dict(url).get("dbname", "")) if pg else ""
        server_before = backend_cpu(args.admin_dsn, database) if pg else 0.0
        started, cpu_started = time.perf_counter(), time.process_time()
        result = importer.import_package(district.id, package)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        # A connection the pool opens during the import counts from zero (all its CPU).
        server = backend_cpu(args.admin_dsn, database) - server_before if pg else None
        report[label] = {
            "seconds": round(seconds, 1),
            "client_cpu_seconds": round(cpu, 1),
            "server_cpu_seconds": None if server is None else round(server, 1),
            "peak_rss_mib": round(peak_mib(), 0),
            "events": result.events,
            "counts": {k: v.as_dict() for k, v in result.counts.items()},
        }
        print(
            f"{label}: {seconds:.1f}s wall, {cpu:.1f}s client CPU, server CPU {server}, "
            f"peak RSS {peak_mib():.0f} MiB, {result.events} events",
            file=sys.stderr,
        )
    report["rss_before_imports_mib"] = round(base_mib, 0)
    db.dispose()
    if args.backend == "postgres" and not args.keep:
        drop_postgres(args.admin_dsn, owner_url)
    elif not args.keep:
        path.unlink(missing_ok=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
