"""The data-access audit log across districts: each event lands in the district it concerns
and nowhere else, and a district admin lists and exports exactly their own district's."""

from __future__ import annotations

import csv
import io

from homeroom.audit.models import AuditEvent
from homeroom.tenancy import TenantScope
from tests.isolation.portal_probes import _csrf
from tests.isolation.world import World


def _events(world: World, district_id: str, action: str) -> list[AuditEvent]:
    with TenantScope(district_id), world.container.db.scoped() as uow:
        return list(uow.audit.list(action=action))


def test_badge_sign_in_success_and_failure_are_audited_in_the_portals_district(
    world: World,
) -> None:
    slug = world.a.district.slug
    for payload, status in ((world.a.badge_payload, 303), (world.b.badge_payload, 401)):
        browser = world.browser()
        token = _csrf(browser, f"/d/{slug}/badge")
        r = browser.post(
            f"/d/{slug}/badge",
            data={"payload": payload, "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == status, r.text[:300]
    got = [(e.outcome, e.target_id) for e in _events(world, world.a.district.id, "signin.badge")]
    assert got == [("success", world.a.student.id), ("failure", None)]
    assert _events(world, world.b.district.id, "signin.badge") == []  # B's badge, A's portal


def test_badge_void_all_is_audited(world: World) -> None:
    admin = world.a.admin_client
    assert admin is not None
    slug = world.a.district.slug
    token = _csrf(admin, f"/d/{slug}/badges")
    r = admin.post(
        f"/d/{slug}/badges/void-all",
        data={"confirm": "yes", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    (event,) = _events(world, world.a.district.id, "badge.void_all")
    assert event.actor == f"user:{world.a.admin.id}"
    assert _events(world, world.b.district.id, "badge.void_all") == []


def test_a_district_admin_lists_and_exports_exactly_their_own_districts_events(
    world: World,
) -> None:
    admin = world.a.admin_client
    assert admin is not None
    with TenantScope(world.a.district.id), world.container.db.scoped() as uow:
        mine = {e.id for e in uow.audit.list()}
    with TenantScope(world.b.district.id), world.container.db.scoped() as uow:
        theirs = {e.id for e in uow.audit.list()}
    assert mine and theirs
    listed = admin.get("/api/v1/audit", params={"limit": 1000}).json()["events"]
    assert {e["district_id"] for e in listed} == {world.a.district.id}
    assert mine <= {e["id"] for e in listed}
    exported = admin.get("/api/v1/audit", params={"format": "csv", "limit": 1000})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["district_id"] for row in rows} == {world.a.district.id}
    assert mine <= {row["id"] for row in rows} and not theirs & {row["id"] for row in rows}
    world.assert_clean(exported)
