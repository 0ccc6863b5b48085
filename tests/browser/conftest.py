"""Browser tests: a real Homeroom server (uvicorn, subprocess) and Debian's Chromium.

The server runs against SQLite and against PostgreSQL (as the app role, under RLS), seeded
with the demo district and a second district ("oakridge") so that every test can check that
nothing of one district works in the other. Chromium is the system browser driven by
Playwright; when it cannot start, the tests skip, and under ``HOMEROOM_REQUIRE_SERVICES=1``
they fail instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from homeroom.config import load_settings
from homeroom.demo import DemoInfo, seed_demo
from homeroom.roster.models import District, Role, School, Section, User
from homeroom.storage.sql.migrate import upgrade
from homeroom.wiring import Container, build
from tests.services import PgServer, free_port, required

CHROMIUM = os.environ.get("HOMEROOM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OTHER_SLUG = "oakridge"
OTHER_PASSWORD = "oak-tree-42"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.parent == here:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            callspec = getattr(item, "callspec", None)
            if callspec is not None and callspec.params.get("portal") == "postgres":
                item.add_marker(pytest.mark.postgres)


@dataclass
class Portal:
    """A running server and what was seeded into it."""

    url: str
    backend: str
    container: Container
    demo: DemoInfo
    other: District
    other_student: User

    def district(self, slug: str) -> District:
        return self.container.roster_admin.district(slug)


def _start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "homeroom.web.app:from_env",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _seed_other(container: Container) -> tuple[District, User]:
    """District B: its own school, a Kindergarten student with a password, badges on."""
    from homeroom.ids import new_id
    from homeroom.storage.sql.types import utcnow
    from homeroom.tenancy import TenantScope

    admin = container.roster_admin
    district = admin.create_district(OTHER_SLUG, "Oakridge School District")
    school = School(district.id, new_id("school"), "Oakridge Primary", synced_at=utcnow())
    section = Section(district.id, new_id("section"), school.id, "Oak KG", grade="KG")
    with TenantScope(district.id), container.db.scoped() as uow:
        uow.schools.add(school)
        uow.sections.add(section)
    student = admin.create_user(
        OTHER_SLUG,
        username="student01",  # the same username as in the demo district, on purpose
        role=Role.STUDENT,
        given_name="Olive",
        family_name="Oak",
        grade="KG",
        password=OTHER_PASSWORD,
        school_ids=(school.id,),
    )
    district = container.badges.set_grades(district, ["KG"], actor="test")
    return district, student


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    backend = str(request.param)
    base = tmp_path_factory.mktemp(f"portal-{backend}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pg: PgServer | None = None
    database = ""
    if backend == "sqlite":
        app_url = owner_url = f"sqlite:///{base / 'homeroom.db'}"
        role = "homeroom_app"
        upgrade(owner_url)
    else:
        pg = request.getfixturevalue("pg_server")
        database = f"homeroom_e2e_{pg.suffix}_{port}"
        pg.create_database(database)
        owner_url = pg.dsn(pg.owner_role, database)
        app_url = pg.dsn(pg.app_role, database)
        role = pg.app_role
        upgrade(owner_url, role)
    env_settings = {
        "HOMEROOM_DATA_DIR": str(base / "data"),
        "HOMEROOM_DATABASE_URL": app_url,
        "HOMEROOM_MIGRATE_DATABASE_URL": owner_url,
        "HOMEROOM_APP_DB_ROLE": role,
        "HOMEROOM_ISSUER": url,
        "HOMEROOM_LOG_JSON": "true",
        "HOMEROOM_LOG_LEVEL": "warning",
    }
    container = build(load_settings(env=env_settings))
    demo = seed_demo(container)
    other, other_student = _seed_other(container)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    env.update(env_settings)
    proc = _start_server(env, port, base / "server.log")
    try:
        yield Portal(url, backend, container, demo, other, other_student)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        container.close()
        if pg is not None:
            pg.drop_database(database)


@dataclass
class Chromium:
    """Launches Chromium with the standard flags plus any extra ones a test needs."""

    playwright: Any

    def launch(self, *extra: str) -> Any:
        try:
            return self.playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra], timeout=30_000
            )
        except Exception as exc:
            message = f"Chromium could not start ({CHROMIUM}): {exc}"
            if required():
                pytest.fail(message + " (HOMEROOM_REQUIRE_SERVICES=1)")
            pytest.skip(message)


# Package scope, not session: Playwright's sync API runs an event loop on the main thread
# for as long as it lives, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="package")
def chromium() -> Iterator[Chromium]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        if required():
            pytest.fail(f"playwright missing: {exc}")
        pytest.skip(f"playwright missing: {exc}")
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if required():
            pytest.fail(message + " (HOMEROOM_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    with sync_playwright() as playwright:
        yield Chromium(playwright)


@pytest.fixture(scope="package")
def browser(chromium: Chromium) -> Iterator[Any]:
    instance = chromium.launch()
    yield instance
    instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-US")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
