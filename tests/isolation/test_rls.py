"""PostgreSQL row-level security: the database itself refuses cross-district access.

These tests use raw SQL as the *application role*, below the repositories, to show that
isolation does not depend on the code remembering its ``WHERE district_id = …``.

How they fail when the lock is removed (``test_check_detects_missing_*`` do it for real):
- without ENABLE ROW LEVEL SECURITY (or without the policy's predicate) the app role reads
  every district's rows, so ``leaks()`` returns B's rows;
- without FORCE, the table owner bypasses the policy: the owner check returns rows with no
  scope set.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from homeroom.ids import new_id
from homeroom.storage.sql import Database
from homeroom.storage.sql.all_tables import tenant_tables
from homeroom.storage.sql.engine import SET_DISTRICT_SQL
from homeroom.storage.sql.migrate import upgrade
from homeroom.tenancy import TenantScope
from tests.conftest import SqlTarget
from tests.services import PgServer

pytestmark = pytest.mark.postgres

A, B = new_id("district"), new_id("district")


def _seed(owner_url: str) -> None:
    """Seed both districts as the owner, each insert inside its own district's setting."""
    db = Database(owner_url, pool_size=1)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE districts, users CASCADE"))
            for district, name in ((A, "a"), (B, "b")):
                conn.execute(
                    text(
                        "INSERT INTO districts (id, slug, name, settings, created_at) "
                        "VALUES (:id, :slug, :slug, '{}', now())"
                    ),
                    {"id": district, "slug": name},
                )
        for district, name in ((A, "a"), (B, "b")):
            with db.engine.begin() as conn:
                conn.execute(SET_DISTRICT_SQL, {"district_id": district})
                conn.execute(
                    text(
                        "INSERT INTO users (district_id, id, role, username, given_name, "
                        "family_name, status, created_at, updated_at) VALUES (:d, :id, "
                        "'student', :u, 'x', 'y', 'active', now(), now())"
                    ),
                    {"d": district, "id": new_id("user"), "u": f"user-{name}"},
                )
    finally:
        db.dispose()


@pytest.fixture
def target(pg_database: SqlTarget) -> SqlTarget:
    _seed(pg_database.owner_url)
    return pg_database


@pytest.fixture
def app_db(target: SqlTarget) -> Iterator[Database]:
    db = Database(target.url, pool_size=1)  # one pooled connection: reuse is certain
    yield db
    db.dispose()


def _scoped(conn: Connection, district: str) -> None:
    conn.execute(SET_DISTRICT_SQL, {"district_id": district})


def leaks(db: Database) -> list[str]:
    """Every way district A's transaction could touch B's rows; empty when sealed."""
    found: list[str] = []
    with db.engine.begin() as conn:
        _scoped(conn, A)
        rows = conn.execute(text("SELECT district_id FROM users")).scalars().all()
        found += [f"read {d}" for d in rows if d != A]
        n = conn.execute(text("SELECT count(*) FROM users WHERE district_id = :b"), {"b": B})
        if n.scalar_one():
            found.append("count of B")
        upd = conn.execute(
            text("UPDATE users SET family_name = 'z' WHERE district_id = :b"), {"b": B}
        )
        if upd.rowcount:
            found.append("update B")
        dele = conn.execute(text("DELETE FROM enrollments WHERE district_id = :b"), {"b": B})
        if dele.rowcount:
            found.append("delete B")
        conn.rollback()
    return found


def test_no_scope_no_rows(app_db: Database) -> None:
    with app_db.engine.begin() as conn:
        for table in tenant_tables():
            count = conn.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar_one()
            assert count == 0, table.name


def test_scope_sees_only_its_district(app_db: Database) -> None:
    with app_db.engine.begin() as conn:
        _scoped(conn, A)
        assert conn.execute(text("SELECT district_id FROM users")).scalars().all() == [A]
    with app_db.engine.begin() as conn:
        _scoped(conn, B)
        assert conn.execute(text("SELECT district_id FROM users")).scalars().all() == [B]


