"""The hot paths' thread hand-off (``web.hot.in_hot_thread``) keeps what anyio's gave them:
the caller's context (the tenant scope), errors raised to the caller, and a cancelled
caller that waits for work already running while work not yet started never runs."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from homeroom.ids import new_id
from homeroom.tenancy import TenantScope, current_district
from homeroom.web import hot


@pytest.fixture
def one_thread() -> Iterator[ThreadPoolExecutor]:
    """The pool cut to one thread, so that a second piece of work waits its turn."""
    saved = hot._pool
    pool = ThreadPoolExecutor(1)
    hot._pool = (os.getpid(), pool)
    try:
        yield pool
    finally:
        hot._pool = saved
        pool.shutdown(wait=True)


def test_the_work_sees_the_callers_tenant_scope_and_runs_off_the_loop() -> None:
    district_id = new_id("district")

    async def main() -> tuple[str | None, str, str]:
        with TenantScope(district_id):
            seen = await hot.in_hot_thread(
                lambda: (current_district(), threading.current_thread().name)
            )
        return seen[0], seen[1], threading.current_thread().name

    district, worker, loop_thread = asyncio.run(main())
    assert district == district_id
    assert worker.startswith("homeroom-hot") and worker != loop_thread


def test_an_error_in_the_work_reaches_the_caller() -> None:
    def fails() -> None:
        raise LookupError("no such code")

    with pytest.raises(LookupError, match="no such code"):
        asyncio.run(hot.in_hot_thread(fails))


def test_a_cancelled_caller_waits_for_work_that_has_started(
    one_thread: ThreadPoolExecutor,
) -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def work() -> None:
        started.set()
        release.wait(10)
        finished.append("work")

    async def main() -> None:
        task = asyncio.create_task(hot.in_hot_thread(work))
        while not started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        for _ in range(20):  # the loop runs on while the caller waits
            await asyncio.sleep(0.001)
        assert not task.done(), "the caller returned while its work was still running"
        task.cancel()  # a second cancel is absorbed too
        await asyncio.sleep(0.001)
        assert not task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished == ["work"]

    asyncio.run(main())


def test_work_not_yet_started_is_dropped_when_its_caller_is_cancelled(
    one_thread: ThreadPoolExecutor,
) -> None:
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def first() -> None:
        started.set()
        release.wait(10)
        ran.append("first")

    async def main() -> None:
        busy = asyncio.create_task(hot.in_hot_thread(first))
        while not started.is_set():
            await asyncio.sleep(0.001)
        queued = asyncio.create_task(hot.in_hot_thread(lambda: ran.append("second")))
        await asyncio.sleep(0.001)  # submitted, behind ``first`` on the one thread
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        await busy

    asyncio.run(main())
    one_thread.shutdown(wait=True)  # anything still queued would have run by now
    assert ran == ["first"]


def test_a_forked_worker_makes_its_own_pool() -> None:
    first = hot._hot_pool()
    assert hot._hot_pool() is first
    saved = hot._pool
    assert saved is not None
    hot._pool = (saved[0] + 1, saved[1])  # as a child process sees its parent's pool
    try:
        mine = hot._hot_pool()
        assert mine is not first
        assert hot._pool == (os.getpid(), mine)
    finally:
        mine.shutdown()
        hot._pool = saved
