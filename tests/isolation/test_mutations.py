"""The suite catches what it claims to: switch a check off, and the probes must fail.

- Repository predicate removed (``_Tenant._mine`` becomes ``TRUE``): on SQLite the
  repository probes see B's rows and fail; on PostgreSQL the same broken code still sees
  nothing of B, because row-level security refuses it (the database backs the code up).
- Edge narrowing broken (the request's district taken from a caller-supplied parameter
  instead of the signed-in session): the audit route probe sees B's events and fails.
- Roster APIs: the OneRoster reader's district term removed (SQLite: the route probes see
  B's users, classes and enrollments; PostgreSQL: RLS still refuses them), and the roster
  API's edge trusting a ``?district=`` parameter (caught on both: a wrong district is not
  something the database can see).
- Both walls down (predicate removed and RLS disabled on a scratch PostgreSQL database): the
  probe sees B's users. RLS alone: ``test_rls.py::test_check_detects_missing_rls``/``_force``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import Request
from sqlalchemy import true
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from homeroom.ids import new_id
from homeroom.roster.query import oneroster
from homeroom.sharing.principal import Principal
from homeroom.storage.sql import repos
from homeroom.storage.sql.migrate import upgrade
from homeroom.tenancy import RequestScope
from homeroom.web import roster_api, tenant
from homeroom.wiring import Container, build
from tests.conftest import SqlTarget, make_settings
from tests.isolation.probes import probe_audit
from tests.isolation.roster_probes import CLEVER, ONEROSTER
from tests.isolation.routes import ROUTE_PROBES
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


# ---------------------------------------------------------------------- roster APIs


def _without_district_predicate(where: Any) -> Any:
    """``where`` with every ``<table>.district_id = :bound`` term replaced by TRUE."""

    def replace(element: Any) -> Any:
        if (
            isinstance(element, BinaryExpression)
            and element.operator is operators.eq
            and getattr(element.left, "name", None) == "district_id"
            and isinstance(element.right, BindParameter)
        ):
            return true()
        return None

    return visitors.replacement_traverse(where, {}, replace)


@pytest.fixture
def reader_predicate_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OneRoster reader forgets the district in its collection queries."""
    for name, res in list(oneroster.RESOURCES.items()):

        def source(vis: Any, district_id: str, original: Any = res.source) -> Any:
            table, where = original(vis, district_id)
            return table, _without_district_predicate(where)

        monkeypatch.setitem(oneroster.RESOURCES, name, dataclasses.replace(res, source=source))


@pytest.mark.usefixtures("reader_predicate_removed")
@pytest.mark.parametrize("name", ["users", "classes", "enrollments"])
def test_removed_roster_reader_predicate(world: World, sql_backend: str, name: str) -> None:
    run = ROUTE_PROBES[("GET", f"{ONEROSTER}/{name}")]
    if sql_backend == "sqlite":
        with pytest.raises(CAUGHT, match="B's data leaked"):
            run(world)
    else:
        run(world)  # PostgreSQL: RLS refuses what the reader got wrong


def _trusting_roster_scope(original: Any) -> Any:
    """The classic bug at the roster API's edge: believe the district the caller names
    (``?district=`` as a slug or an id) instead of the token's."""

    @contextmanager
    def scope(request: Request, principal: Principal) -> Iterator[Any]:
        clients = request.app.state.container.oidc.clients
        named = request.query_params.get("district")
        district = named and (clients.district_by_slug(named) or clients.district(named))
        if district:
            principal = dataclasses.replace(principal, district_id=district.id)
        with original(request, principal) as pair:
            yield pair

    return scope


@pytest.mark.parametrize("path", [f"{ONEROSTER}/users", f"{CLEVER}/sections"])
def test_broken_roster_api_narrowing_is_caught(
    world: World, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Caught on both backends: the database cannot tell a wrong district from a right one."""
    ROUTE_PROBES[("GET", path)](world)  # passes as built
    monkeypatch.setattr(roster_api, "_scope", _trusting_roster_scope(roster_api._scope))
    with pytest.raises(CAUGHT, match="B's data leaked"):
        ROUTE_PROBES[("GET", path)](world)
