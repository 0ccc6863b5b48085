"""The hot paths' thread hand-off (``web.hot.in_hot_thread``) keeps what anyio's gave them:
the caller's context (the tenant scope), errors raised to the caller, and a cancelled
caller that waits for work already running while work not yet started never runs."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
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
    hot._pool = pool
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


class _Gate:
    """Work that reports when it starts and ends only once released."""

    def __init__(self, name: str, ran: list[str]) -> None:
        self.name = name
        self.ran = ran
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> None:
        self.started.set()
        self.release.wait(10)
        self.ran.append(self.name)

    async def running(self) -> asyncio.Task[None]:
        """Handed to the pool, and started on its thread."""
        task = asyncio.create_task(hot.in_hot_thread(self))
        while not self.started.is_set():
            await asyncio.sleep(0.001)
        return task


def test_a_cancelled_caller_waits_for_work_that_has_started(
    one_thread: ThreadPoolExecutor,
) -> None:
    ran: list[str] = []
    work = _Gate("work", ran)

    async def main() -> None:
        task = await work.running()
        task.cancel()
        for _ in range(20):  # the loop runs on while the caller waits
            await asyncio.sleep(0.001)
        assert not task.done(), "the caller returned while its work was still running"
        task.cancel()  # a second cancel is absorbed too
        await asyncio.sleep(0.001)
        assert not task.done()
        work.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ran == ["work"]

    asyncio.run(main())


def test_work_not_yet_started_is_dropped_when_its_caller_is_cancelled(
    one_thread: ThreadPoolExecutor,
) -> None:
    ran: list[str] = []
    first = _Gate("first", ran)

    async def main() -> None:
        busy = await first.running()
        queued = asyncio.create_task(hot.in_hot_thread(lambda: ran.append("second")))
        await asyncio.sleep(0.001)  # submitted, behind ``first`` on the one thread
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        first.release.set()
        await busy

    asyncio.run(main())
    one_thread.shutdown(wait=True)  # anything still queued would have run by now
    assert ran == ["first"]


def test_a_forked_worker_makes_its_own_pool() -> None:
    """In a real fork: the child's first hand-off runs on a new pool (the parent's threads
    are not in the child), and the parent keeps its own."""
    parent = hot._hot_pool()
    assert hot._hot_pool() is parent
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        ok = False
        try:
            ok = hot._pool is None and asyncio.run(hot.in_hot_thread(lambda: 7)) == 7
            ok = ok and hot._hot_pool() is not parent
        finally:
            os._exit(0 if ok else 1)
    for _ in range(3000):  # a child stuck after the fork is killed, never waited on forever
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child did not finish its hand-off")
    assert os.waitstatus_to_exitcode(status) == 0
    assert hot._hot_pool() is parent
