"""PostgreSQL restarted under load: clean 503s, recovery without restarting Homeroom, and
every write that was acknowledged is still there afterwards.

Stated recovery: within 15 s of PostgreSQL accepting connections again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import psycopg

from homeroom.errors import ServiceUnavailable
from homeroom.identity.passwords import PasswordHasher
from homeroom.roster.admin import RosterAdmin
from homeroom.storage.sql import Database
from tests.faults.conftest import FaultDatabase
from tests.faults.load import Load, bad_answers
from tests.faults.servers import HomeroomServer

RECOVERY_S = 15.0


class Writer:
    """Creates districts in a loop through the storage layer; remembers acknowledged ones."""

    def __init__(self, url: str) -> None:
        self.db = Database(url, pool_size=2, pool_timeout_s=1, connect_timeout_s=2)
        self.admin = RosterAdmin(self.db, PasswordHasher())
        self.acknowledged: list[str] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            slug = f"fault-{time.monotonic_ns()}-{n}"
            try:
                self.admin.create_district(slug, "Fault District")
            except ServiceUnavailable:
                self.refused += 1
                time.sleep(0.05)
                continue
            self.acknowledged.append(slug)
            time.sleep(0.01)

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.db.dispose()


def test_postgres_restart_gives_clean_503s_and_recovers(
    fault_pg: FaultDatabase, homeroom: Callable[..., HomeroomServer]
) -> None:
    server = homeroom(
        database_url=fault_pg.url,
        migrate_database_url=fault_pg.owner_url,
        app_db_role=fault_pg.app_role,
        db_pool_size=4,
        db_pool_timeout_s=1,
        db_connect_timeout_s=2,
    )
    pid = server.proc.pid if server.proc else None
    status = server.url + "/api/v1/status"
    load = Load(status, clients=3).start()
    writer = Writer(fault_pg.url).start()
    try:
        time.sleep(1.0)
        assert all(r.status == 200 for r in load.snapshot())
        fault_pg.cluster.stop()  # fast shutdown: in-flight transactions are cut
        down_at = time.monotonic()
        time.sleep(2.0)
        during = [r for r in load.snapshot() if r.started > down_at + 0.2]
        assert during and {r.status for r in during} == {503}
        fault_pg.cluster.start()
        up_at = time.monotonic()
        while True:
            if httpx.get(status, timeout=5).status_code == 200:
                break
            assert time.monotonic() - up_at < RECOVERY_S, "no recovery after PostgreSQL restart"
            time.sleep(0.1)
        time.sleep(0.5)  # a little load after recovery too
    finally:
        results = load.stop()
        writer.stop()
    assert bad_answers(results) == []
    assert server.proc is not None and server.proc.pid == pid and server.proc.poll() is None
    assert writer.refused > 0 and writer.acknowledged  # the fault was seen by writers too
    with psycopg.connect(fault_pg.owner_url) as conn:
        stored = {
            row[0]
            for row in conn.execute(
                "SELECT slug FROM districts WHERE slug LIKE 'fault-%'"
            ).fetchall()
        }
    lost = [slug for slug in writer.acknowledged if slug not in stored]
    assert lost == [], f"acknowledged writes lost: {lost[:5]}"
