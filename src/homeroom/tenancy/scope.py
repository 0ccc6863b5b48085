"""``TenantScope``: the request's rights narrowed to one district.

The scope lives in a context variable so that it follows the request through threads started
with ``contextvars.copy_context`` (Starlette's threadpool does this) and never leaks into
another request. Code that needs a district calls :func:`require_district`, which raises
:class:`~homeroom.errors.TenantScopeError` outside a scope instead of falling back to "all".
"""

from __future__ import annotations

import contextvars
from types import TracebackType

from homeroom.errors import TenantScopeError
from homeroom.ids import is_id

__all__ = ["TenantScope", "current_district", "require_district"]

_district: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "homeroom_district", default=None
)


class TenantScope:
    """Context manager: ``with TenantScope(district_id): ...`` (nesting a *different*
    district inside is refused, so one request can never hold two tenants at once)."""

    def __init__(self, district_id: str) -> None:
        if not is_id(district_id, "district"):
            raise TenantScopeError(f"not a district id: {district_id!r}")
        self.district_id = district_id
        self._token: contextvars.Token[str | None] | None = None

    def __enter__(self) -> TenantScope:
        outer = _district.get()
        if outer is not None and outer != self.district_id:
            raise TenantScopeError("nested TenantScope for a different district")
        self._token = _district.set(self.district_id)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None
        _district.reset(self._token)
        self._token = None


def current_district() -> str | None:
    """The district of the current scope, or None outside any scope."""
    return _district.get()


def require_district() -> str:
    """The district of the current scope; raises ``TenantScopeError`` outside a scope."""
    district = _district.get()
    if district is None:
        raise TenantScopeError("tenant data accessed outside a TenantScope")
    return district
