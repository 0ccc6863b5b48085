"""The in-process KV's writes while it holds many keys with a TTL (issue 9).

    taskset -c 0 .venv/bin/python -m bench.bench_memory_kv [--keys 1000000]

An instant login leaves a spent-code marker for the access token's lifetime, so at 1,000
logins a second the quick-start store holds millions of keys. This fills the store with
``--keys`` markers, lets a tenth of them expire, then times 50,000 writes one by one and
reports the mean, the p99.99 and the slowest, and how many keys are left: a store that
drops expired keys by scanning them all shows the scan as one slow write.
"""

from __future__ import annotations

import argparse
import time

from bench.conftest import ManualClock
from homeroom.storage.kv import MemoryKV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=50_000)
    args = parser.parse_args()
    clock = ManualClock()
    kv = MemoryKV(clock=clock)
    value = b'{"jti":"' + b"x" * 43 + b'","sid":"' + b"y" * 43 + b'"}'
    for i in range(args.keys):
        clock.now += 3600 / args.keys  # spread over an hour, as arrivals would be
        kv.set(f"spent:loadtest.{i:043d}", value, ttl_s=3600)
    clock.now += 360  # the first tenth of the markers is past its time
    held = len(kv)
    times: list[float] = []
    for i in range(args.writes):
        started = time.perf_counter()
        kv.set(f"code:loadtest.{i:043d}", value, ttl_s=60)
        times.append(time.perf_counter() - started)
    times.sort()
    mean = sum(times) / len(times)
    print(
        f"{args.keys:,} keys held ({held:,} before the writes, {len(kv):,} after): "
        f"{args.writes:,} writes, mean {mean * 1e6:.2f} us, "
        f"p99.99 {times[int(len(times) * 0.9999)] * 1e6:.1f} us, "
        f"slowest {times[-1] * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