def test_scope_cannot_read_update_or_delete_other_district(app_db: Database) -> None:
    assert leaks(app_db) == []
    with app_db.engine.begin() as conn:
        _scoped(conn, B)
        assert conn.execute(text("SELECT family_name FROM users")).scalar_one() == "y"


def test_scope_cannot_insert_into_other_district(app_db: Database) -> None:
    with app_db.engine.begin() as conn:
        _scoped(conn, A)
        with pytest.raises(Exception, match="row-level security"):
            conn.execute(
                text(
                    "INSERT INTO users (district_id, id, role, username, given_name, "
                    "family_name, status, created_at, updated_at) VALUES (:b, :id, 'student',"
                    " 'intruder', 'x', 'y', 'active', now(), now())"
                ),
                {"b": B, "id": new_id("user")},
            )


def test_scope_cannot_move_a_row_to_other_district(app_db: Database) -> None:
    with app_db.engine.begin() as conn:
        _scoped(conn, A)
        with pytest.raises(Exception, match="row-level security"):
            conn.execute(text("UPDATE users SET district_id = :b"), {"b": B})


def test_setting_does_not_survive_the_transaction(app_db: Database) -> None:
    """SET LOCAL semantics: the pooled connection returns to the pool with no district."""
    with app_db.engine.begin() as conn:
        _scoped(conn, A)
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
    with app_db.engine.begin() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid  # same conn
        setting = conn.execute(
            text("SELECT current_setting('homeroom.district_id', true)")
        ).scalar_one()
        assert setting in (None, "")
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0


def test_a_scoped_unit_of_work_sets_its_district_and_leaves_none_behind(
    app_db: Database,
) -> None:
    """``Database.scoped`` sets the district in BEGIN's round trip (the begin event), not as
    a statement of its own: it must still hold for the whole transaction, and only for it."""
    with TenantScope(A), app_db.scoped() as uow:
        conn = uow.conn
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        setting = text("SELECT current_setting('homeroom.district_id', true)")
        assert conn.execute(setting).scalar_one() == A
        assert conn.execute(text("SELECT district_id FROM users")).scalars().all() == [A]
    with app_db.platform() as uow:
        assert uow.conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
        assert uow.conn.execute(setting).scalar_one() in (None, "")
        assert uow.conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0


def test_a_unit_of_work_is_one_transaction(app_db: Database) -> None:
    """The driver runs in autocommit mode and the begin event sends BEGIN itself: were it
    not sent, every statement would commit on its own and a failed unit of work would keep
    its first writes."""
    with TenantScope(A), app_db.scoped() as uow:
        first = uow.conn.execute(text("SELECT txid_current()")).scalar_one()
        assert uow.conn.execute(text("SELECT txid_current()")).scalar_one() == first

    def half_done() -> None:
        with TenantScope(A), app_db.scoped(write=True) as uow:
            uow.conn.execute(text("UPDATE users SET family_name = 'half-done'"))
            raise RuntimeError("the rest of the unit of work failed")

    with pytest.raises(RuntimeError):
        half_done()
    with TenantScope(A), app_db.scoped() as uow:
        assert uow.conn.execute(text("SELECT family_name FROM users")).scalar_one() == "y"


def test_app_role_cannot_bypass(app_db: Database) -> None:
    with app_db.engine.begin() as conn:
        row = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        assert tuple(row) == (False, False)
        with pytest.raises(Exception, match=r"must be owner|permission denied"):
            conn.execute(text("ALTER TABLE users DISABLE ROW LEVEL SECURITY"))


def test_app_role_cannot_rewrite_audit(app_db: Database) -> None:
    with app_db.engine.begin() as conn, pytest.raises(Exception, match="permission denied"):
        conn.execute(text("UPDATE audit_events SET actor = 'nobody'"))


