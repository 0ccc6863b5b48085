"""The instant-login hot path reads the database at most once per request, once per flow.

authorize (with a live session) → token → userinfo, after caches are warm: one SQL read
for authorize (the user's claim columns and sharing), none for the token exchange, and
none for userinfo, which reuses authorize's answer (``oidc.sign_in_check``, a few seconds);
with ``sign_in_check_ttl_s = 0`` userinfo reads again.
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


def _instant_login_reads(op: OP) -> tuple[list[str], list[str], list[str]]:
    op.tokens("openid profile")  # warm: keys loaded, client and connection cached
    op.login()
    op.container.oidc.sign_in_check.invalidate()  # a user who has not signed in just now
    with count_reads(op) as authorize_reads:
        r = op.authorize(scope="openid profile")
    code = query_of(r.headers["location"])["code"]
    with count_reads(op) as token_reads:
        body = op.exchange(code).json()
    with count_reads(op) as userinfo_reads:
        u = op.client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert u.status_code == 200
    return authorize_reads, token_reads, userinfo_reads


def test_one_read_per_instant_login(op: OP) -> None:
    authorize_reads, token_reads, userinfo_reads = _instant_login_reads(op)
    assert len(authorize_reads) == 1, authorize_reads
    assert token_reads == []
    assert userinfo_reads == []  # authorize's answer, reused


def test_without_the_check_cache_userinfo_reads_again(op: OP) -> None:
    op.container.oidc.sign_in_check.ttl_s = 0
    authorize_reads, token_reads, userinfo_reads = _instant_login_reads(op)
    assert len(authorize_reads) == 1 and token_reads == [] and len(userinfo_reads) == 1


def test_one_read_per_request_at_most(op: OP) -> None:
    op.tokens("openid profile")  # warm: keys loaded, client and connection cached
    op.login()
    op.container.oidc.sign_in_check.invalidate()
    with count_reads(op) as reads:
        r = op.authorize(scope="openid profile")
    assert len(reads) == 1, reads
    code = query_of(r.headers["location"])["code"]
    with count_reads(op) as reads:
        body = op.exchange(code).json()
    assert reads == []
    op.container.oidc.sign_in_check.invalidate()
    with count_reads(op) as reads:
        u = op.client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert u.status_code == 200 and len(reads) == 1, reads
