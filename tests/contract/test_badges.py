"""QR badges on SQLite and PostgreSQL: keyed-hash storage, void/regenerate/void-all, grades,
district binding, audit. The credential itself must never reach the database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from homeroom.errors import InvalidInput, NotFound
from homeroom.identity.badges import (
    badge_payload,
    credential_from_payload,
    hash_credential,
)
from homeroom.roster.models import District, Role, User
from homeroom.storage.sql.tables_portal import badges
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container


@dataclass
class World:
    container: Container
    a: District
    b: District
    kid: User
    older: User
    b_kid: User


@pytest.fixture
def world(container: Container) -> World:
    admin = container.roster_admin
    a = admin.create_district("badge-a", "Badge A")
    b = admin.create_district("badge-b", "Badge B")
    kid = admin.create_user("badge-a", username="kid", role=Role.STUDENT, grade="KG")
    older = admin.create_user("badge-a", username="older", role=Role.STUDENT, grade="05")
    b_kid = admin.create_user("badge-b", username="kid", role=Role.STUDENT, grade="KG")
    a = container.badges.set_grades(a, ["KG"], actor="test")
    b = container.badges.set_grades(b, ["KG"], actor="test")
    return World(container, a, b, kid, older, b_kid)


def _credential(payload: str, slug: str) -> str:
    credential = credential_from_payload(payload, slug)
    assert credential is not None
    return credential


def test_issue_stores_only_a_keyed_hash(world: World) -> None:
    service = world.container.badges
    [issued] = service.issue(world.a, [world.kid], actor="test")
    credential = _credential(issued.payload, "badge-a")
    assert len(credential) == 32  # 24 random bytes: 192 bits
    assert world.kid.username not in issued.payload and world.kid.id not in issued.payload
    with TenantScope(world.a.id), world.container.db.scoped() as uow:
        rows = [tuple(r) for r in uow.conn.execute(select(badges))]
    assert len(rows) == 1
    assert not any(credential in str(value) for value in rows[0])
    assert issued.badge.credential_hash == hash_credential(service.key, world.a.id, credential)
    assert service.authenticate(world.a, credential) == world.kid


def test_void_stops_a_badge_at_once(world: World) -> None:
    service = world.container.badges
    [issued] = service.issue(world.a, [world.kid], actor="test")
    credential = _credential(issued.payload, "badge-a")
    assert service.void(world.a, issued.badge.id, actor="test") is True
    assert service.authenticate(world.a, credential) is None
    assert service.void(world.a, issued.badge.id, actor="test") is False
    with TenantScope(world.a.id), world.container.db.scoped() as uow:
        actions = [e.action for e in uow.audit.list() if e.action.startswith("badge.")]
    assert actions == ["badge.grades", "badge.create", "badge.void", "badge.void"]


def test_regenerate_voids_the_previous_badge(world: World) -> None:
    service = world.container.badges
    [first] = service.issue(world.a, [world.kid], actor="test")
    [second] = service.issue(world.a, [world.kid], actor="test")
    assert service.authenticate(world.a, _credential(first.payload, "badge-a")) is None
    assert service.authenticate(world.a, _credential(second.payload, "badge-a")) == world.kid


def test_void_all_is_year_end_for_one_district_only(world: World) -> None:
    service = world.container.badges
    [a_badge] = service.issue(world.a, [world.kid], actor="test")
    [b_badge] = service.issue(world.b, [world.b_kid], actor="test")
    assert service.void_all(world.a, actor="test") == 1
    assert service.authenticate(world.a, _credential(a_badge.payload, "badge-a")) is None
    assert service.authenticate(world.b, _credential(b_badge.payload, "badge-b")) == world.b_kid


def test_a_badge_is_bound_to_its_district(world: World) -> None:
    service = world.container.badges
    [issued] = service.issue(world.a, [world.kid], actor="test")
    credential = _credential(issued.payload, "badge-a")
    assert service.authenticate(world.b, credential) is None
    # The payload names its portal: B's badge page does not even accept A's payload.
    assert credential_from_payload(issued.payload, "badge-b") is None
    with pytest.raises(NotFound):
        service.issue(world.b, [world.kid], actor="test")
    with pytest.raises(NotFound):
        service.void_user(world.b, world.kid.id, actor="test")


def test_grades_decide_who_may_use_badges(world: World) -> None:
    service = world.container.badges
    with pytest.raises(InvalidInput):
        service.issue(world.a, [world.older], actor="test")
    [issued] = service.issue(world.a, [world.kid], actor="test")
    credential = _credential(issued.payload, "badge-a")
    a = service.set_grades(world.a, ["05"], actor="test")  # Kindergarten badges turned off
    assert service.authenticate(a, credential) is None
    a = service.set_grades(a, ["KG", "05"], actor="test")
    assert service.authenticate(a, credential) == world.kid


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "hrb1.short",
        "http://x/d/badge-a/badge#hrb1." + "A" * 31 + "!",
        "http://x/d/badge-ab/badge#hrb1." + "A" * 32,
        "http://x/d/other/badge-a/badge#hrb2." + "A" * 32,
        "x" * 5000,
    ],
)
def test_malformed_payloads_carry_no_credential(payload: str) -> None:
    assert credential_from_payload(payload, "badge-a") is None


def test_payload_forms() -> None:
    credential = "B" * 32
    assert credential_from_payload(badge_payload("https://h", "s", credential), "s") == credential
    assert credential_from_payload("hrb1." + credential, "s") == credential
