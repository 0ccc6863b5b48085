"""``loadtest seed`` creates what a run needs, through the real services and databases."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from homeroom.loadtest.seed import REDIRECT_URI, seed_loadtest
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container


def test_seed_creates_users_app_and_connection(container: Container, tmp_path: Path) -> None:
    out = tmp_path / "seed.json"
    first = seed_loadtest(container, district="lt", users=3, password="pw-for-load", out=out)
    assert (first.users_created, first.users_existing) == (3, 0)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text())
    assert data["client_id"] == first.client_id and data["redirect_uri"] == REDIRECT_URI
    assert data["district"] == "lt" and data["users"] == 3 and data["password"] == "pw-for-load"

    district = container.roster_admin.district("lt")
    with TenantScope(district.id), container.db.scoped() as uow:
        user = uow.users.by_username("lt-user-00003")
        assert user is not None
        assert container.passwords.verify(uow.users.password_hash(user.id), "pw-for-load")
        assert uow.connections.get(first.client_id).active(utcnow())
    with container.db.platform() as uow:
        app = uow.apps.get(first.client_id)
    assert not app.public and app.redirect_uris == (REDIRECT_URI,)

    again = seed_loadtest(container, district="lt", users=4, password="pw-for-load", out=out)
    assert (again.users_created, again.users_existing) == (1, 3)
    assert again.client_id != first.client_id
