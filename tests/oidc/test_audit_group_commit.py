"""Audit appends of the token endpoint: every grant leaves its event, group-committed on
the event loop without giving up durability (no response before the commit)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY

from homeroom.audit.group_commit import AuditAppender, appender_for, deferred_appends
from homeroom.audit.models import AuditEvent
from homeroom.errors import TenantScopeError
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container
from tests.oidc.conftest import OP, seed


def app_token_events(container: Container, district_id: str) -> list[AuditEvent]:
    with TenantScope(district_id), container.db.scoped() as uow:
        return list(uow.audit.list(action="app.token"))


def event(n: int) -> AuditEvent:
    return AuditEvent(
        actor=f"app:app_{n}", action="app.token", target_type="connection", target_id=str(n)
    )


def test_every_client_credentials_grant_leaves_an_audit_event(op: OP) -> None:
    for _ in range(3):
        r = op.token({"grant_type": "client_credentials"}, auth=(op.app.id, op.secret))
        assert r.status_code == 200, r.text
    events = app_token_events(op.container, op.district.id)
    assert len(events) == 3  # committed before each response was sent
    assert events[0].actor == f"app:{op.app.id}"
    assert events[0].detail == {"grant": "client_credentials", "scope": "roster.read"}


def test_concurrent_requests_share_one_transaction_and_wait_for_it(container: Container) -> None:
    district = seed(container)["district"]
    appender = AuditAppender(container.db)
    seen_before_commit: list[int] = []

    async def request(n: int) -> None:
        with deferred_appends() as pending:
            appender.append(district.id, event(n))
        seen_before_commit.append(len(app_token_events(container, district.id)))
        await pending.durable()
        assert len(app_token_events(container, district.id)) >= n + 1

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(10)))

    asyncio.run(main())
    assert appender.flushes == 1
    assert seen_before_commit == [0] * 10  # nothing was answered before the batch committed
    assert len(app_token_events(container, district.id)) == 10


def test_a_thread_alone_writes_its_event_at_once(container: Container) -> None:
    district = seed(container)["district"]
    appender = AuditAppender(container.db)
    appender.append(district.id, event(1))
    assert appender.flushes == 1  # a batch of its own, written before append returned
    assert len(app_token_events(container, district.id)) == 1


class HeldFirstWrite:
    """A database whose first write transaction waits for ``release``: the threads that
    append meanwhile must join the next batch and wait for it."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.writing = threading.Event()
        self.release = threading.Event()
        self.writes = 0

    @contextmanager
    def scoped(self, **kwargs: Any) -> Iterator[Any]:
        self.writes += 1
        if self.writes == 1:
            self.writing.set()
            assert self.release.wait(30)
        with self.db.scoped(**kwargs) as uow:
            yield uow


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def queue_behind_a_held_write(
    appender: AuditAppender,
    held: HeldFirstWrite,
    append: Callable[..., None],
    leader: tuple[Any, ...],
    followers: list[tuple[Any, ...]],
) -> list[threading.Thread]:
    """Start ``append(*leader)`` and, once its write is held, ``append(*f)`` for each
    follower; return when the followers' events are all in the open batch."""
    threads = [threading.Thread(target=append, args=leader)]
    threads[0].start()
    assert held.writing.wait(30)
    for args in followers:
        threads.append(threading.Thread(target=append, args=args))
        threads[-1].start()
    wait_until(lambda: len(appender._open.items) == len(followers))
    return threads


def test_threads_arriving_during_a_write_share_the_next_batch_and_wait_for_it(
    container: Container,
) -> None:
    """Leader/follower: while one thread writes, the others queue; one of them writes all
    their events in one transaction, and none returns before its event is committed."""
    district = seed(container)["district"]
    appender = AuditAppender(container.db)
    held = HeldFirstWrite(container.db)
    appender.db = held  # type: ignore[assignment]
    seen: dict[int, bool] = {}
    batches = REGISTRY.get_sample_value("homeroom_audit_batch_events_count") or 0
    batched = REGISTRY.get_sample_value("homeroom_audit_batch_events_sum") or 0

    def append(n: int) -> None:
        appender.append(district.id, event(n))
        ids = {e.target_id for e in app_token_events(container, district.id)}
        seen[n] = str(n) in ids  # committed by the time append returned

    threads = queue_behind_a_held_write(appender, held, append, (0,), [(n,) for n in range(1, 8)])
    assert seen == {}  # all eight wait: the first for its write, the rest for their batch
    assert app_token_events(container, district.id) == []
    held.release.set()
    for thread in threads:
        thread.join(30)
    assert seen == dict.fromkeys(range(8), True)
    assert appender.flushes == 2  # [0], then [1..7] together
    assert held.writes == 2
    assert REGISTRY.get_sample_value("homeroom_audit_batch_events_count") == batches + 2
    assert REGISTRY.get_sample_value("homeroom_audit_batch_events_sum") == batched + 8
    assert len(app_token_events(container, district.id)) == 8


