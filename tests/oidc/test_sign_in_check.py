"""``oidc.sign_in_check``: "is this user active and shared with this app?" is reused for at
most ``ttl_s`` seconds per worker, per (district, user, app), and never across connections.
A fake clock: no sleeps, no timing assertions."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from homeroom.ids import new_id
from homeroom.oidc import sign_in_check
from homeroom.oidc.sign_in_check import SignInCheck
from homeroom.sharing.models import Connection
from tests.oidc.conftest import OP, set_user_status
from tests.oidc.test_hot_path import count_reads


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _check(op: OP, ttl_s: float = 5.0) -> tuple[SignInCheck, Clock]:
    """A check whose answers live the whole ``ttl_s`` (the jitter drawn at its upper end)."""
    clock = Clock()
    return SignInCheck(op.container.db, ttl_s, clock=clock, rng=lambda: 0.0), clock


def _connection(op: OP) -> Connection | None:
    return op.container.oidc.clients.connection(op.district.id, op.app.id)


def test_the_answer_is_reused_within_the_ttl_only(op: OP) -> None:
    check, clock = _check(op)
    connection = _connection(op)
    args = (op.district.id, op.student.id, op.app.id, connection)
    with count_reads(op) as reads:
        user, shared = check.active_shared(*args)
        assert user is not None and user.id == op.student.id and shared
        clock.now += 4.9
        assert check.active_shared(*args)[0] is not None
    assert len(reads) == 1
    # The user is deactivated (by another worker: nobody tells this one).
    set_user_status(op.container, op.student, "inactive")
    assert check.active_shared(*args)[0] is not None  # within the bound
    clock.now += 0.2  # past ttl_s since the answer
    assert check.active_shared(*args) == (None, False)


def test_a_reloaded_connection_is_asked_again(op: OP) -> None:
    check, _clock = _check(op)
    connection = _connection(op)
    assert connection is not None
    assert check.active_shared(op.district.id, op.student.id, op.app.id, connection)[1]
    paused = replace(connection, status="paused")  # what the directory reloads after a pause
    with count_reads(op) as reads:
        user, shared = check.active_shared(op.district.id, op.student.id, op.app.id, paused)
    assert len(reads) == 1 and user is not None and not shared


def test_answers_are_per_user_and_app(op: OP) -> None:
    check, _clock = _check(op)
    connection = _connection(op)
    other_app = op.container.oidc.clients.connection(op.district.id, op.public_app.id)
    assert check.active_shared(op.district.id, op.student.id, op.app.id, connection)[0]
    with count_reads(op) as reads:
        teacher, _ = check.active_shared(op.district.id, op.teacher.id, op.app.id, connection)
        student, _ = check.active_shared(op.district.id, op.student.id, op.public_app.id, other_app)
    assert len(reads) == 2
    assert teacher is not None and teacher.id == op.teacher.id
    assert student is not None and student.id == op.student.id


def test_ttl_zero_reads_every_time(op: OP) -> None:
    check, _clock = _check(op, ttl_s=0)
    args = (op.district.id, op.student.id, op.app.id, _connection(op))
    with count_reads(op) as reads:
        check.active_shared(*args)
        check.active_shared(*args)
    assert len(reads) == 2
    set_user_status(op.container, op.student, "inactive")
    assert check.active_shared(*args) == (None, False)


def test_an_answer_for_one_district_never_answers_for_another(op: OP) -> None:
    check, _clock = _check(op)
    connection = _connection(op)
    assert check.active_shared(op.district.id, op.student.id, op.app.id, connection)[0]
    other = new_id("district")  # the same user id and app, asked under another district
    assert check.active_shared(other, op.student.id, op.app.id, connection) == (None, False)


def test_answers_made_together_expire_apart_and_never_past_the_ttl(op: OP) -> None:
    """Every user of a class signing in in the same second must not be read again in the
    same second ``ttl_s`` later (the periodic stampede the load harness showed)."""
    draws = itertools.cycle([0.0, 0.5, 1.0])  # the longest, a middle and the shortest lifetime
    clock = Clock()
    check = SignInCheck(op.container.db, 4.0, clock=clock, rng=lambda: next(draws))
    connection = _connection(op)
    other_app = op.container.oidc.clients.connection(op.district.id, op.public_app.id)
    asked = [
        (op.district.id, op.student.id, op.app.id, connection),
        (op.district.id, op.teacher.id, op.app.id, connection),
        (op.district.id, op.student.id, op.public_app.id, other_app),
    ]
    for args in asked:
        check.active_shared(*args)

    def read_again_at(dt: float) -> int:
        clock.now = 1000.0 + dt
        with count_reads(op) as reads:
            for args in asked:
                check.active_shared(*args)
        return len(reads)

    assert read_again_at(1.9) == 0  # every answer lives at least (1 - JITTER) * ttl_s
    assert read_again_at(2.1) == 1  # the shortest (2 s) has expired and is read again
    assert read_again_at(3.1) == 1  # then the middle one (3 s)
    assert read_again_at(4.1) == 1  # the longest, exactly ttl_s: never stale beyond it


def test_a_routine_reload_of_an_unchanged_connection_keeps_the_answers(op: OP) -> None:
    """The directory reloads a connection every 30 s; when nothing changed, the answers
    made under it stay (they were all dropped at once before: a read stampede)."""
    check, _clock = _check(op)
    clients = op.container.oidc.clients
    connection = _connection(op)
    assert check.active_shared(op.district.id, op.student.id, op.app.id, connection)[1]
    key = (op.district.id, op.app.id)
    _until, cached = clients._connections._data[key]
    clients._connections._data[key] = (0.0, cached)  # its ttl_s has run out
    with count_reads(op) as reads:
        reloaded = _connection(op)
        assert reloaded is connection
        assert check.active_shared(op.district.id, op.student.id, op.app.id, reloaded)[1]
    assert len(reads) == 1  # the connection's reload, not the user's answer


def test_expired_answers_leave_a_few_per_write(op: OP) -> None:
    """No write frees the whole cache: each drops at most two answers past their time."""
    check, clock = _check(op)
    connection = _connection(op)
    for n in range(4):
        check.active_shared(op.district.id, op.student.id, f"app_{n}", connection)
    clock.now += 6  # all four are past their time
    check.active_shared(op.district.id, op.teacher.id, op.app.id, connection)
    assert len(check._answers) == 4 - 2 + 1
    check.active_shared(op.district.id, op.teacher.id, op.public_app.id, connection)
    assert list(check._answers) == [
        (op.district.id, op.teacher.id, op.app.id),
        (op.district.id, op.teacher.id, op.public_app.id),
    ]


def test_past_the_bound_only_the_oldest_answer_leaves(
    op: OP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sign_in_check, "MAX_ENTRIES", 3)
    check, clock = _check(op)
    connection = _connection(op)

    def ask(n: int) -> None:
        clock.now += 0.1
        check.active_shared(op.district.id, op.student.id, f"app_{n}", connection)

    for n in range(4):
        ask(n)
    with count_reads(op) as reads:
        for n in (1, 2, 3):
            ask(n)  # still answered from memory
        assert len(reads) == 0
        ask(0)  # the oldest, gone
    assert len(reads) == 1
