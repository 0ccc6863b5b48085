"""The error tree.

Every error Homeroom raises on purpose derives from :class:`HomeroomError`. The web layer
maps them to status codes; the CLI prints ``str(error)`` as one line and exits non-zero.
Anything that is not a ``HomeroomError`` is a bug and becomes a 500 plus a metric.

::

    HomeroomError
    ├── ConfigError               bad setting (names the key)
    ├── NotFound                  a record does not exist *in this tenant*
    ├── Conflict                  uniqueness or state conflict (slug taken, ...)
    ├── InvalidInput              the caller sent something malformed
    ├── PermissionDenied          the caller may not do this
    ├── TenantScopeError          tenant data touched outside a TenantScope (a bug, 500)
    ├── RateLimited               too many requests for an IP, account or client (429 + Retry-After)
    └── ServiceUnavailable        a dependency is down or overloaded (503 + Retry-After)

Protocol errors (OAuth 2.0, OneRoster) have their own trees in their packages, one class per
wire error code.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "Conflict",
    "HomeroomError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServiceUnavailable",
    "TenantScopeError",
]


class HomeroomError(Exception):
    """Base of every deliberate error; ``str()`` is a one-line message fit for a user."""


class ConfigError(HomeroomError):
    """A setting is missing or invalid; the message names the key."""


class NotFound(HomeroomError):
    """The record does not exist, or exists only in another district (indistinguishable)."""


class Conflict(HomeroomError):
    """The change conflicts with existing state."""


class InvalidInput(HomeroomError):
    """The caller's input is malformed."""


class PermissionDenied(HomeroomError):
    """The caller is authenticated but not allowed to do this."""


class TenantScopeError(HomeroomError):
    """Tenant data was touched outside a TenantScope: always a programming error."""


class RateLimited(HomeroomError):
    """A rate limit was reached; ``headers`` carry Retry-After and the X-RateLimit-* trio."""

    def __init__(self, message: str, retry_after: int, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers


class ServiceUnavailable(HomeroomError):
    """A dependency (database, KV, upstream IdP) is down or the server is shedding load."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
