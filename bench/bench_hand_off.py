"""CPU per thread hand-off from the event loop, anyio's against the hot paths' own (issue 9).

    taskset -c 0 .venv/bin/python -m bench.bench_hand_off

With PostgreSQL or Redis as the stores every hot-path request hands its synchronous work
to a thread (``web.hot.blocking``): three hand-offs per instant login. This times an empty
function handed off by ``callers`` coroutines at once, through
``starlette.concurrency.run_in_threadpool`` (anyio, what the hot paths used before) and
through ``web.hot.in_hot_thread``, reporting the process's CPU time per hand-off
(``time.process_time``) and wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from homeroom.web.hot import in_hot_thread

HAND_OFFS = 20_000


def _nothing() -> int:
    return 1


async def _round(hand_off: Callable[[], Awaitable[int]], callers: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per hand-off."""

    async def caller(count: int) -> None:
        for _ in range(count):
            await hand_off()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(HAND_OFFS // callers) for _ in range(callers)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    done = HAND_OFFS // callers * callers
    return cpu / done * 1e6, wall / done * 1e6


async def _main(rounds: int) -> None:
    paths: tuple[tuple[str, Callable[[], Awaitable[int]]], ...] = (
        ("anyio (run_in_threadpool)", lambda: run_in_threadpool(_nothing)),
        ("in_hot_thread", lambda: in_hot_thread(_nothing)),
    )
    print("| path | callers at once | CPU µs per hand-off | wall µs per hand-off |")
    print("| --- | ---: | ---: | ---: |")
    for callers in (1, 32):
        for name, hand_off in paths:
            await _round(hand_off, callers)  # warm: threads started
            best = min([await _round(hand_off, callers) for _ in range(rounds)])
            print(f"| {name} | {callers} | {best[0]:.1f} | {best[1]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(_main(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
