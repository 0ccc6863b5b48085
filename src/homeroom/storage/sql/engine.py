"""The SQL engine and its two kinds of transaction: tenant-scoped and platform.

Tenant lock on PostgreSQL: every tenant table has ENABLE + FORCE ROW LEVEL SECURITY and a
policy comparing ``district_id`` with ``current_setting('homeroom.district_id', true)``. A
tenant transaction sets that value with ``set_config(..., is_local => true)``, which is the
function form of ``SET LOCAL``: it ends with the transaction, so a pooled connection handed
to the next request carries no district (an empty setting matches no row). Platform
transactions never set it, so they see no tenant rows at all on PostgreSQL.

Round trips on PostgreSQL (issue 9: a refresh grant waited on seven of them, for three
statements of its own):

- psycopg sends ``BEGIN`` on a round trip of its own before a transaction's first statement.
  Connections are put in psycopg's autocommit mode and the ``begin`` event sends ``BEGIN``
  itself, together with the district's ``set_config`` as one simple-protocol query (two
  statements, one round trip). SQLAlchemy still commits and rolls back through the driver,
  which sends ``COMMIT``/``ROLLBACK`` whenever the server reports an open transaction.
- A connection is checked with ``SELECT 1`` on checkout only when it sat in the pool for
  longer than :data:`PING_AFTER_IDLE_S` (HikariCP's ``aliveBypassWindowMs`` idea). Under load a
  connection is back in use within milliseconds, and a ping per transaction was one round
  trip in seven. A connection that went bad within the window fails its statement, which is
  a 503 and invalidates the whole pool, as the pre-ping would have done for the next one.

Bounded: a connection is obtained within ``pool_timeout_s`` (else 503), a new one connects
within ``connect_timeout_s``, a statement runs at most ``statement_timeout_ms`` (server side),
and TCP keepalives plus ``tcp_user_timeout`` end a connection to a vanished server. Each of
these failures is a :class:`ServiceUnavailable` (503 + Retry-After), never a hang.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import psycopg
import psycopg.sql
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool, QueuePool

from homeroom.errors import InvalidInput, ServiceUnavailable
from homeroom.ops.metrics import (
    DB_POOL_IN_USE,
    DB_POOL_SIZE,
    DB_POOL_TIMEOUTS,
    DB_POOL_WAIT_SECONDS,
)
from homeroom.storage.sql.uow import UnitOfWork
from homeroom.tenancy import require_district

__all__ = ["PING_AFTER_IDLE_S", "SET_DISTRICT_SQL", "Database"]

_WRITE_OPTION = "homeroom_write"
"""Execution option marking a unit of work that writes (SQLite: ``BEGIN IMMEDIATE``)."""

_DISTRICT_OPTION = "homeroom_district"
"""Execution option carrying a tenant unit of work's district to the ``begin`` event."""

PING_AFTER_IDLE_S = 0.5
"""A pooled PostgreSQL connection idle for longer is pinged before it is handed out."""

_CHECKED_IN_AT = "homeroom_checked_in_at"

SET_DISTRICT_SQL = text("SELECT set_config('homeroom.district_id', :district_id, true)")


class Database:
    """Owns the engine; hands out units of work. Only ``storage`` touches the driver."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 0,
        pool_timeout_s: float = 2.0,
        statement_timeout_ms: int = 5000,
        connect_timeout_s: int = 3,
    ) -> None:
        self.url = url
        self.is_postgres = url.startswith("postgresql")
        self.engine = _make_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout_s=pool_timeout_s,
            statement_timeout_ms=statement_timeout_ms,
            connect_timeout_s=connect_timeout_s,
        )
        self._write_lock = threading.RLock() if url.startswith("sqlite") else None
        self._pool_capacity = 0
        if isinstance(self.engine.pool, QueuePool):
            self._pool_capacity = pool_size + max_overflow
            DB_POOL_SIZE.inc(self._pool_capacity)
        _instrument_pool(self.engine)

    @contextmanager
    def _begin(self, write: bool = False, district_id: str | None = None) -> Iterator[Connection]:
        try:
            started = time.perf_counter()
            try:
                conn = self.engine.connect()
            finally:
                DB_POOL_WAIT_SECONDS.observe(time.perf_counter() - started)
            if write:
                conn.execution_options(**{_WRITE_OPTION: True})
            if district_id is not None and self.is_postgres:
                conn.execution_options(**{_DISTRICT_OPTION: district_id})
            with conn, self._writer(write), conn.begin():
                yield conn
        except PoolTimeout as exc:
            DB_POOL_TIMEOUTS.inc()
            raise ServiceUnavailable("database pool exhausted", retry_after=1) from exc
        except DataError as exc:
            # PostgreSQL text cannot hold NUL; a value containing one is bad input (found by
            # the isolation suite's Hypothesis tests: it was a 500 on PostgreSQL only).
            if "NUL" in str(exc.orig):
                raise InvalidInput("text must not contain NUL (0x00) characters") from exc
            raise
        except OperationalError as exc:
            if exc.connection_invalidated or _is_connect_error(exc):
                raise ServiceUnavailable("database unavailable", retry_after=2) from exc
            if _is_statement_timeout(exc):
                raise ServiceUnavailable("database too slow", retry_after=2) from exc
            raise

    @contextmanager
    def _writer(self, write: bool) -> Iterator[None]:
        """SQLite writers of this process queue on a lock before ``BEGIN IMMEDIATE``.

        SQLite has one writer at a time; a blocked ``BEGIN IMMEDIATE`` polls with sleeps of
        up to 100 ms (its busy handler), so under concurrency threads mostly slept. A lock
        hands the turn over at once; other processes still meet the busy timeout.
        """
        if not (write and self._write_lock is not None):
            yield
            return
        with self._write_lock:
            yield

    @contextmanager
    def scoped(self, *, write: bool = False) -> Iterator[UnitOfWork]:
        """A transaction narrowed to the current ``TenantScope`` (required).

        ``write=True`` for a unit of work that writes: on SQLite it takes the write lock up
        front (``BEGIN IMMEDIATE``). A deferred transaction that reads and then writes cannot
        wait for a concurrent writer (SQLite answers "database is locked" at once, the busy
        timeout does not cover the upgrade); an immediate one queues on the busy timeout.
        Never open another unit of work inside a write one: it would wait for this lock.
        """
        district_id = require_district()
        # On PostgreSQL the begin event sets the district, in BEGIN's round trip.
        with self._begin(write, district_id) as conn:
            yield UnitOfWork(conn, district_id)

    @contextmanager
    def platform(self, *, write: bool = False) -> Iterator[UnitOfWork]:
        """A transaction over global tables only (districts, apps); tenant repos refuse.
        ``write`` as for :meth:`scoped`."""
        with self._begin(write) as conn:
            yield UnitOfWork(conn, None)

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` unless a trivial query succeeds."""
        with self._begin() as conn:
            conn.execute(text("SELECT 1"))

    def pool_status(self) -> dict[str, int]:
        pool = self.engine.pool
        if isinstance(pool, QueuePool):
            return {"size": pool.size(), "checked_out": pool.checkedout()}
        return {"size": 0, "checked_out": 0}

    def dispose(self) -> None:
        self.engine.dispose()
        if self._pool_capacity:
            DB_POOL_SIZE.dec(self._pool_capacity)
            self._pool_capacity = 0


