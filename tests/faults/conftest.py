"""Fixtures for fault injection: our own PostgreSQL, Redis and Homeroom servers on loopback.

Never the machine's shared servers: these tests stop and restart them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from homeroom.config import load_settings
from homeroom.demo import demo_app_credentials
from homeroom.storage.sql.migrate import upgrade
from homeroom.wiring import build
from tests.faults.servers import HomeroomServer, PgCluster, RedisServer
from tests.faults.signins import DemoApp
from tests.loadtest.conftest import homeroom as homeroom_cli
from tests.services import required


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} unavailable: {exc}"
    if required():
        pytest.fail(message + " (HOMEROOM_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.slow)


@dataclass
class FaultDatabase:
    cluster: PgCluster
    url: str
    owner_url: str
    app_role: str


@pytest.fixture(scope="session")
def fault_pg() -> Iterator[FaultDatabase]:
    """A private PostgreSQL cluster with a migrated database; tests may restart it."""
    try:
        cluster = PgCluster()
        cluster.start()
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
        raise
    try:
        server = cluster.server
        server.create_roles()
        server.create_database("homeroom_faults")
        owner = server.dsn(server.owner_role, "homeroom_faults")
        upgrade(owner, server.app_role)
        yield FaultDatabase(
            cluster, server.dsn(server.app_role, "homeroom_faults"), owner, server.app_role
        )
    finally:
        cluster.remove()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    try:
        server = RedisServer()
        server.start()
    except Exception as exc:
        _unavailable("Redis", exc)
        raise
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def homeroom(tmp_path: Path) -> Iterator[Callable[..., HomeroomServer]]:
    """``homeroom(database_url=..., max_in_flight=4)`` starts a real server; stopped after."""
    started: list[HomeroomServer] = []

    def start(**settings: object) -> HomeroomServer:
        settings.setdefault("rate_limit_ip", "100000/minute")  # the load comes from one IP
        server = HomeroomServer(tmp_path, **settings)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


# The load comes from one address and one client: the limits are not under test here.
UNLIMITED = {"rate_limit_ip": "1000000/minute", "rate_limit_client": "1000000/minute"}


@pytest.fixture(scope="session")
def pg_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir (secrets key file) for every server on the shared fault database: the
    demo app's secret is encrypted under it."""
    return tmp_path_factory.mktemp("fault-pg-data")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Callable[..., tuple[HomeroomServer, DemoApp]]]:
    """``demo_server(database_url=...)``: ``homeroom demo`` seeded, then served."""
    started: list[HomeroomServer] = []

    def start(**settings: object) -> tuple[HomeroomServer, DemoApp]:
        server = HomeroomServer(tmp_path, **(UNLIMITED | settings))
        # The seeding CLI is not one of the server's workers: keep it out of their metrics.
        cli_env = {k: v for k, v in server.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        done = homeroom_cli(cli_env, "demo")
        assert done.returncode == 0, done.stderr
        container = build(load_settings(env=server.env))
        try:
            values = demo_app_credentials(container)
        finally:
            container.close()
        assert values is not None
        app = DemoApp(
            url=server.url,
            district=values["district_slug"],
            username=values["student_username"],
            password=values["student_password"],
            client_id=values["app_client_id"],
            client_secret=values["app_client_secret"],
            redirect_uri=values["app_redirect_uri"],
        )
        started.append(server)
        server.start()
        return server, app

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'homeroom.db'}"
    upgrade(url)
    return url
