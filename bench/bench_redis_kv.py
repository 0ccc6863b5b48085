"""CPU per Redis KV call, single thread and from a pool of threads (issue 9).

    taskset -c 0 .venv/bin/python -m bench.bench_redis_kv [--url redis://127.0.0.1:6379/9]

An instant login makes four KV calls (three single commands and one script), each from
one of the web layer's worker threads. This times ``RedisKV.set``/``get``/``pop`` against
the same calls through the ``redis.Redis`` client (what ``RedisKV`` used before), then a
code's redemption as ``pop`` and a later ``set`` of its spent marker (two round trips,
before session 14) against ``pop_and_set`` (one script), reporting the calling process's CPU time
(``time.process_time``: Redis's own time is not in it) and wall time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis

from homeroom.storage.kv.redis import RedisKV

CALLS = 6000


def _round(one: Callable[[int], None], threads: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if threads == 1:
        for i in range(CALLS):
            one(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(CALLS)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / CALLS * 1e6, wall / CALLS * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kv = RedisKV(args.url, timeout_s=2)
    client = redis.Redis.from_url(args.url, socket_timeout=2, health_check_interval=30)
    value = b"x" * 120

    def kv_calls(i: int) -> None:
        kv.set(f"bench:{i}", value, 60)
        kv.get(f"bench:{i}")
        kv.pop(f"bench:{i}")

    def client_calls(i: int) -> None:
        client.set(f"bench:{i}", value, px=60_000)
        client.get(f"bench:{i}")
        client.getdel(f"bench:{i}")

    print("| path | threads | CPU µs per call | wall µs per call |")
    print("| --- | ---: | ---: | ---: |")
    for threads in (1, 8):
        for name, fn in (("RedisKV", kv_calls), ("redis.Redis client", client_calls)):
            _round(fn, threads)  # warm: connections open, code paths hot
            best = min(_round(fn, threads) for _ in range(args.rounds))
            print(f"| {name} | {threads} | {best[0] / 3:.1f} | {best[1] / 3:.1f} |")

    def pop_then_set(i: int) -> None:
        kv.pop(f"bench:code:{i}")
        kv.set(f"bench:spent:{i}", value, 60)

    def pop_and_set(i: int) -> None:
        kv.pop_and_set(f"bench:code:{i}", f"bench:spent:{i}", value, 60)

    print()
    print("| code redemption | threads | CPU µs per redemption | wall µs per redemption |")
    print("| --- | ---: | ---: | ---: |")
    for threads in (1, 8):
        for name, fn in (("pop, then set", pop_then_set), ("pop_and_set", pop_and_set)):
            results = []
            for _ in range(args.rounds + 1):  # the first round warms
                for i in range(CALLS):
                    kv.set(f"bench:code:{i}", value, 60)  # untimed: each round redeems codes
                results.append(_round(fn, threads))
            best = min(results[1:])
            print(f"| {name} | {threads} | {best[0]:.1f} | {best[1]:.1f} |")
    kv.close()
    client.close()


if __name__ == "__main__":
    main()
