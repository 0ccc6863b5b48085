"""The raw argon2id verification rate: verifications per CPU-second of this process, with 1
or more threads verifying at once (the ceiling of the password sign-in, issue 9).

    taskset -c 0 .venv/bin/python -m bench.argon2_rate 1 32
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from homeroom.identity.passwords import PasswordHasher

ROUNDS = 160


def main(thread_counts: list[int]) -> None:
    hasher = PasswordHasher(concurrency=max(thread_counts))  # the pool's bound out of the way
    stored = hasher.hash("maple-leaf-7")
    for threads in thread_counts:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: hasher.verify(stored, "maple-leaf-7"), range(threads)))
            wall, cpu = time.perf_counter(), time.process_time()
            list(pool.map(lambda _: hasher.verify(stored, "maple-leaf-7"), range(ROUNDS)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"threads={threads}: {ROUNDS / cpu:.1f} verifications per CPU-second "
            f"({1000 * cpu / ROUNDS:.1f} ms each), {ROUNDS / wall:.1f} per wall second"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1])
