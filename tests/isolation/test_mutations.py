"""The suite catches what it claims to: switch a check off, and the probes must fail.

- Repository predicate removed (``_Tenant._mine`` becomes ``TRUE``): on SQLite the
  repository probes see B's rows and fail; on PostgreSQL the same broken code still sees
  nothing of B, because row-level security refuses it (the database backs the code up).
- Edge narrowing broken (the request's district taken from a caller-supplied parameter
  instead of the signed-in session): the audit route probe sees B's events and fails.
- Both walls down (predicate removed and RLS disabled on a scratch PostgreSQL database): the
  probe sees B's users. RLS alone: ``test_rls.py::test_check_detects_missing_rls``/``_force``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import Request
from sqlalchemy import true

from homeroom.ids import new_id
from homeroom.storage.sql import repos
from homeroom.storage.sql.migrate import upgrade
from homeroom.tenancy import RequestScope
from homeroom.web import tenant
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings
from tests.isolation.probes import probe_audit
from tests.isolation.test_repositories import run_repo_probe
from tests.isolation.world import ISSUER, World, build_world
from tests.services import PgServer

CAUGHT = (AssertionError, pytest.fail.Exception)
READ_PROBES = [
    ("users", "get"),
    ("users", "list"),
    ("schools", "get"),
    ("sections", "list"),
    ("enrollments", "for_section"),
    ("connections", "find"),
    ("audit", "list"),
]


@pytest.fixture
def predicate_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repos._Tenant, "_mine", property(lambda self: true()))


@pytest.mark.usefixtures("predicate_removed")
@pytest.mark.parametrize("key", READ_PROBES, ids=[".".join(k) for k in READ_PROBES])
def test_removed_repository_predicate(world: World, sql_backend: str, key: tuple[str, str]) -> None:
    if sql_backend == "sqlite":
        with pytest.raises(CAUGHT):
            run_repo_probe(world, key)
    else:
        run_repo_probe(world, key)  # PostgreSQL: RLS refuses what the code got wrong


def _trusting_resolver(container: Container, request: Request) -> RequestScope:
    """The classic bug: believe the district the caller names."""
    scope = tenant._from_session(container, request, "session")
    named = request.query_params.get("district")
    district = container.oidc.clients.district_by_slug(named) if named else None
    if district is None:
        return scope
    return RequestScope(district.id, scope.actor, scope.role, scope.capabilities, scope.via)


def test_broken_edge_narrowing_is_caught(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    probe_audit(world)  # passes as built
    monkeypatch.setattr(tenant, "resolve_request_scope", _trusting_resolver)
    with pytest.raises(CAUGHT):
        probe_audit(world)


@pytest.fixture
def scratch_world(pg_server: PgServer, tmp_path: Path) -> Iterator[World]:
    """A world on its own PostgreSQL database, which the test may damage."""
    name = f"homeroom_iso_{new_id('key')[4:]}"
    pg_server.create_database(name)
    owner = pg_server.dsn(pg_server.owner_role, name)
    upgrade(owner, pg_server.app_role)
    target = SqlTarget(
        "postgres", pg_server.dsn(pg_server.app_role, name), owner, pg_server.app_role
    )
    container = build(make_settings(target, tmp_path, issuer=ISSUER))
    try:
        yield from build_world(container)
    finally:
        container.close()
        pg_server.drop_database(name)


@pytest.mark.postgres
@pytest.mark.usefixtures("predicate_removed")
def test_both_walls_down_is_caught_on_postgres(scratch_world: World) -> None:
    """Predicate removed *and* RLS disabled on ``users``: the probe must see B's users."""
    run_repo_probe(scratch_world, ("users", "list"))  # RLS alone still holds
    with psycopg.connect(scratch_world.container.settings.migrate_database_url) as conn:
        conn.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
        conn.commit()
    with pytest.raises(CAUGHT):
        run_repo_probe(scratch_world, ("users", "list"))
