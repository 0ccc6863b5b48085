"""When the sign-in check goes to the database, over a replayed load run (issue 9).

The production-shape runs of session 10 had their slowest seconds at the same offsets in
every run (0, 5, 10-12, 17, 22, 27 s): the harness's browsers repeat their users, every
user's answer in ``oidc.sign_in_check`` was made in the first second, and so every answer
expired, and was read again from PostgreSQL, in the same instant ``ttl_s`` later.

This replays the harness's arrival pattern (``--rate`` flows/s spread evenly, flow ``i``
by user ``i % --users``, each flow asking at authorize and again at userinfo a few
milliseconds later) against the real ``SignInCheck`` on a simulated clock, with the
database read replaced by a counter, and prints how the reads fall into 100 ms windows,
with the answers' lifetimes jittered (the shipped policy) and with the old fixed lifetime:

    .venv/bin/python -m bench.sign_in_check_stampede --rate 500 --users 200 --seconds 30

It counts reads; it measures no time (the latency effect needs a quiet machine and
``bench/compare/production_shape.py``).
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from typing import Any

from homeroom.oidc import sign_in_check
from homeroom.oidc.sign_in_check import SignInCheck

WINDOW_S = 0.1
USERINFO_AFTER_S = 0.005


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class _CountingCheck(SignInCheck):
    """The real cache policy; the read records when it happened instead of querying."""

    def __init__(self, clock: _Clock, ttl_s: float) -> None:
        super().__init__(db=None, ttl_s=ttl_s, clock=clock)  # type: ignore[arg-type]
        self.reads: Counter[int] = Counter()

    def _read(self, district_id: str, user_id: str, connection: Any) -> tuple[Any, bool]:
        self.reads[int(self._clock() / WINDOW_S)] += 1
        return object(), True


def replay(rate: float, users: int, seconds: float, ttl_s: float, jitter: float) -> Counter[int]:
    saved = sign_in_check.JITTER
    sign_in_check.JITTER = jitter
    try:
        clock = _Clock()
        check = _CountingCheck(clock, ttl_s)
        asks = []
        for i in range(int(rate * seconds)):
            t = i / rate
            asks += [(t, f"user-{i % users}"), (t + USERINFO_AFTER_S, f"user-{i % users}")]
        for t, user in sorted(asks):
            clock.now = t
            check.active_shared("district", user, "app", None)
        return check.reads
    finally:
        sign_in_check.JITTER = saved


def describe(reads: Counter[int], seconds: float) -> str:
    windows = [reads.get(w, 0) for w in range(int(seconds / WINDOW_S))]
    after_warmup = windows[int(1 / WINDOW_S) :]
    mean = statistics.fmean(after_warmup)
    bursts = sum(1 for n in after_warmup if n > 3 * max(mean, 1))
    per_second = [sum(windows[s * 10 : s * 10 + 10]) for s in range(int(seconds))]
    return (
        f"reads {sum(windows)}; after the first second: mean {mean:.1f} per 100 ms, "
        f"max {max(after_warmup)}, windows over 3x the mean {bursts}; "
        f"per second {per_second}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ttl", type=float, default=5.0)
    args = parser.parse_args()
    for label, jitter in (("fixed lifetime", 0.0), (f"jitter {sign_in_check.JITTER}", None)):
        reads = replay(
            args.rate, args.users, args.seconds, args.ttl,
            sign_in_check.JITTER if jitter is None else jitter,
        )  # fmt: skip
        print(f"{label}: {describe(reads, args.seconds)}")


if __name__ == "__main__":
    main()
