"""One load-generating process: Locust (headless, ``FastHttpUser``) driven by a plan.

Run by :mod:`.runner` as ``python -m homeroom.loadtest.worker PLAN.json INDEX OUT.json``.
This is the only module that imports Locust, which monkey-patches the process for gevent;
keeping it in its own process keeps the CLI and the test suite unpatched.

Open model: a dispatcher greenlet puts each of this process's arrivals on a queue at its due
time, whatever the server is doing; ``concurrency`` Locust users take flows off the queue.
When every user is busy the queue grows, and the wait is part of the latency because each
flow is timed from its due time. Flows still queued when the run ends are counted as
``not_sent`` errors and flows still running as ``unfinished``: a stall cannot hide.
Closed model: the users loop back to back.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
import gevent.queue
from gevent.lock import Semaphore
from locust import FastHttpUser, constant, task
from locust.env import Environment

from homeroom.loadtest.checks import CheckFailed
from homeroom.loadtest.heap import settle_heap
from homeroom.loadtest.plan import Plan, ScenarioMix
from homeroom.loadtest.results import Results
from homeroom.loadtest.scenarios import SCENARIO_FLOWS, Browser, Flow, Reply, Target, discover

__all__ = ["main", "run_worker"]

log = logging.getLogger("homeroom.loadtest")


@dataclass
class Job:
    scenario: str
    scheduled: float
    abandoned: bool = False
    settling: bool = False  # of the stretch before the window (Plan.settle_s)


class LocustHttp:
    """:class:`~.scenarios.Http` over a Locust ``FastHttpSession`` (geventhttpclient).

    Cookies are kept in a small single-origin jar here instead of ``http.cookiejar``: the
    server under test is one origin, and the standard jar's per-request policy walk was a
    tenth of the load generator's CPU in a py-spy profile (bench/RESULTS-load.md).
    """

    def __init__(self, user: FastHttpUser) -> None:
        self.session = user.client
        self.session.client.cookiejar = None  # we keep cookies ourselves (see above)
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        hdrs = dict(headers or {})
        data: str | None = None
        if form is not None:
            data = urlencode(form)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.session.request(
            method, url, name=name, data=data, headers=hdrs, auth=auth, allow_redirects=False
        )
        status = int(response.status_code or 0)
        if status == 0:
            error = getattr(response, "error", None)
            kind = type(error).__name__ if error is not None else "no_response"
            return Reply(0, {}, b"", error=f"connection_{kind}")
        raw: Any = response.headers or {}
        getlist = getattr(raw, "getlist", None)
        if getlist is not None:
            for line in getlist("set-cookie"):
                store_cookie(self.cookies, line)
        return Reply(status, {str(k): str(v) for k, v in raw.items()}, response.content or b"")

    def clear_cookies(self) -> None:
        self.cookies.clear()


def store_cookie(jar: dict[str, str], header: str) -> None:
    """Apply one ``Set-Cookie`` (RFC 6265 §5.2): set it, or delete it when it has expired."""
    first, _, attributes = header.partition(";")
    name, sep, value = first.strip().partition("=")
    if not sep or not name:
        return
    expired = False
    for attr in attributes.split(";"):
        key, _, val = attr.strip().partition("=")
        key = key.lower()
        if key == "max-age":
            expired = val.strip().lstrip("-").isdigit() and int(val) <= 0
            break  # Max-Age wins over Expires (§5.3 step 3)
        if key == "expires":
            try:
                expired = parsedate_to_datetime(val).timestamp() <= time.time()
            except (TypeError, ValueError):
                expired = False
    if expired:
        jar.pop(name, None)
    else:
        jar[name] = value.strip().strip('"')


class _Shared:
    """Process-wide state the users share: the plan, results, queue and discovered target."""

    plan: Plan
    index: int
    results: Results
    queue: gevent.queue.Queue[Job | None]
    in_flight: set[int]
    jobs: dict[int, Job]
    target: Target | None = None
    target_lock = Semaphore()
    stopping = False
    counter = 0


shared = _Shared()


def _target(http: LocustHttp) -> Target:
    with shared.target_lock:
        if shared.target is None:
            seed = shared.plan.seed_file
            if set(shared.plan.mix) == {"health"}:
                shared.target = Target(url=shared.plan.url)
            else:
                shared.target = discover(http, shared.plan.url, seed)
        return shared.target


def _record(job: Job, at: float, error: str | None) -> None:
    """A finished (or given up) flow: the window's, or the settling stretch's, apart."""
    if job.settling:
        shared.results.record_settling_flow(job.scenario, job.scheduled, at, error)
    else:
        shared.results.record_flow(job.scenario, job.scheduled, at, error)


def run_flow(browser: Browser, job: Job) -> None:
    # A settling flow's steps go to a scratch record: only the flow itself is reported.
    steps = Results(start_at=0.0) if job.settling else shared.results
    flow = Flow(steps, job.scenario, job.scheduled)
    error: str | None = None
    try:
        SCENARIO_FLOWS[job.scenario](browser, flow)
    except CheckFailed as exc:
        error = f"{flow.current}: {exc.kind}"
    except gevent.GreenletExit:
        raise
    except Exception as exc:  # a harness bug must show in the report, not kill the user
        log.exception("flow crashed")
        error = f"{flow.current}: harness_{type(exc).__name__}"
    if not job.abandoned:
        _record(job, time.time(), error)


class LoadUser(FastHttpUser):
    """A browser (or an app backend) that runs whatever flow is due next."""

    abstract = False
    wait_time = constant(0)
    host = "http://127.0.0.1"

    def on_start(self) -> None:
        shared.counter += 1
        number = shared.index + shared.plan.processes * shared.counter
        self.browser: Browser | None = None
        seed = shared.plan.seed * 1_000_003 + number
        self.chooser: Iterator[str] = ScenarioMix(shared.plan.mix).chooser(seed)
        try:
            target = _target(LocustHttp(self))
        except CheckFailed as exc:
            shared.results.errors[f"setup: {exc.kind}"] += 1
            return
        self.browser = Browser(LocustHttp(self), target, number)
        # Warm-up, before the measured window: the session every instant login starts from,
        # and the first refresh token a refresh flow rotates. Otherwise each browser's first
        # refresh "flow" would be a password sign-in (an argon2id verification on the
        # server) counted as a refresh.
        warm_scope = (
            target.refresh_scope
            if "refresh" in shared.plan.mix
            else target.scope
            if "instant_login" in shared.plan.mix
            else None
        )
        if warm_scope is not None:
            warm = Flow(Results(start_at=time.time()), "setup", time.time())
            try:
                self.browser.password_sign_in(warm, warm_scope)
            except CheckFailed as exc:
                shared.results.errors[f"setup: sign_in: {exc.kind}"] += 1

    @task
    def work(self) -> None:
        if shared.plan.model == "closed":
            if shared.stopping or time.time() >= shared.plan.start_at + shared.plan.duration:
                gevent.sleep(0.05)
                return
            if time.time() < shared.plan.start_at:
                gevent.sleep(shared.plan.start_at - time.time())
                return
            job = Job(next(self.chooser), time.time())
        else:
            item = shared.queue.get()
            if item is None:
                shared.queue.put(None)  # let the other users see the end too
                gevent.sleep(0.05)
                return
            job = item
        if self.browser is None:
            _record(job, time.time(), "setup_failed")
            if shared.plan.model == "closed":
                gevent.sleep(1.0)  # count the failure, do not spin on it
            return
        key = id(job)
        shared.in_flight.add(key)
        shared.jobs[key] = job
        try:
            run_flow(self.browser, job)
        finally:
            shared.in_flight.discard(key)
            shared.jobs.pop(key, None)


def _dispatch(plan: Plan, index: int) -> None:
    """Put each arrival on the queue at its due time; never waits for a response."""
    choose = ScenarioMix(plan.mix).chooser(plan.seed * 7919 + index)
    for settling, arrivals in (
        (True, plan.settle_arrivals_for(index)),
        (False, plan.arrivals_for(index)),
    ):
        for _, due in arrivals:
            delay = due - time.time()
            if delay > 0:
                gevent.sleep(delay)
            if not settling:
                shared.results.record_dispatch(due, time.time())
            shared.queue.put(Job(next(choose), due, settling=settling))
    shared.queue.put(None)


def run_worker(plan: Plan, index: int) -> Results:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    shared.plan, shared.index = plan, index
    shared.results = Results(start_at=plan.start_at)
    shared.queue = gevent.queue.Queue()
    shared.in_flight, shared.jobs = set(), {}
    LoadUser.host = plan.url
    LoadUser.network_timeout = plan.timeout_s
    LoadUser.connection_timeout = plan.timeout_s
    env = Environment(user_classes=[LoadUser], host=plan.url)
    runner = env.create_local_runner()
    runner.start(plan.concurrency, spawn_rate=max(plan.concurrency * 20, 100))
    dispatcher = gevent.spawn(_dispatch, plan, index) if plan.model == "open" else None
    # The generator's own collector stays out of the window (see :mod:`.heap`), and out of
    # the settling stretch before it.
    settled = settle_heap(plan.start_at - plan.settle_s, gevent.sleep)
    shared.results.generator_gc_ms = settled.longest_pass_ms
    shared.results.generator_late_ms = settled.into_window_ms
    end = plan.start_at + plan.duration
    gevent.sleep(max(0.0, end - time.time()))
    # Grace: let queued and running flows finish, up to one request timeout.
    deadline = time.time() + plan.timeout_s
    while time.time() < deadline:
        # Count queued jobs, not queue items: the end marker may or may not be queued yet
        # (a dispatcher running late on a busy host had not put it, and the last job was
        # then reported "not_sent" although nothing had stalled).
        dispatching = dispatcher is not None and not dispatcher.dead
        pending = sum(1 for item in list(shared.queue.queue) if item is not None)
        if not dispatching and pending == 0 and not shared.in_flight:
            break
        gevent.sleep(0.05)
    shared.stopping = True
    if dispatcher is not None:
        dispatcher.kill()
    now = time.time()
    while not shared.queue.empty():
        job = shared.queue.get_nowait()
        if job is not None:
            _record(job, now, "queue: not_sent")
    for key in list(shared.in_flight):
        job = shared.jobs[key]
        job.abandoned = True
        _record(job, now, "run_end: unfinished")
    shared.results.finished_at = now
    runner.quit()
    return shared.results


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 3:
        sys.stderr.write("usage: python -m homeroom.loadtest.worker PLAN.json INDEX OUT.json\n")
        return 2
    plan = Plan.from_json(Path(args[0]).read_text(encoding="utf-8"))
    results = run_worker(plan, int(args[1]))
    Path(args[2]).write_text(json.dumps(results.to_dict()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
