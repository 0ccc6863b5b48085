"""The protocol hot paths, dispatched ahead of the FastAPI stack.

DESIGN: "Starlette routes for protocol hot paths, FastAPI for JSON APIs". An instant login
is three requests (authorize, token, userinfo); a profile of the quick-start server put
about 40 % of its CPU in the layers around the handlers. Here a request for one of the hot
paths meets only what it needs: the in-flight cap, the request context (request id, access
log, metrics, last-resort 500) and the handler itself, found by one dict lookup. Every other
path goes through FastAPI unchanged.

The hot routes stay in the app's route table (``url_path_for``, the isolation suite's route
enumeration, the OpenAPI exclusion) and are served the same way from either side. Most are
fixed paths (one dict lookup); a few portal pages carry the district in the path
(``/d/{slug}/badge``): those are tried, by their compiled pattern, only for a path that
starts with their fixed prefix, so every other request pays one ``startswith``.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from homeroom.audit.group_commit import deferred_appends
from homeroom.errors import HomeroomError
from homeroom.web.errors import homeroom_error_response
from homeroom.web.middleware import RequestContextMiddleware
from homeroom.web.responses import JSONResponse

if TYPE_CHECKING:
    from homeroom.wiring import Container

__all__ = ["HOT_THREADS", "HotPaths", "HotRoute", "HotRoutes", "blocking", "in_hot_thread"]

Endpoint = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


def _embedded(container: Container) -> bool:
    return (
        not container.db.is_postgres
        and getattr(container.kv, "backend", None) == "memory"
        and container.rate_limiter.in_process
    )


async def blocking(container: Container, fn: Callable[[], T]) -> T:
    """Run a handler's synchronous domain work: one thread hand-off per request, or none.

    With embedded stores (SQLite file, in-process KV and rate limiter) that work is a few
    hundred microseconds of CPU with no network wait, and one process has one SQLite writer
    anyway: on the event loop it costs less than the hand-off, and threads no longer queue
    for the GIL and the write lock (the quick-start server's profile was dominated by that).
    With PostgreSQL or Redis every call waits on the network, so it runs in the thread pool.

    On the loop, audit appends made by ``fn`` are group-committed
    (``audit.group_commit``): this waits for their batch's commit before returning.
    """
    if _embedded(container):
        with deferred_appends() as pending:
            result = fn()
        if pending.batches:
            await pending.durable()
        return result
    return await in_hot_thread(fn)


HOT_THREADS = 40
"""Threads of the hot paths' pool: anyio's default limit, which served them before."""

_pool: ThreadPoolExecutor | None = None


def _hot_pool() -> ThreadPoolExecutor:
    """This process's pool, made on first use."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(HOT_THREADS, thread_name_prefix="homeroom-hot")
    return _pool


def _forget_pool_after_fork() -> None:
    """A forked worker makes its own pool: the parent's threads do not survive a fork."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool_after_fork)


async def in_hot_thread(fn: Callable[[], T]) -> T:
    """``fn()`` on a thread of the hot paths' own pool, in a copy of the caller's context
    (tenant scope, request id), as ``starlette.concurrency.run_in_threadpool`` runs it.

    Why not that function: with Redis and PostgreSQL an instant login is three hand-offs,
    and anyio's (capacity limiter, cancel scope, backend lookups) cost about twice the
    CPU of ``loop.run_in_executor``'s (``bench/bench_hand_off.py``; session 13 in
    ``bench/RESULTS-load.md``). Like anyio's, a cancelled caller still waits for work
    that has started: it holds its connection and its transaction until it ends, and the
    in-flight cap must go on counting it. Work not yet started is dropped.
    """
    started: Future[T] = _hot_pool().submit(contextvars.copy_context().run, fn)
    try:
        return await asyncio.wrap_future(started)
    except asyncio.CancelledError:
        while not started.done():  # it has started: cancelling the wrapper could not stop it
            try:
                await asyncio.shield(asyncio.wrap_future(started))
            except asyncio.CancelledError:
                continue
            except Exception:  # the caller was cancelled: its error is moot
                break
        raise


class HotRoute(Route):
    """A plain Starlette route for a protocol hot path (async endpoint, no dependency
    injection or validation). It names itself in the scope, as FastAPI's routes do, so the
    request metrics label it by its path template."""

    def __init__(self, path: str, endpoint: Endpoint, *, methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.hot_endpoint = endpoint

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        if self.methods and scope["method"] not in self.methods:
            allow = ", ".join(sorted(self.methods))
            response: Response = JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allow}
            )
        else:
            request = Request(scope, receive, send)
            try:
                response = await self.hot_endpoint(request)
            except HomeroomError as exc:  # 429 / 503 and friends, as the JSON APIs answer
                response = homeroom_error_response(exc, scope.get("state", {}).get("request_id"))
        await response(scope, receive, send)


class HotRoutes:
    """Finds the hot route of a request: fixed paths by one dict lookup, templated paths
    (``/d/{slug}/apps``) by their pattern after a prefix check."""

    _SCOPE_KEY = "homeroom.hot_route"

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        hot = [r for r in routes if isinstance(r, HotRoute)]
        self.fixed = {r.path: r for r in hot if not r.param_convertors}
        self.templated = [r for r in hot if r.param_convertors]
        self.prefixes = tuple({r.path.partition("{")[0] for r in self.templated})

    def find(self, scope: Scope) -> HotRoute | None:
        """The hot route serving this request (its method included), or None. A templated
        match puts its path parameters in the scope, as Starlette's router would."""
        if scope["type"] != "http":
            return None
        found: HotRoute | None = scope.get(self._SCOPE_KEY)
        if found is not None:
            return found
        path: str = scope["path"]
        route = self.fixed.get(path)
        if route is None and self.prefixes and path.startswith(self.prefixes):
            for candidate in self.templated:
                match, child = candidate.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    route = candidate
                    break
        if route is None or not route.methods or scope["method"] not in route.methods:
            return None
        scope[self._SCOPE_KEY] = route
        return route


class HotPaths:
    """ASGI: hot paths straight to their route (inside a request context), the rest to
    ``rest`` (the full FastAPI stack)."""

    def __init__(self, rest: ASGIApp, routes: HotRoutes) -> None:
        self.rest = rest
        self.routes = routes
        self.hot = RequestContextMiddleware(self._dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.routes.find(scope) is not None:
            await self.hot(scope, receive, send)
        else:
            await self.rest(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.find(scope)
        assert route is not None  # __call__ found it; the scope remembers it
        await route.handle(scope, receive, send)
