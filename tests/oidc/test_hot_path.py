"""The instant-login hot path reads the database at most once per request.

authorize (with a live session) → token → userinfo, after caches are warm: one SQL read
for authorize (the user's claim columns), none for the token exchange, one for userinfo.
Counted with SQLAlchemy's cursor events on the real engine (the tenant ``set_config`` of
PostgreSQL is transaction setup, not a read, and is not counted).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.oidc.conftest import OP, query_of


@contextmanager
def count_reads(op: OP) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            statements.append(statement)

    engine = op.container.db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_one_read_per_request_at_most(op: OP) -> None:
    op.tokens("openid profile")  # warm: keys loaded, client and connection cached
    op.login()
    with count_reads(op) as reads:
        r = op.authorize(scope="openid profile")
    assert len(reads) == 1, reads
    code = query_of(r.headers["location"])["code"]
    with count_reads(op) as reads:
        body = op.exchange(code).json()
    assert reads == []
    with count_reads(op) as reads:
        u = op.client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert u.status_code == 200 and len(reads) == 1, reads
