"""The protocol hot paths, dispatched ahead of the FastAPI stack.

DESIGN: "Starlette routes for protocol hot paths, FastAPI for JSON APIs". An instant login
is three requests (authorize, token, userinfo); a profile of the quick-start server put
about 40 % of its CPU in the layers around the handlers. Here a request for one of the hot
paths meets only what it needs: the in-flight cap, the request context (request id, access
log, metrics, last-resort 500) and the handler itself, found by one dict lookup. Every other
path goes through FastAPI unchanged.

The hot routes stay in the app's route table (``url_path_for``, the isolation suite's route
enumeration, the OpenAPI exclusion) and are served the same way from either side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from homeroom.audit.group_commit import deferred_appends
from homeroom.errors import HomeroomError
from homeroom.web.errors import homeroom_error_response
from homeroom.web.middleware import RequestContextMiddleware

if TYPE_CHECKING:
    from homeroom.wiring import Container

__all__ = ["HotPaths", "HotRoute", "blocking", "hot_routes"]

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
    return await run_in_threadpool(fn)


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


def hot_routes(routes: Iterable[BaseRoute]) -> dict[str, HotRoute]:
    return {r.path: r for r in routes if isinstance(r, HotRoute)}


class HotPaths:
    """ASGI: hot paths straight to their route (inside a request context), the rest to
    ``rest`` (the full FastAPI stack)."""

    def __init__(self, rest: ASGIApp, routes: dict[str, HotRoute]) -> None:
        self.rest = rest
        self.routes = routes
        self.hot = RequestContextMiddleware(self._dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is not None and route.methods and scope["method"] in route.methods:
            await self.hot(scope, receive, send)
        else:
            await self.rest(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.routes[scope["path"]].handle(scope, receive, send)
