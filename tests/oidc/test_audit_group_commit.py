"""Audit appends of the token endpoint: every grant leaves its event, group-committed on
the event loop without giving up durability (no response before the commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY

from homeroom.audit.group_commit import AuditAppender, appender_for, deferred_appends
from homeroom.audit.models import AuditEvent
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


def test_outside_the_event_loop_an_append_is_its_own_transaction(container: Container) -> None:
    district = seed(container)["district"]
    appender = AuditAppender(container.db)
    appender.append(district.id, event(1))
    assert appender.flushes == 0
    assert len(app_token_events(container, district.id)) == 1


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

    with container.db.engine.connect() as conn:
        seqs = conn.execute(
            select(audit_events.c.seq).where(audit_events.c.district_id == district.id)
        ).scalars()
        ordered = sorted(seqs)
        assert ordered == list(range(1, len(ordered) + 1))  # no gap, no duplicate


def test_the_audit_trail_joins_the_batch_on_the_event_loop(container: Container) -> None:
    """Sign-in events (``AuditTrail.record``) from requests on the loop share one commit,
    and none is answered before it; off the loop each is its own transaction."""
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
    assert appender.flushes == flushes + 1
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
