"""FastAPI glue for rate limits: ``Depends(rate_limit("ip"))`` on a route.

Allowed requests carry ``X-RateLimit-Limit/Remaining/Reset``; refused ones raise
:class:`RateLimited`, which the error handlers render as 429 with ``Retry-After``.
The dependency is sync on purpose: FastAPI runs it in the thread pool, so a Redis round
trip never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response

from homeroom.ops.ratelimit import RateLimiter

__all__ = ["client_ip", "rate_limit"]


def client_ip(request: Request) -> str | None:
    """The peer address (uvicorn rewrites it from X-Forwarded-For for trusted proxies)."""
    return request.client.host if request.client else None


def rate_limit(
    category: str, key_of: Callable[[Request], str | None] = client_ip
) -> Callable[[Request, Response], None]:
    def dependency(request: Request, response: Response) -> None:
        key = key_of(request)
        if key is None:
            return
        limiter: RateLimiter = request.app.state.container.rate_limiter
        decision = limiter.check(category, key)
        response.headers.update(decision.headers())

    return dependency
