"""Registered clients (apps), districts and connections, cached briefly in-process.

The hot path of an instant login reads an app and a connection on every request; both
change rarely (an admin action), so each process keeps them for ``ttl_s`` seconds. The
connection cache key includes the district, so one district's decision never answers for
another's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from homeroom.errors import NotFound
from homeroom.oidc.cache import TTLCache
from homeroom.roster.models import District
from homeroom.sharing.models import App, Connection
from homeroom.storage.sql import Database
from homeroom.tenancy import TenantScope

__all__ = ["ClientDirectory"]


@dataclass
class ClientDirectory:
    db: Database
    ttl_s: float = 30.0
    _apps: TTLCache[App | None] = field(init=False)
    _connections: TTLCache[Connection | None] = field(init=False)
    _districts: TTLCache[District | None] = field(init=False)
    _app_districts: TTLCache[list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self._apps = TTLCache(self.ttl_s)
        self._connections = TTLCache(self.ttl_s)
        self._districts = TTLCache(self.ttl_s)
        self._app_districts = TTLCache(self.ttl_s)

    def app(self, client_id: str) -> App | None:
        """The active app with this client_id, or None."""
        if not client_id or len(client_id) > 64:
            return None

        def load() -> App | None:
            with self.db.platform() as uow:
                return uow.apps.find(client_id)

        app = self._apps.get_or_load(client_id, load)
        return app if app is not None and app.status == "active" else None

    def connection(self, district_id: str, app_id: str) -> Connection | None:
        def load() -> Connection | None:
            with TenantScope(district_id), self.db.scoped() as uow:
                return uow.connections.find(app_id)

        return self._connections.get_or_load((district_id, app_id), load)

    def district_by_slug(self, slug: str) -> District | None:
        if not slug or len(slug) > 64:
            return None

        def load() -> District | None:
            with self.db.platform() as uow:
                return uow.districts.by_slug(slug)

        return self._districts.get_or_load(("slug", slug), load)

    def district(self, district_id: str) -> District | None:
        def load() -> District | None:
            with self.db.platform() as uow:
                try:
                    return uow.districts.get(district_id)
                except NotFound:
                    return None

        return self._districts.get_or_load(("id", district_id), load)

    def connected_districts(self, app_id: str) -> list[str]:
        """District ids with a connection to ``app_id``: one scoped read per district
        (connections are tenant data), cached like the rest."""

        def load() -> list[str]:
            with self.db.platform() as uow:
                districts = uow.districts.list()
            found: list[str] = []
            for d in districts:
                with TenantScope(d.id), self.db.scoped() as uow:
                    if uow.connections.find(app_id) is not None:
                        found.append(d.id)
            return found

        return list(self._app_districts.get_or_load(app_id, load))

    def invalidate(self) -> None:
        for cache in (self._apps, self._connections, self._districts, self._app_districts):
            cache.invalidate()
