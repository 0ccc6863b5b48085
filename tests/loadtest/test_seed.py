"""``loadtest seed`` creates what a run needs, through the real services and databases."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from homeroom.errors import Conflict
from homeroom.loadtest.seed import REDIRECT_URI, seed_loadtest
from homeroom.portal.errors import SignInFailed
from homeroom.roster.models import Role
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


def test_seed_issues_a_badge_per_user_and_a_reseed_voids_the_old_ones(
    container: Container, tmp_path: Path
) -> None:
    """badge_login signs in with the payloads the seed writes: each one is its user's, the
    district's other badge grades stay on, and a re-seed's new badges replace the old."""
    admin = container.roster_admin
    district = admin.create_district("lt", "Load test")
    container.badges.set_grades(district, ["KG"], actor="test")
    out = tmp_path / "seed.json"
    seed_loadtest(container, district="lt", users=3, password="pw-for-load", out=out)
    first = json.loads(out.read_text())["badges"]
    assert len(first) == 3 and len(set(first)) == 3
    district = admin.district("lt")
    assert district.settings["badge_grades"] == ["03", "KG"]

    def user_of(payload: str) -> str:
        session = container.portal.sign_in_badge(district, payload, "198.51.100.7")
        with TenantScope(district.id), container.db.scoped() as uow:
            return uow.users.get(session.user_id).username

    assert [user_of(p) for p in first] == ["lt-user-00001", "lt-user-00002", "lt-user-00003"]

    seed_loadtest(container, district="lt", users=3, password="pw-for-load", out=out)
    second = json.loads(out.read_text())["badges"]
    assert not set(second) & set(first)
    assert user_of(second[1]) == "lt-user-00002"
    with pytest.raises(SignInFailed):
        user_of(first[1])


def test_seed_refuses_a_district_whose_user_of_that_name_is_not_a_load_test_student(
    container: Container, tmp_path: Path
) -> None:
    container.roster_admin.create_district("lt", "Load test")
    container.roster_admin.create_user(
        "lt", username="lt-user-00001", role=Role.TEACHER, password="pw-for-load"
    )
    with pytest.raises(Conflict, match="not an active grade-03 student"):
        seed_loadtest(container, district="lt", users=1, password="pw-for-load", out=tmp_path / "s")
    assert not (tmp_path / "s").exists()
