"""Real PostgreSQL and Redis for the test suite.

PostgreSQL: ``HOMEROOM_TEST_DATABASE_URL`` (a superuser DSN) if given, else a throwaway
cluster started from the installed server binaries (initdb + postgres on a private socket
and a free port), removed at the end. Each test session creates its own owner and app roles
and databases, so parallel runs on a shared server do not collide.

Redis: ``HOMEROOM_TEST_REDIS_URL`` if given, else a local server on 6379 if it answers,
else a throwaway ``redis-server`` on a free port.

``HOMEROOM_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns "could not start" into a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

__all__ = [
    "PgServer",
    "free_port",
    "redis_clients",
    "redis_clients_left",
    "required",
    "start_postgres",
    "start_redis",
]


def required() -> bool:
    return os.environ.get("HOMEROOM_REQUIRE_SERVICES", "") not in ("", "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A PostgreSQL server with a superuser DSN, and per-session roles."""

    admin_dsn: str
    host: str
    port: int
    suffix: str = ""

    @property
    def owner_role(self) -> str:
        return f"hr_owner_{self.suffix}"

    @property
    def app_role(self) -> str:
        return f"hr_app_{self.suffix}"

    def dsn(self, role: str, database: str) -> str:
        # No password in the DSN: settings refuse inline passwords (secret:// references only),
        # and the test servers use trust authentication.
        return f"postgresql://{role}@{self.host}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.admin_dsn, autocommit=True)

    def create_roles(self) -> None:
        with self.admin() as conn:
            conn.execute(
                f"CREATE ROLE {self.owner_role} LOGIN PASSWORD 'pw' NOSUPERUSER NOBYPASSRLS"
            )
            conn.execute(
                f"CREATE ROLE {self.app_role} LOGIN PASSWORD 'pw' NOSUPERUSER NOBYPASSRLS "
                "NOCREATEDB NOCREATEROLE"
            )

    def create_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {self.owner_role}')
            conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
            conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO {self.app_role}')
        # PostgreSQL 15 no longer lets PUBLIC create in schema public; make the owner own it.
        with psycopg.connect(self.admin_dsn.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as c:
            c.execute(f"ALTER SCHEMA public OWNER TO {self.owner_role}")

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_roles(self) -> None:
        with self.admin() as conn:
            for role in (self.app_role, self.owner_role):
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f"DROP ROLE IF EXISTS {role}")


def _pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextlib.contextmanager
def start_postgres() -> Iterator[PgServer]:
    suffix = secrets.token_hex(4)
    url = os.environ.get("HOMEROOM_TEST_DATABASE_URL")
    if url:
        info = psycopg.conninfo.conninfo_to_dict(url)
        server = PgServer(
            url, str(info.get("host", "127.0.0.1")), int(info.get("port", 5432)), suffix
        )
        server.create_roles()
        try:
            yield server
        finally:
            server.drop_roles()
        return
    bindir = _pg_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found")
    base = Path(tempfile.mkdtemp(prefix="homeroom-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        pw = pwd.getpwnam("postgres")
        for path in (base, sock):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            *run_as,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sock),
            "-h",
            "127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(admin, connect_timeout=1).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("throwaway PostgreSQL did not start") from None
                time.sleep(0.1)
        server = PgServer(admin, "127.0.0.1", port, suffix)
        server.create_roles()
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def start_redis() -> Iterator[str]:
    url = os.environ.get("HOMEROOM_TEST_REDIS_URL")
    if url:
        redis.Redis.from_url(url, socket_timeout=2).ping()
        yield url
        return
    default = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(default, socket_timeout=1).ping()
        yield default
        return
    except redis.RedisError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("no Redis server reachable and no redis-server binary")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url, socket_timeout=1).ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("throwaway Redis did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def redis_clients(admin: redis.Redis, name: str) -> list[dict[str, str]]:
    """The connections Redis lists under a client name (CLIENT LIST)."""
    return [c for c in admin.client_list() if c.get("name") == name]


def redis_clients_left(admin: redis.Redis, name: str) -> list[dict[str, str]]:
    """The named connections still listed once Redis has had time to notice closed sockets.

    Redis reads a client's EOF on its next event-loop pass, so a CLIENT LIST sent on another
    connection just after a close can still show it. Polls up to 10 s, then returns what is
    left (a connection that was never closed stays listed and fails the caller's check)."""
    deadline = time.monotonic() + 10
    while (left := redis_clients(admin, name)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return left
