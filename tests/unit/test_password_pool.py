"""argon2 runs on a bounded pool: at most ``concurrency`` verifications at once per process,
whether callers await ``verify_async`` on an event loop or call ``verify`` from threads."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from homeroom.identity.passwords import PasswordHasher, available_cores

FAST = {"time_cost": 1, "memory_kib": 8, "parallelism": 1}  # argon2id, tiny: tests only


class Watched(PasswordHasher):
    """Counts verifications running at once; each waits for ``gate`` to open."""

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency=concurrency, **FAST)
        self.running = 0
        self.peak = 0
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()
        self._count = threading.Lock()
        self._ph = _Gated(self._ph, self)  # type: ignore[assignment]


class _Gated:
    """Stands in for argon2-cffi's hasher (which has slots: it cannot be patched)."""

    def __init__(self, real: Any, watch: Watched) -> None:
        self.real = real
        self.watch = watch

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        w = self.watch
        with w._count:
            w.running += 1
            w.peak = max(w.peak, w.running)
        w.started.release()
        w.gate.wait(10)
        try:
            return bool(self.real.verify(stored, password))
        finally:
            with w._count:
                w.running -= 1


def test_the_pool_is_sized_to_the_cores_by_default() -> None:
    assert PasswordHasher(**FAST).concurrency == available_cores() >= 1


def test_async_verifications_never_exceed_the_pool() -> None:
    hasher = Watched(concurrency=2)
    stored = hasher.hash("maple-leaf-7")

    async def main() -> list[bool]:
        tasks = [
            asyncio.ensure_future(hasher.verify_async(stored, "maple-leaf-7")) for _ in range(8)
        ]
        for _ in range(2):  # two start; the other six must queue
            await asyncio.to_thread(hasher.started.acquire, True, 10)
        assert hasher.running == 2
        assert not any(t.done() for t in tasks)
        hasher.gate.set()
        return await asyncio.gather(*tasks)

    assert asyncio.run(main()) == [True] * 8
    assert hasher.peak == 2
    hasher.close()


def test_threads_calling_verify_share_the_same_slots() -> None:
    """The portal's sign-in runs in FastAPI's thread pool: it queues on the same slots."""
    hasher = Watched(concurrency=1)
    stored = hasher.hash("maple-leaf-7")
    with ThreadPoolExecutor(6) as threads:
        results = [threads.submit(hasher.verify, stored, "wrong-password") for _ in range(6)]
        assert hasher.started.acquire(timeout=10)
        assert hasher.running == 1
        hasher.gate.set()
        assert [r.result(timeout=30) for r in results] == [False] * 6
    assert hasher.peak == 1
