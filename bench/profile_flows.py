"""Server CPU per flow through the ASGI app in-process, and where it goes (issue 9).

A load run's "flows per server CPU-second" moves 2-3x with the machine and with whatever
shares its cores; this drives the same flows through the app with no HTTP server and no
network, so a change to a hot path can be compared before and after within minutes:

    taskset -c 0 .venv/bin/python -m bench.profile_flows client_credentials 3000
    taskset -c 0 .venv/bin/python -m bench.profile_flows refresh 1000 --profile

Scenarios: instant_login, password_login, badge_login, client_credentials, refresh. The app
is the quick-start shape (SQLite file, in-process KV and rate limiter), seeded as the OIDC
tests seed it, plus a third-grader with a QR badge. ``--profile`` prints a pyinstrument
tree of the timed rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.oidc.conftest import PASSWORD, REDIRECT

from bench.asgi_flows import Browser, Flows
from bench.conftest import seeded_container
from homeroom.identity.passwords import PasswordHasher
from homeroom.ops.logging import configure_logging
from homeroom.roster.models import District, Role
from homeroom.web.app import create_app
from homeroom.wiring import Container

SCENARIOS = ("instant_login", "password_login", "badge_login", "client_credentials", "refresh")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("rounds", type=int, nargs="?", default=1000)
    parser.add_argument("--concurrency", type=int, default=32, help="browsers at once")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="cProfile on the event loop thread's CPU clock (thread_time): what the loop "
        "itself spends, not what it waits for while pool threads run",
    )
    parser.add_argument(
        "--no-argon2",
        action="store_true",
        help="password_login without the argon2id verification (a string compare in its "
        "place): the Python around it, for before/after comparisons of that code alone",
    )
    parser.add_argument(
        "--redis-url",
        default="",
        help="KV store and rate limiter on this Redis (its database is flushed first), "
        "as in production; default the in-process ones",
    )
    args = parser.parse_args()
    container, data = seeded_container(
        Path(tempfile.mkdtemp(prefix="homeroom-profile-")),
        log_level="warning",
        redis_url=args.redis_url,
    )
    settings = container.settings
    configure_logging(settings.log_level, settings.log_json)  # as `homeroom serve` does
    data.update(_badge(container, data["district"]))
    if args.no_argon2:
        _skip_argon2(container.passwords)
    app = create_app(container)
    flows = Flows(app, data, REDIRECT, PASSWORD)
    host = settings.issuer.split("://", 1)[1]
    browsers = [Browser(app, host=host) for _ in range(args.concurrency)]
    flow = getattr(flows, args.scenario)

    async def rounds(n: int) -> None:
        """``n`` flows by the browsers at once, as a closed-model load run sends them (the
        audit group commit only batches what is in flight together)."""

        async def one(browser: Browser, count: int) -> None:
            for _ in range(count):
                await flow(browser)

        share, extra = divmod(n, len(browsers))
        await asyncio.gather(
            *(one(b, share + (1 if i < extra else 0)) for i, b in enumerate(browsers))
        )

    loop = asyncio.new_event_loop()
    for browser in browsers:
        loop.run_until_complete(flows.password_login(browser))  # signed in, caches warm
    loop.run_until_complete(rounds(max(len(browsers), args.rounds // 10)))
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
    cprof = None
    if args.cprofile:
        import cProfile

        cprof = cProfile.Profile(time.thread_time)
        cprof.enable()
    cpu, loop_cpu = time.process_time(), time.thread_time()
    loop.run_until_complete(rounds(args.rounds))
    cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
    if cprof is not None:
        import pstats

        cprof.disable()
        pstats.Stats(cprof).sort_stats("cumulative").print_stats(45)
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    print(
        f"{args.scenario}: {args.rounds / cpu:,.0f} flows per CPU-second "
        f"({1e6 * cpu / args.rounds:,.0f} us of server CPU per flow, in-process, "
        f"{'profiled' if profiler else 'not profiled'}); "
        f"{1e6 * loop_cpu / args.rounds:,.0f} us of it on the event loop's thread"
    )
    container.close()


def _badge(container: Container, district: District) -> dict[str, Any]:
    """A third-grader, badges on for grade 03, and the payload printed on the child's QR."""
    user = container.roster_admin.create_user(
        district.slug, username="maggie", role=Role.STUDENT, given_name="Maggie", grade="03"
    )
    district = container.badges.set_grades(district, ["03"], actor="bench")
    container.oidc.clients.invalidate()
    (issued,) = container.badges.issue(district, [user], actor="bench")
    return {"badge": issued.payload, "badge_user": user}


def _skip_argon2(hasher: PasswordHasher) -> None:
    """Replace the hasher's verification by a compare with the seeded password."""

    def verify(stored_hash: str | None, password: str) -> bool:
        return stored_hash is not None and password == PASSWORD

    hasher.verify = verify  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
