"""Narrowing at the edge: one district per request, rights = role ∩ district, and tenant
data outside a scope is a loud 500 (never "all districts")."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, Request
from sqlalchemy import select

from homeroom.ops.metrics import SERVER_ERRORS
from homeroom.storage.sql.all_tables import tenant_tables
from homeroom.tenancy import Capability, RequestScope, TenantScope, current_district
from homeroom.tenancy.rights import ROLE_CAPABILITIES, district_allows
from homeroom.web.tenant import RequireScope
from homeroom.wiring import Container
from tests.isolation.world import World


def _tenant_errors() -> float:
    return float(SERVER_ERRORS.labels(kind="tenant_scope")._value.get())


def test_rights_are_role_intersect_district() -> None:
    scope = RequestScope.narrowed(
        district_id="dis_x",
        actor="user:usr_x",
        role="district_admin",
        granted=ROLE_CAPABILITIES["district_admin"],
        district_settings={"disabled_capabilities": ["audit.read", "badges.print"]},
        via="session",
    )
    assert not scope.can(Capability.AUDIT_READ) and not scope.can(Capability.BADGES_PRINT)
    assert scope.can(Capability.ROSTER_WRITE)
    assert district_allows({}) == frozenset(Capability)
    student = ROLE_CAPABILITIES["student"] & district_allows({})
    assert student == {Capability.PROFILE_READ}


def test_a_district_that_disables_a_capability_narrows_its_admin(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    assert admin.get("/api/v1/audit").status_code == 200
    with world.container.db.platform() as uow:
        uow.districts.update_settings(
            world.a.district.id,
            {**world.a.district.settings, "disabled_capabilities": ["audit.read"]},
        )
    world.container.oidc.clients.invalidate()
    assert admin.get("/api/v1/audit").status_code == 403
    other = world.b.admin_client
    assert other is not None and other.get("/api/v1/audit").status_code == 200


def test_handler_runs_inside_the_resolved_district(world: World) -> None:
    seen: list[str | None] = []

    @world.app.get("/__probe/district")
    def probe(
        scope: Annotated[RequestScope, Depends(RequireScope(Capability.PROFILE_READ))],
    ) -> dict[str, str | None]:
        seen.append(current_district())
        return {"district": current_district()}

    student = world.a.student_client
    assert student is not None
    assert student.get("/__probe/district").json() == {"district": world.a.district.id}
    assert seen == [world.a.district.id]
    assert current_district() is None  # nothing leaks out of the request
    assert world.browser().get("/__probe/district").status_code == 401


@pytest.mark.usefixtures("allow_tenant_scope_errors")
def test_tenant_data_outside_a_scope_is_a_500_and_a_metric(world: World) -> None:
    @world.app.get("/__probe/unscoped")
    def unscoped(request: Request) -> dict[str, int]:
        container: Container = request.app.state.container
        with container.db.scoped() as uow:  # forgot the scope: must fail loudly
            return {"n": uow.users.count()}

    @world.app.get("/__probe/platform")
    def platform(request: Request) -> dict[str, int]:
        container: Container = request.app.state.container
        with container.db.platform() as uow:  # a platform transaction asks for tenant rows
            return {"n": uow.users.count()}

    for path in ("/__probe/unscoped", "/__probe/platform"):
        before = _tenant_errors()
        r = world.browser().get(path)
        assert r.status_code == 500 and r.json()["error"] == "server_error", r.text
        assert _tenant_errors() == before + 1
        world.assert_clean(r)


def test_world_seeds_every_tenant_table(world: World) -> None:
    """A new tenant table must be seeded for both districts (world.py) so that every probe
    runs against real rows of B."""
    empty = []
    for tenant_ in (world.a, world.b):
        with TenantScope(tenant_.district.id), world.container.db.scoped() as uow:
            for table in tenant_tables():
                row = uow.conn.execute(select(table).limit(1)).first()
                if row is None:
                    empty.append((tenant_.district.slug, table.name))
    assert empty == [], f"tenant tables with no rows in the isolation world: {empty}"


def test_portal_path_and_bearer_resolve_one_district(world: World) -> None:
    """``/d/<slug>/…`` must match the session's district (else the unknown-slug 404); a
    bearer token's district claim wins and is checked against a live connection."""

    @world.app.get("/d/{district_slug}/__probe")
    def portal(
        district_slug: str,
        scope: Annotated[RequestScope, Depends(RequireScope(Capability.PROFILE_READ))],
    ) -> dict[str, str | None]:
        return {"district": current_district(), "via": scope.via}

    @world.app.get("/__probe/roster")
    def roster(
        scope: Annotated[RequestScope, Depends(RequireScope(Capability.ROSTER_READ))],
    ) -> dict[str, str | None]:
        return {"district": current_district(), "actor": scope.actor}

    student = world.a.student_client
    assert student is not None
    mine = student.get(f"/d/{world.a.district.slug}/__probe")
    assert mine.json() == {"district": world.a.district.id, "via": "portal"}
    other = student.get(f"/d/{world.b.district.slug}/__probe")
    nowhere = student.get("/d/no-such-district/__probe")
    assert other.status_code == nowhere.status_code == 404
    assert other.json() == nowhere.json()
    world.assert_clean(other, sent=[world.b.district.slug])

    browser = world.browser()
    token = world.a.service_token
    r = browser.get("/__probe/roster", headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"district": world.a.district.id, "actor": f"app:{world.a.app.id}"}
    named_b = browser.get(
        "/__probe/roster",
        params={"district": world.b.district.slug},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert named_b.status_code == 404
    world.assert_clean(named_b, sent=[world.b.district.slug])
    user_token = world.a.shared_tokens["access_token"]  # openid scopes: no roster.read
    refused = browser.get("/__probe/roster", headers={"Authorization": f"Bearer {user_token}"})
    assert refused.status_code == 403
    forged = browser.get("/__probe/roster", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401