def test_a_failed_thread_batch_fails_every_caller_in_it(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    district = seed(container)["district"]
    appender = AuditAppender(container.db)
    held = HeldFirstWrite(container.db)
    appender.db = held  # type: ignore[assignment]
    outcomes: dict[int, str] = {}

    def append(n: int) -> None:
        try:
            appender.append(district.id, event(n))
        except OSError:
            outcomes[n] = "failed"
        else:
            outcomes[n] = "answered"

    threads = queue_behind_a_held_write(appender, held, append, (0,), [(1,), (2,), (3,)])

    @contextmanager
    def broken(**_: Any) -> Iterator[None]:
        raise OSError("disk full")
        yield

    monkeypatch.setattr(held, "db", type("Broken", (), {"scoped": staticmethod(broken)})())
    labels = {"kind": "audit_append"}
    before = REGISTRY.get_sample_value("homeroom_server_errors_total", labels) or 0
    held.release.set()
    for thread in threads:
        thread.join(30)
    # The first batch's write also met the broken database once released.
    assert outcomes == {0: "failed", 1: "failed", 2: "failed", 3: "failed"}
    assert REGISTRY.get_sample_value("homeroom_server_errors_total", labels) == before + 2
    # The appender is not stuck: the next append is written.
    monkeypatch.setattr(held, "db", container.db)
    appender.append(district.id, event(9))
    assert [e.target_id for e in app_token_events(container, district.id)] == ["9"]


def test_the_writer_of_a_batch_writes_other_districts_outside_its_own_scope(
    container: Container,
) -> None:
    """A batch holds other requests' events: the thread that writes it may be inside its
    own district's scope, and must write the other district's events in that district's.
    Two followers, each in its own district's scope, share a batch: whichever writes it
    writes the other's event."""
    first = seed(container)["district"]
    second = container.roster_admin.create_district("second-district", "Second District")
    appender = AuditAppender(container.db)
    held = HeldFirstWrite(container.db)
    appender.db = held  # type: ignore[assignment]
    errors: list[BaseException] = []

    def append(district_id: str, n: int) -> None:
        try:
            with TenantScope(district_id):
                appender.append(district_id, event(n))
        except BaseException as exc:
            errors.append(exc)

    threads = queue_behind_a_held_write(
        appender, held, append, (first.id, 0), [(first.id, 1), (second.id, 2)]
    )
    held.release.set()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert appender.flushes == 2
    assert sorted(e.target_id or "" for e in app_token_events(container, first.id)) == ["0", "1"]
    assert [e.target_id for e in app_token_events(container, second.id)] == ["2"]


def test_an_append_for_another_district_than_the_callers_scope_is_refused(
    container: Container,
) -> None:
    """Batches are written outside the callers' scopes, so the scope is checked when the
    event is handed over: code working for one district cannot log into another's."""
    first = seed(container)["district"]
    second = container.roster_admin.create_district("second-district", "Second District")
    appender = AuditAppender(container.db)
    with TenantScope(first.id), pytest.raises(TenantScopeError):
        appender.append(second.id, event(1))

    async def on_the_loop() -> None:
        with TenantScope(first.id), deferred_appends(), pytest.raises(TenantScopeError):
            appender.append(second.id, event(2))

    asyncio.run(on_the_loop())
    assert app_token_events(container, second.id) == []
    assert appender.flushes == 0


def test_a_failed_batch_fails_every_request_in_it(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    district = seed(container)["district"]
    appender = AuditAppender(container.db)

    @contextmanager
    def broken(**_: Any) -> Iterator[None]:
        raise OSError("disk full")
        yield

    monkeypatch.setattr(container.db, "scoped", broken)
    labels = {"kind": "audit_append"}
    before = REGISTRY.get_sample_value("homeroom_server_errors_total", labels) or 0

    async def request(n: int) -> str:
        with deferred_appends() as pending:
            appender.append(district.id, event(n))
        try:
            await pending.durable()
        except OSError:
            return "failed"
        return "answered"

    async def main() -> list[str]:
        return await asyncio.gather(*(request(n) for n in range(3)))

    assert asyncio.run(main()) == ["failed"] * 3
    assert REGISTRY.get_sample_value("homeroom_server_errors_total", labels) == before + 1


def test_one_appender_per_database(container: Container) -> None:
    assert appender_for(container.db) is appender_for(container.db)


def test_no_token_is_answered_when_its_audit_event_is_not_written(
    op: OP, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = (op.app.id, op.secret)
    assert op.token({"grant_type": "client_credentials"}, auth=auth).status_code == 200

    class BrokenDatabase:
        @contextmanager
        def scoped(self, **_: Any) -> Iterator[None]:
            raise OSError("disk full")
            yield

    monkeypatch.setattr(appender_for(op.container.db), "db", BrokenDatabase())
    r = op.token({"grant_type": "client_credentials"}, auth=auth)
    assert r.status_code == 500
    assert "access_token" not in r.text


def test_a_batch_continues_the_districts_sequence(container: Container) -> None:
    district = seed(container)["district"]
    appender = AuditAppender(container.db)
    appender.append(district.id, event(0))  # seq 1, on its own

    async def request(n: int) -> None:
        with deferred_appends() as pending:
            appender.append(district.id, event(n))
        await pending.durable()

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(1, 6)))

    asyncio.run(main())
    with TenantScope(district.id), container.db.scoped() as uow:
        rows = list(uow.audit.list(action="app.token"))
    assert [r.target_id for r in rows] == ["0", "1", "2", "3", "4", "5"]  # in seq order
    assert len({r.id for r in rows}) == 6
    from sqlalchemy import select

    from homeroom.storage.sql.tables import audit_events

    # As the app role, in the district's scope (on PostgreSQL, RLS shows nothing outside it).
    with TenantScope(district.id), container.db.scoped() as uow:
        seqs = uow.conn.execute(
            select(audit_events.c.seq).where(audit_events.c.district_id == district.id)
        ).scalars()
        ordered = sorted(seqs)
    assert len(ordered) >= 6  # the seed's events, then these six
    assert ordered == list(range(1, len(ordered) + 1))  # no gap, no duplicate


def test_the_audit_trail_joins_the_batch_on_the_event_loop(container: Container) -> None:
    """Sign-in events (``AuditTrail.record``) from requests on the loop share one commit,
    and none is answered before it; off the loop a lone event is a batch of its own."""
    from homeroom.audit.trail import AuditTrail

    district = seed(container)["district"]
    trail = AuditTrail(container.db)
    appender = appender_for(container.db)
    flushes = appender.flushes
    seen_before_commit: list[int] = []

    async def request(n: int) -> None:
        with deferred_appends() as pending:
            trail.record(district.id, event(n))
        seen_before_commit.append(len(app_token_events(container, district.id)))
        await pending.durable()

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(5)))

    asyncio.run(main())
    assert appender.flushes == flushes + 1
    assert seen_before_commit == [0] * 5
    assert len(app_token_events(container, district.id)) == 5
    trail.record(district.id, event(99))
    assert appender.flushes == flushes + 2
    assert len(app_token_events(container, district.id)) == 6


def test_no_sign_in_is_answered_when_its_audit_event_is_not_written(
    op: OP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The portal-less provider sign-in: a failed audit batch is a 500 with no session
    cookie, never a signed-in browser whose sign-in left no trace."""
    from homeroom.web.session_cookie import COOKIE_NAME
    from tests.oidc.conftest import PASSWORD

    class BrokenDatabase:
        @contextmanager
        def scoped(self, **_: Any) -> Iterator[None]:
            raise OSError("disk full")
            yield

    monkeypatch.setattr(appender_for(op.container.db), "db", BrokenDatabase())
    r = op.login(op.student.username, PASSWORD)
    assert r.status_code == 500
    assert COOKIE_NAME not in r.headers.get("set-cookie", "")
    assert COOKIE_NAME not in op.client.cookies
