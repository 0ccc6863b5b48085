"""Password hashing with argon2id at OWASP's recommended parameters, on a bounded pool.

OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB, t=2, p=1 as the minimum. We
use exactly that: stronger settings cost login throughput on back-to-school morning, and
``needs_rehash`` lets us raise them later without a migration.

Why a bounded pool: one verification is ~20 ms of CPU and 19 MiB of memory. Run on the
event loop, it stalls every other request; run on an unbounded thread pool, dozens of them
share the cores at once, each evicting the others' 19 MiB from the caches (measured: ~20 %
more CPU per verification with 32 threads on one core than with one). So at most
``concurrency`` verifications run at once per process (one per core it may run on), callers
on an event loop await :meth:`PasswordHasher.verify_async` (a dedicated pool of that size),
and synchronous callers on other threads queue on the same slots.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["PasswordHasher", "available_cores"]

MIN_LENGTH = 6  # young students' passwords are short; badges are their real credential
MAX_LENGTH = 1024  # argon2 on a megabyte password is a denial-of-service vector


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. ``taskset``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class PasswordHasher:
    def __init__(
        self,
        time_cost: int = 2,
        memory_kib: int = 19 * 1024,
        parallelism: int = 1,
        concurrency: int | None = None,
    ):
        self._ph = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self.concurrency = concurrency or available_cores()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # A real hash to verify against when the account does not exist, so that a
        # missing user costs the same time as a wrong password (no user enumeration).
        self._dummy = self._ph.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        with self._slots:
            return self._ph.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; always spends one argon2 verification. Blocks
        the calling thread (and waits for a free slot): never call it on an event loop."""
        if len(password) > MAX_LENGTH:
            return False
        with self._slots:
            try:
                return self._ph.verify(stored_hash or self._dummy, password) and bool(stored_hash)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    async def verify_async(self, stored_hash: str | None, password: str) -> bool:
        """:meth:`verify` on the bounded pool: the event loop keeps serving other requests
        (argon2-cffi releases the GIL) while at most ``concurrency`` verifications run."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), self.verify, stored_hash, password)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.concurrency, thread_name_prefix="argon2"
                    )
        return self._pool

    def close(self) -> None:
        """Stop the pool's threads (queued verifications still finish)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._ph.check_needs_rehash(stored_hash)
