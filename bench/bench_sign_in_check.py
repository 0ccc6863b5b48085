"""The sign-in check's cache under a morning of distinct sign-ins (issue 9).

    taskset -c 0 .venv/bin/python -m bench.bench_sign_in_check [--answers 120000]

Each instant login's first question (is this user active and shared with this app?) is
answered from the database once and kept for a few seconds per (district, user, app). This
asks ``--answers`` distinct questions on a clock advancing a millisecond per question
(1,000 sign-ins a second), times each one that goes to the database and keeps its answer,
and reports the mean, the slowest, and the answers held at the end: a cache dropped whole
when full shows the drop as one slow question every ``MAX_ENTRIES``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.conftest import ManualClock, seeded_container
from homeroom.oidc.sign_in_check import MAX_ENTRIES, SignInCheck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=120_000)
    args = parser.parse_args()
    container, data = seeded_container(Path(tempfile.mkdtemp(prefix="homeroom-bench-")), "warning")
    district, student, app = data["district"], data["student"], data["app"]
    connection = container.oidc.clients.connection(district.id, app.id)
    clock = ManualClock()
    check = SignInCheck(container.db, 5.0, clock=clock)
    times: list[float] = []
    for n in range(args.answers):
        clock.now += 0.001
        started = time.perf_counter()
        check.active_shared(district.id, student.id, f"app_{n}", connection)
        times.append(time.perf_counter() - started)
    times.sort()
    print(
        f"{args.answers:,} distinct questions at 1,000 a second (cache bound {MAX_ENTRIES:,}): "
        f"mean {sum(times) / len(times) * 1e6:.0f} µs, "
        f"p99.99 {times[int(len(times) * 0.9999)] * 1e3:.2f} ms, "
        f"slowest {times[-1] * 1e3:.2f} ms; {len(check._answers):,} answers held at the end"
    )
    container.close()


if __name__ == "__main__":
    main()