def test_every_tenant_table_has_forced_rls_and_policy(target: SqlTarget) -> None:
    """Enumerates the live schema: any table with a district_id column must be locked."""
    with psycopg.connect(target.owner_url) as conn:
        rows = conn.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND EXISTS (SELECT 1 FROM information_schema.columns col
                          WHERE col.table_name = c.relname AND col.column_name = 'district_id')
            """
        ).fetchall()
    assert rows, "no tenant tables found"
    unlocked = [r[0] for r in rows if not (r[1] and r[2] and r[3] > 0)]
    assert unlocked == []
    assert {r[0] for r in rows} == {t.name for t in tenant_tables()}


@pytest.fixture
def scratch(pg_server: PgServer) -> Iterator[SqlTarget]:
    """A separate migrated database that a test may damage on purpose."""
    name = f"homeroom_scratch_{new_id('key')[4:]}"
    pg_server.create_database(name)
    owner = pg_server.dsn(pg_server.owner_role, name)
    upgrade(owner, pg_server.app_role)
    _seed(owner)
    yield SqlTarget(
        "postgres",
        pg_server.dsn(pg_server.app_role, name),
        owner,
        pg_server.app_role,
        pg_server,
        name,
    )
    pg_server.drop_database(name)


def test_check_detects_missing_rls(scratch: SqlTarget) -> None:
    """Mutation: switch RLS off on ``users``; the leak check must notice."""
    with psycopg.connect(scratch.owner_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
    db = Database(scratch.url, pool_size=1)
    try:
        assert "read " + B in leaks(db)
    finally:
        db.dispose()


def test_check_detects_missing_force(scratch: SqlTarget) -> None:
    """Mutation: drop FORCE; the owner (migrations' role) then sees every row unscoped."""

    def owner_rows() -> int:
        with psycopg.connect(scratch.owner_url) as conn:
            return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])  # type: ignore[index]

    assert owner_rows() == 0
    with psycopg.connect(scratch.owner_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE users NO FORCE ROW LEVEL SECURITY")
    assert owner_rows() == 2


# ---------------------------------------------------------------------- views and functions


def unsafe_views(owner_url: str) -> list[str]:
    """Views over a tenant table that run with their owner's rights (not
    ``security_invoker``): a view owned by a role that bypasses RLS would read every
    district. Every such view must be ``WITH (security_invoker = true)`` (PostgreSQL 15+)."""
    tenant = [t.name for t in tenant_tables()]
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            """
            SELECT DISTINCT v.view_name
            FROM information_schema.view_table_usage v
            JOIN pg_class c ON c.relname = v.view_name
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = v.view_schema
            WHERE v.view_schema = 'public' AND v.table_name = ANY(%s)
              AND NOT coalesce('security_invoker=true' = ANY(c.reloptions), false)
            ORDER BY 1
            """,
            (tenant,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def security_definer_functions(owner_url: str) -> list[str]:
    """Functions in the schema that run as their owner (``SECURITY DEFINER``): they could
    read across districts on a caller's behalf. None are allowed."""
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            """
            SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.prosecdef ORDER BY 1
            """
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_views_over_tenant_tables_are_security_invoker(target: SqlTarget) -> None:
    assert unsafe_views(target.owner_url) == []


def test_no_security_definer_functions(target: SqlTarget) -> None:
    assert security_definer_functions(target.owner_url) == []


def test_view_and_function_checks_catch_offenders(scratch: SqlTarget) -> None:
    """Mutation: add a definer-rights view and a SECURITY DEFINER function; both checks
    must name them, and an invoker view must pass (and stay scoped for the app role)."""
    with psycopg.connect(scratch.owner_url, autocommit=True) as conn:
        conn.execute("CREATE VIEW roster_view AS SELECT district_id, id FROM users")
        conn.execute(
            "CREATE VIEW roster_view_ok WITH (security_invoker = true) AS "
            "SELECT district_id, id FROM users"
        )
        conn.execute(f'GRANT SELECT ON roster_view_ok TO "{scratch.app_role}"')
        conn.execute(
            "CREATE FUNCTION count_users() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
            "AS 'SELECT count(*) FROM users'"
        )
    assert unsafe_views(scratch.owner_url) == ["roster_view"]
    assert security_definer_functions(scratch.owner_url) == ["count_users"]
    db = Database(scratch.url, pool_size=1)
    try:
        with db.engine.begin() as conn:
            _scoped(conn, A)
            seen = conn.execute(text("SELECT district_id FROM roster_view_ok")).scalars().all()
        assert seen == [A]
    finally:
        db.dispose()
