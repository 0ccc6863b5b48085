"""Shared fixtures: real databases and KV stores, a container per backend.

Backends are pytest parameters: ``sql_backend`` is ``sqlite`` or ``postgres``; ``kv_backend``
is ``memory`` or ``redis``. Tests that use PostgreSQL or Redis get the matching marker
automatically, and under ``HOMEROOM_REQUIRE_SERVICES=1`` a skip of such a test is a failure.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from homeroom.config import Settings, load_settings
from homeroom.storage.kv import KV, MemoryKV
from homeroom.storage.kv.redis import RedisKV
from homeroom.storage.sql import Database
from homeroom.storage.sql.all_tables import metadata
from homeroom.storage.sql.migrate import upgrade
from homeroom.wiring import Container, build
from tests.services import PgServer, required, start_postgres, start_redis


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} unavailable: {exc}"
    if required():
        pytest.fail(message + " (HOMEROOM_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec else {}
        if params.get("sql_backend") == "postgres":
            item.add_marker(pytest.mark.postgres)
        if params.get("kv_backend") == "redis":
            item.add_marker(pytest.mark.redis)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    needs_service = (
        item.get_closest_marker("postgres")
        or item.get_closest_marker("redis")
        or item.get_closest_marker("oidc")  # load-test smoke runs against the real provider
    )
    expected_failure = hasattr(report, "wasxfail")  # an xfail is not a skipped service
    if report.skipped and needs_service and required() and not expected_failure:
        report.outcome = "failed"
        report.longrepr = (
            f"skipped a service test under HOMEROOM_REQUIRE_SERVICES: {report.longrepr}"
        )


# ------------------------------------------------------------------ servers


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        cm = start_postgres()
        server = cm.__enter__()
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
        raise
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    try:
        cm = start_redis()
        url = cm.__enter__()
    except Exception as exc:
        _unavailable("Redis", exc)
        raise
    try:
        yield url
    finally:
        cm.__exit__(None, None, None)


@dataclass
class SqlTarget:
    """Where a test's database lives: the app DSN, the owner DSN and the app role."""

    backend: str
    url: str
    owner_url: str
    app_role: str
    pg: PgServer | None = None
    database: str | None = None


@pytest.fixture(scope="session")
def pg_database(pg_server: PgServer) -> Iterator[SqlTarget]:
    """One migrated database per session; tests truncate instead of re-migrating."""
    name = f"homeroom_test_{pg_server.suffix}"
    pg_server.create_database(name)
    owner = pg_server.dsn(pg_server.owner_role, name)
    upgrade(owner, pg_server.app_role)
    yield SqlTarget(
        "postgres",
        pg_server.dsn(pg_server.app_role, name),
        owner,
        pg_server.app_role,
        pg_server,
        name,
    )
    pg_server.drop_database(name)


def _truncate_all(owner_url: str) -> None:
    db = Database(owner_url, pool_size=1)
    try:
        names = ", ".join(f'"{t.name}"' for t in reversed(metadata.sorted_tables))
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def sql_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sql_target(sql_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    if sql_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'homeroom.db'}"
        upgrade(url)
        return SqlTarget("sqlite", url, url, "")
    target: SqlTarget = request.getfixturevalue("pg_database")
    _truncate_all(target.owner_url)
    return target


@pytest.fixture
def db(sql_target: SqlTarget) -> Iterator[Database]:
    database = Database(sql_target.url, pool_size=4)
    yield database
    database.dispose()


@pytest.fixture(params=["memory", "redis"])
def kv_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def kv(kv_backend: str, request: pytest.FixtureRequest) -> Iterator[KV]:
    if kv_backend == "memory":
        yield MemoryKV()
        return
    url: str = request.getfixturevalue("redis_url")
    store = RedisKV(url, timeout_s=2)
    yield store
    store.close()


def make_settings(sql_target: SqlTarget, tmp_path: Path, **extra: object) -> Settings:
    return load_settings(
        env={},
        data_dir=str(tmp_path / "data"),
        database_url=sql_target.url,
        migrate_database_url=sql_target.owner_url,
        app_db_role=sql_target.app_role or "homeroom_app",
        log_json=True,
        **extra,
    )


@pytest.fixture
def container(sql_target: SqlTarget, tmp_path: Path) -> Iterator[Container]:
    """A full container on the test's SQL backend with the in-process KV store."""
    c = build(make_settings(sql_target, tmp_path))
    yield c
    c.close()


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"