def _instrument_pool(engine: Engine) -> None:
    """Connections in use, from pool events (checkin fires even for invalidated ones)."""

    @event.listens_for(engine, "checkout")
    def _checkout(_dbapi: Any, _record: Any, _proxy: Any) -> None:
        DB_POOL_IN_USE.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi: Any, _record: Any) -> None:
        DB_POOL_IN_USE.dec()


def _is_statement_timeout(exc: OperationalError) -> bool:
    # SQLSTATE 57014 query_canceled: statement_timeout fired (the server is slow or blocked).
    return getattr(exc.orig, "sqlstate", None) == "57014"


def _is_connect_error(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return any(
        word in message
        for word in ("connection", "terminating", "server closed", "could not connect")
    )


def _make_engine(
    url: str,
    *,
    pool_size: int,
    max_overflow: int,
    pool_timeout_s: float,
    statement_timeout_ms: int,
    connect_timeout_s: int = 3,
) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            poolclass=NullPool if path == ":memory:" else QueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow + 10,
            pool_timeout=pool_timeout_s,
            connect_args={"check_same_thread": False, "timeout": 10},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # pysqlite's own transaction handling is broken for SAVEPOINT/BEGIN; take it over.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        # Reads stay deferred (WAL readers never wait); writes take the lock up front.
        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    options = f"-c statement_timeout={statement_timeout_ms}"
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout_s,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": connect_timeout_s,
            "options": options,
            # A server that vanishes mid-query (host down, partition) ends the connection
            # instead of holding a pooled connection and a worker thread forever.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 3,
            "keepalives_count": 3,
            "tcp_user_timeout": 20_000,
        },
    )
    _postgres_round_trips(engine)
    return engine


def _postgres_round_trips(engine: Engine) -> None:
    """Explicit transactions with the district set in BEGIN's round trip, and a ping only
    after idle (see the module docstring)."""

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_conn: Any, _record: Any) -> None:
        # The begin event below opens every transaction; psycopg must not open its own.
        dbapi_conn.autocommit = True

    @event.listens_for(engine, "begin")
    def _postgres_begin(conn: Connection) -> None:
        district_id = conn.get_execution_options().get(_DISTRICT_OPTION)
        query: psycopg.sql.Composable = psycopg.sql.SQL("BEGIN")
        if district_id is not None:
            # No parameters: psycopg sends it with the simple protocol, which allows two
            # statements in one query. The district is quoted by psycopg as a literal.
            query = psycopg.sql.SQL(
                "BEGIN; SELECT set_config('homeroom.district_id', {}, true)"
            ).format(psycopg.sql.Literal(district_id))
        dbapi_conn = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
        # Through SQLAlchemy, not the driver: a lost connection must surface as its
        # OperationalError (a 503 that invalidates the pool), as for any statement.
        conn.exec_driver_sql(query.as_string(dbapi_conn))

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_after_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at <= PING_AFTER_IDLE_S:
            return  # new, or back in use within the window
        try:
            dbapi_conn.execute("SELECT 1")
        except psycopg.Error as exc:
            # The pool discards this connection and checks out another (a new one if
            # need be), as its own pre-ping does.
            record.info.pop(_CHECKED_IN_AT, None)
            raise DisconnectionError("pooled connection is gone") from exc


def wait_for(db: Database, timeout_s: float = 10.0) -> None:
    """Block until the database answers (used at start-up and by tests)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            db.ping()
            return
        except ServiceUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
