"""The pool pings a PostgreSQL connection only after it sat idle (``PING_AFTER_IDLE_S``).

A connection whose server process ended while it was idle in the pool is replaced
unnoticed; one that ended within the window fails its unit of work with a 503, and the
pool is whole again for the next one. Without the ping the first test fails; with a ping
on every checkout (the round trip this saves) the second one does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

import homeroom.storage.sql.engine as engine_module
from homeroom.errors import ServiceUnavailable
from homeroom.storage.sql import Database
from tests.faults.conftest import FaultDatabase
from tests.services import PgServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(fault_pg: FaultDatabase) -> Iterator[Database]:
    database = Database(fault_pg.url, pool_size=1)  # one pooled connection: reuse is certain
    yield database
    database.dispose()


@pytest.fixture
def pg_server(fault_pg: FaultDatabase) -> PgServer:
    return fault_pg.cluster.server


def _backend_pid(db: Database) -> int:
    with db.platform() as uow:
        return int(uow.conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill_pooled_connection(
    db: Database, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch, window_s: float
) -> int:
    """With the ping window set to ``window_s``, end the server process behind the pool's one
    connection while it is idle in the pool; return that process's id."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", window_s)
    pid = _backend_pid(db)
    with pg_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    return pid


def test_an_idle_connection_that_died_is_replaced_unnoticed(
    db: Database, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _kill_pooled_connection(db, pg_server, monkeypatch, window_s=0.0)
    assert _backend_pid(db) != pid  # no error: the ping found it dead, the pool reconnected


def test_a_connection_back_within_the_window_is_not_pinged(
    db: Database, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _kill_pooled_connection(db, pg_server, monkeypatch, window_s=3600.0)
    with pytest.raises(ServiceUnavailable):
        _backend_pid(db)
    assert _backend_pid(db) != pid  # the failure invalidated it; the next one reconnects
