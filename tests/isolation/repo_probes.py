"""Repository probes: every public method of every tenant repository, called in district
A's unit of work with district B's identifiers.

Reads must find nothing (None, empty, NotFound, zero), writes must refuse or stay in A, and
the runner checks that B's rows are byte-for-byte unchanged afterwards. A new tenant
repository (a ``UnitOfWork`` attribute that refuses to exist without a district) or a new
public method fails ``test_every_tenant_repository_method_has_a_probe`` until a probe is
registered here with ``@repo_probe("<uow attribute>", "<method>")``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import true
from sqlalchemy.exc import IntegrityError

from homeroom.audit.models import AuditEvent
from homeroom.errors import Conflict, NotFound
from homeroom.identity.badges import hash_credential
from homeroom.identity.models import Badge
from homeroom.ids import new_id
from homeroom.roster.models import Enrollment, Role, School, Section, User
from homeroom.sharing.models import Connection
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql.roster_store import KIND_TABLES
from homeroom.storage.sql.tables import user_schools
from homeroom.storage.sql.tables_roster import user_agents
from homeroom.storage.sql.types import utcnow
from homeroom.storage.sql.uow import UnitOfWork
from homeroom.usage.models import Goal, UsageEvent, UsageKind
from tests.factories import refresh_token_row
from tests.isolation.world import World

__all__ = ["REPO_PROBES", "RepoProbe", "repo_probe"]

RepoProbe = Callable[[World, UnitOfWork], None]
REPO_PROBES: dict[tuple[str, str], RepoProbe] = {}


def repo_probe(*keys: tuple[str, str]) -> Callable[[RepoProbe], RepoProbe]:
    def register(fn: RepoProbe) -> RepoProbe:
        for key in keys:
            assert key not in REPO_PROBES, f"two probes for {key}"
            REPO_PROBES[key] = fn
        return fn

    return register


def _b_users(world: World) -> list[User]:
    return [world.b.student, world.b.teacher, world.b.admin]


# ---------------------------------------------------------------------- schools


@repo_probe(("schools", "get"), ("schools", "list"), ("schools", "count"))
def schools_read(world: World, uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        uow.schools.get(world.b.school.id)
    assert {s.district_id for s in uow.schools.list(limit=10_000)} == {world.a.district.id}
    assert uow.schools.count() == 1


@repo_probe(("schools", "add"))
def schools_add(world: World, uow: UnitOfWork) -> None:
    """Same id as B's school: a row of A (keys start with the district), B untouched."""
    uow.schools.add(School(district_id=world.b.district.id, id=world.b.school.id, name="A's"))
    assert uow.schools.get(world.b.school.id).district_id == world.a.district.id


# ---------------------------------------------------------------------- users


@repo_probe(("users", "get"), ("users", "by_username"), ("users", "password_hash"))
def users_lookup(world: World, uow: UnitOfWork) -> None:
    for user in _b_users(world):
        with pytest.raises(NotFound):
            uow.users.get(user.id)
        assert uow.users.by_username(user.username) is None
        assert uow.users.password_hash(user.id) is None


@repo_probe(("users", "list"), ("users", "count"))
def users_list(world: World, uow: UnitOfWork) -> None:
    for role in (None, Role.STUDENT, Role.TEACHER, Role.DISTRICT_ADMIN):
        found = uow.users.list(role=role, limit=10_000)
        assert found and {u.district_id for u in found} == {world.a.district.id}
        assert uow.users.count(role=role) == len(found)
        assert all(world.b.school.id not in u.school_ids for u in found)


@repo_probe(("users", "set_password_hash"), ("users", "delete"))
def users_write(world: World, uow: UnitOfWork) -> None:
    for user in _b_users(world):
        with pytest.raises(NotFound):
            uow.users.set_password_hash(user.id, "x")
        with pytest.raises(NotFound):
            uow.users.delete(user.id)


@repo_probe(("users", "add"))
def users_add(world: World, uow: UnitOfWork) -> None:
    """A user of A cannot be placed in B's school."""
    intruder = User(
        district_id=world.b.district.id,
        id=new_id("user"),
        role=Role.STUDENT,
        username="intruder",
        given_name="x",
        family_name="y",
        school_ids=(world.b.school.id,),
    )
    with pytest.raises((NotFound, Conflict)), uow.conn.begin_nested():
        uow.users.add(intruder)


# ---------------------------------------------------------------------- sections, enrollments


@repo_probe(("sections", "get"), ("sections", "list"), ("sections", "count"))
def sections_read(world: World, uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        uow.sections.get(world.b.section.id)
    assert {s.district_id for s in uow.sections.list(limit=10_000)} == {world.a.district.id}
    assert uow.sections.count() == 2  # the section and the class of the roster shapes


@repo_probe(("sections", "add"))
def sections_add(world: World, uow: UnitOfWork) -> None:
    section = Section(
        district_id=world.b.district.id,
        id=new_id("section"),
        school_id=world.b.school.id,  # B's school does not exist in A
        title="x",
    )
    with pytest.raises(Conflict):
        uow.sections.add(section)


@repo_probe(("enrollments", "for_section"), ("enrollments", "for_user"))
def enrollments_read(world: World, uow: UnitOfWork) -> None:
    assert uow.enrollments.for_section(world.b.section.id) == []
    for user in _b_users(world):
        assert uow.enrollments.for_user(user.id) == []


@repo_probe(("enrollments", "add"))
def enrollments_add(world: World, uow: UnitOfWork) -> None:
    enrollment = Enrollment(
        district_id=world.b.district.id,
        id=new_id("enrollment"),
        section_id=world.b.section.id,
        user_id=world.b.student.id,
        role=Role.STUDENT,
    )
    with pytest.raises(Conflict):
        uow.enrollments.add(enrollment)


# ---------------------------------------------------------------------- connections


@repo_probe(("connections", "find"), ("connections", "get"), ("connections", "list"))
def connections_read(world: World, uow: UnitOfWork) -> None:
    assert uow.connections.find(world.b.app.id) is None
    with pytest.raises(NotFound):
        uow.connections.get(world.b.app.id)
    assert {c.app_id for c in uow.connections.list()} == {world.a.app.id, world.shared_app.id}
    shared = uow.connections.get(world.shared_app.id)
    assert shared.district_id == world.a.district.id


@repo_probe(("connections", "delete"))
def connections_delete(world: World, uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        uow.connections.delete(world.b.app.id)


@repo_probe(("connections", "put"))
def connections_put(world: World, uow: UnitOfWork) -> None:
    """Putting B's app into A's district creates A's connection; B's stays as it was
    (the runner compares B's rows)."""
    uow.connections.put(Connection(district_id=world.b.district.id, app_id=world.b.app.id))
    assert uow.connections.get(world.b.app.id).district_id == world.a.district.id


# ---------------------------------------------------------------------- audit


@repo_probe(("audit", "list"))
def audit_list(world: World, uow: UnitOfWork) -> None:
    for action in (None, "user.create", "signin.success", "app.token"):
        events = uow.audit.list(action=action, since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        assert {e.district_id for e in events} <= {world.a.district.id}
        b_ids = set(world.b.identifiers())
        assert not any(e.target_id in b_ids or e.actor.split(":")[-1] in b_ids for e in events)


@repo_probe(("audit", "append"))
def audit_append(world: World, uow: UnitOfWork) -> None:
    event = uow.audit.append(
        AuditEvent(actor="probe", action="probe", district_id=world.b.district.id)
    )
    assert event.district_id == world.a.district.id


@repo_probe(("audit", "append_many"))
def audit_append_many(world: World, uow: UnitOfWork) -> None:
    """A batch naming B's district lands in A's log (the unit of work's district wins)."""
    uow.audit.append_many(
        [AuditEvent(actor="probe", action="probe.batch", district_id=world.b.district.id)] * 2
    )
    events = uow.audit.list(action="probe.batch")
    assert len(events) >= 2 and {e.district_id for e in events} == {world.a.district.id}


# ---------------------------------------------------------------------- OpenID Provider


def _hash(token: str) -> str:
    from homeroom.oidc.refresh import hash_token

    return hash_token(token)


@repo_probe(
    ("refresh_tokens", "find"),
    ("refresh_tokens", "mark_rotated"),
    ("refresh_tokens", "rotate"),
    ("refresh_tokens", "rotate_shared"),
    ("refresh_tokens", "revoke_family"),
)
def refresh_tokens_b(world: World, uow: UnitOfWork) -> None:
    token_hash = _hash(str(world.b.own_tokens["refresh_token"]))
    assert uow.refresh_tokens.find(token_hash) is None
    assert uow.refresh_tokens.mark_rotated(token_hash, utcnow()) is False
    assert uow.refresh_tokens.rotate(token_hash, utcnow()) is None
    a_policy = SharingPolicy.of(uow.connections.get(world.shared_app.id), utcnow())
    assert uow.refresh_tokens.rotate_shared(token_hash, utcnow(), a_policy) is None
    assert world.b_families  # read in B's own scope when the world was built
    for family in world.b_families:
        assert uow.refresh_tokens.revoke_family(family, utcnow()) == []


@repo_probe(("refresh_tokens", "delete_expired"))
def refresh_tokens_delete(world: World, uow: UnitOfWork) -> None:
    """Deleting "everything expired before the year 3000" deletes only A's tokens."""
    assert uow.refresh_tokens.delete_expired(dt.datetime(3000, 1, 1, tzinfo=dt.UTC)) >= 1


@repo_probe(("refresh_tokens", "add"))
def refresh_tokens_add(world: World, uow: UnitOfWork) -> None:
    row = refresh_token_row(
        world.b.district.id,
        world.b.student.id,
        _hash("probe" + new_id("key")),
        client_id=world.b.app.id,
        family_id="fam",
    )
    uow.refresh_tokens.add(row)
    found = uow.refresh_tokens.find(row.token_hash)
    assert found is not None and found.district_id == world.a.district.id


@repo_probe(("sign_in_users", "find"))
def sign_in_users_find(world: World, uow: UnitOfWork) -> None:
    for user in _b_users(world):
        assert uow.sign_in_users.find(user.id) is None
    found = uow.sign_in_users.find(world.a.student.id)
    assert found is not None and found.district_id == world.a.district.id


@repo_probe(("sign_in_users", "find_shared"))
def sign_in_users_find_shared(world: World, uow: UnitOfWork) -> None:
    """B's users are not found under A's policy for the shared app, nor under B's own
    connection's policy (the district filter comes from the scope, not the policy)."""
    now = dt.datetime.now(dt.UTC)
    a_policy = SharingPolicy.of(uow.connections.get(world.shared_app.id), now)
    assert a_policy is not None
    b_policy = dataclasses.replace(a_policy, district_id=world.b.district.id)
    for user in _b_users(world):
        for policy in (a_policy, b_policy, None):
            assert uow.sign_in_users.find_shared(user.id, policy) == (None, False)
    found, shared = uow.sign_in_users.find_shared(world.a.student.id, a_policy)
    assert found is not None and found.district_id == world.a.district.id and shared


@repo_probe(("sign_in_users", "credentials"))
def sign_in_users_credentials(world: World, uow: UnitOfWork) -> None:
    """A username of B, asked in A's scope, is never B's account (nor B's password hash)."""
    for user in _b_users(world):
        found = uow.sign_in_users.credentials(user.username)
        assert found is None or (
            found[0].id != user.id and found[0].district_id == world.a.district.id
        )
    found = uow.sign_in_users.credentials(world.a.student.username)
    assert found is not None and found[0].id == world.a.student.id and found[1]


# ---------------------------------------------------------------------- badges


def _b_badge_hash(world: World) -> str:
    credential = world.b.badge_payload.rpartition(".")[2]
    return hash_credential(world.container.badges.key, world.b.district.id, credential)


@repo_probe(
    ("badges", "get"),
    ("badges", "by_hash"),
    ("badges", "for_user"),
    ("badges", "count_active"),
    ("badges", "user_ids_in_school"),
)
def badges_read(world: World, uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        uow.badges.get(world.b.badge_id)
    assert uow.badges.by_hash(_b_badge_hash(world)) is None
    # B's credential hashed under A's key material is just as unknown.
    credential = world.b.badge_payload.rpartition(".")[2]
    a_hash = hash_credential(world.container.badges.key, world.a.district.id, credential)
    assert uow.badges.by_hash(a_hash) is None
    assert uow.badges.for_user(world.b.student.id) == []
    assert uow.badges.count_active() == 1  # A's student's badge only
    assert uow.badges.user_ids_in_school(world.b.school.id) == []
    mine = uow.badges.for_user(world.a.student.id)
    assert [b.id for b in mine] == [world.a.badge_id]


@repo_probe(("badges", "void"), ("badges", "void_for_users"), ("badges", "void_all"))
def badges_void(world: World, uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        uow.badges.void(world.b.badge_id, utcnow())
    assert uow.badges.void_for_users([u.id for u in _b_users(world)], utcnow()) == 0
    assert uow.badges.void_all(utcnow()) == 1  # A's one badge; B's stays active (runner)


@repo_probe(("badges", "add"))
def badges_add(world: World, uow: UnitOfWork) -> None:
    """A badge for B's student cannot be added in A (composite foreign key to A's users)."""
    badge = Badge(
        district_id=world.b.district.id,
        id=new_id("badge"),
        user_id=world.b.student.id,
        credential_hash="x",
        status="active",
        created_by="probe",
        created_at=utcnow(),
    )
    with pytest.raises((NotFound, Conflict, IntegrityError)), uow.conn.begin_nested():
        uow.badges.add(badge)


# ---------------------------------------------------------------------- roster store

_KINDS = ("org", "school", "term", "course", "section", "user", "demographics", "enrollment")


def _b_roster_refs(world: World) -> list[str]:
    b = world.b
    return [
        *b.roster_ids,
        b.school.id,
        b.section.id,
        b.enrollment.id,
        *(u.id for u in _b_users(world)),
        f"org-{b.marker}",
        f"term-{b.marker}",
        f"course-{b.marker}",
        f"demo-{b.marker}",
        b.marker,
    ]


@repo_probe(
    ("roster", "snapshot"),
    ("roster", "usernames"),
    ("roster", "rows_by_id"),
    ("roster", "ids_where"),
    ("roster", "count_where"),
    ("roster", "resolve"),
    ("roster", "max_event_seq"),
    ("roster", "events"),
    ("roster", "import_runs"),
)
def roster_read(world: World, uow: UnitOfWork) -> None:
    refs = _b_roster_refs(world)
    b_ids = set(world.b.identifiers())
    store = uow.roster
    for kind in _KINDS:
        table, _ = KIND_TABLES[kind]
        snap = store.snapshot(kind)
        assert not any(world.b.marker in sid for sid in snap)
        assert not any(v[0] in b_ids for v in snap.values())
        assert store.rows_by_id(kind, refs) == {}
        assert store.resolve(kind, refs) == {}
        assert not store.ids_where(kind, true()) & b_ids
        assert store.count_where(kind, true()) == len(store.ids_where(kind, true()))
        assert store.count_where(kind, table.c.sourced_id.in_(refs)) == 0
    assert not any(world.b.marker in name for name in store.usernames())
    assert store.max_event_seq() == 1  # A's one event
    for app in (None, world.b.app.id, world.shared_app.id):
        events = store.events(app_id=app, limit=10_000)
        assert {e["district_id"] for e in events} == {world.a.district.id}
        assert not {e["id"] for e in events} & b_ids
    runs = store.import_runs(limit=1000)
    assert [r["district_id"] for r in runs] == [world.a.district.id]
    assert not {r["id"] for r in runs} & b_ids


@repo_probe(
    ("roster", "update"),
    ("roster", "mark_deleted"),
    ("roster", "touch"),
    ("roster", "touch_all"),
    ("roster", "release_usernames"),
    ("roster", "replace_links"),
    ("roster", "prepare_bulk"),
    ("roster", "finish_bulk"),
)
def roster_write_b(world: World, uow: UnitOfWork) -> None:
    """Updates, deletions and link replacement aimed at B's ids change nothing of B (the
    runner compares B's rows); touch_all only touches A's."""
    store = uow.roster
    store.prepare_bulk()
    now = utcnow()
    b = world.b
    org, term, course = b.roster_ids[:3]
    store.update("org", [{"_key": org, "name": "hijacked"}])
    store.update("course", [{"_key": course, "title": "hijacked"}])
    store.update("user", [{"_key": u.id, "given_name": "hijacked"} for u in _b_users(world)])
    for kind, ids in (
        ("org", [org]),
        ("term", [term]),
        ("course", [course]),
        ("school", [b.school.id]),
        ("section", [b.section.id]),
        ("user", [u.id for u in _b_users(world)]),
        ("demographics", [b.student.id]),
        ("enrollment", [b.enrollment.id]),
    ):
        store.mark_deleted(kind, ids, now)
        store.touch(kind, ids, now)
        store.touch_all(kind, now)
    store.release_usernames([u.username for u in _b_users(world)], {})
    store.replace_links(user_agents, "user_id", [b.student.id])
    store.replace_links(user_schools, "user_id", [u.id for u in _b_users(world)])
    store.finish_bulk()
    with pytest.raises(NotFound):
        uow.users.get(b.student.id)


@repo_probe(
    ("roster", "insert"),
    ("roster", "insert_links"),
    ("roster", "append_events"),
    ("roster", "record_run"),
)
def roster_insert(world: World, uow: UnitOfWork) -> None:
    """Rows that name B's district are written as A's (the store stamps the district), and
    links to B's users are refused by the composite foreign keys."""
    store = uow.roster
    now = utcnow()
    org = new_id("org")
    store.insert(
        "org",
        [
            {
                "district_id": world.b.district.id,
                "id": org,
                "sourced_id": "probe-org",
                "name": "probe",
                "type": "school",
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    assert store.resolve("org", [org]) == {org: org}
    store.append_events(
        [
            {
                "district_id": world.b.district.id,
                "id": new_id("event"),
                "seq": 2,
                "at": now,
                "action": "created",
                "record_type": "org",
                "record_id": org,
                "app_id": None,
                "import_id": None,
                "changed": None,
            }
        ]
    )
    assert store.max_event_seq() == 2
    run = new_id("import")
    store.record_run(
        {
            "district_id": world.b.district.id,
            "id": run,
            "started_at": now,
            "finished_at": now,
            "source": "probe",
            "version": "1.1",
            "modes": {},
            "counts": {},
            "warnings": [],
            "actor": "probe",
        }
    )
    assert run in {r["id"] for r in store.import_runs()}
    assert {r["district_id"] for r in store.import_runs()} == {world.a.district.id}
    with pytest.raises(IntegrityError), uow.conn.begin_nested():
        store.insert_links(
            user_agents, [{"user_id": world.b.student.id, "agent_id": world.b.teacher.id}]
        )


# ---------------------------------------------------------------------- usage

_EVER = (dt.date(2000, 1, 1), dt.date(2100, 1, 1))


def _b_usage(world: World) -> tuple[list[str], str]:
    """B's usage event ids and goal id (seeded by ``world._seed_usage``)."""
    *events, goal = world.b.usage_ids
    return events, goal


@repo_probe(
    ("usage_events", "get"),
    ("usage_events", "totals_by_day"),
    ("usage_events", "latest_received"),
    ("usage_events", "count_received"),
)
def usage_events_read(world: World, uow: UnitOfWork) -> None:
    events, _ = _b_usage(world)
    for event_id in events:
        assert uow.usage_events.get(world.b.app.id, event_id) is None
        assert uow.usage_events.get(world.a.app.id, event_id) is None
    totals = uow.usage_events.totals_by_day(*_EVER)
    assert totals and {user for user, _, _ in totals} == {world.a.student.id}
    assert set(uow.usage_events.latest_received()) == {world.a.app.id}
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert uow.usage_events.count_received(start, start.replace(year=2100)) == 2


@repo_probe(("usage_events", "add"))
def usage_events_add(world: World, uow: UnitOfWork) -> None:
    """B's student cannot be given usage in A; B's app and event ids name a row of A."""
    events, _ = _b_usage(world)
    now = utcnow()

    def event(user_id: str) -> UsageEvent:
        return UsageEvent(
            district_id=world.b.district.id,
            app_id=world.b.app.id,
            event_id=events[0],
            user_id=user_id,
            kind=UsageKind.MINUTES,
            minutes=1,
            progress=None,
            occurred_at=now,
            received_at=now,
        )

    with pytest.raises(NotFound):
        uow.usage_events.add(event(world.b.student.id))
    assert uow.usage_events.add(event(world.a.student.id)) is True
    stored = uow.usage_events.get(world.b.app.id, events[0])
    assert stored is not None and stored.district_id == world.a.district.id


@repo_probe(("usage_events", "delete_before"), ("usage_events", "delete_for_user"))
def usage_events_delete(world: World, uow: UnitOfWork) -> None:
    for user in _b_users(world):
        assert uow.usage_events.delete_for_user(user.id) == 0
    assert uow.usage_events.delete_before(_EVER[1]) == 2  # A's two seeded events, not B's


@repo_probe(
    ("usage_rollups", "for_user"),
    ("usage_rollups", "minutes_by_user"),
    ("usage_rollups", "adoption"),
    ("usage_rollups", "totals_by_day"),
)
def usage_rollups_read(world: World, uow: UnitOfWork) -> None:
    rollups = uow.usage_rollups
    b_ids = [u.id for u in _b_users(world)]
    for user_id in b_ids:
        assert rollups.for_user(user_id) == []
    for app_id in (world.b.app.id, world.a.app.id, world.shared_app.id):
        assert rollups.minutes_by_user(b_ids, app_id, *_EVER) == {}
    adoption = rollups.adoption(*_EVER)
    assert [(a.app_id, a.active_students, a.minutes) for a in adoption] == [(world.a.app.id, 1, 17)]
    assert {user for user, _, _ in rollups.totals_by_day(*_EVER)} == {world.a.student.id}


@repo_probe(("usage_rollups", "add"))
def usage_rollups_add(world: World, uow: UnitOfWork) -> None:
    """A rollup for B's student is refused (composite foreign key); B's rollup unchanged."""
    with pytest.raises(IntegrityError), uow.conn.begin_nested():
        uow.usage_rollups.add(
            world.b.student.id,
            world.b.app.id,
            utcnow().date(),
            minutes=100,
            events=1,
            progress=1.0,
            at=utcnow(),
        )


@repo_probe(("usage_rollups", "delete_before"), ("usage_rollups", "delete_for_user"))
def usage_rollups_delete(world: World, uow: UnitOfWork) -> None:
    for user in _b_users(world):
        assert uow.usage_rollups.delete_for_user(user.id) == 0
    assert uow.usage_rollups.delete_before(_EVER[1]) == 1  # A's one rollup


@repo_probe(("usage_goals", "get"), ("usage_goals", "for_sections"), ("usage_goals", "delete"))
def usage_goals_b(world: World, uow: UnitOfWork) -> None:
    _, goal = _b_usage(world)
    with pytest.raises(NotFound):
        uow.usage_goals.get(goal)
    with pytest.raises(NotFound):
        uow.usage_goals.delete(goal)
    assert uow.usage_goals.for_sections([world.b.section.id]) == []
    mine = uow.usage_goals.for_sections([world.a.section.id, world.b.section.id])
    assert [g.district_id for g in mine] == [world.a.district.id]


@repo_probe(("usage_goals", "add"))
def usage_goals_add(world: World, uow: UnitOfWork) -> None:
    """A goal of A cannot point at B's section; B's goal id names a goal of A."""
    _, goal_id = _b_usage(world)
    today = utcnow().date()

    def goal(section_id: str) -> Goal:
        return Goal(
            world.b.district.id, goal_id, section_id, world.b.app.id, 5, today, today, "x", utcnow()
        )

    with pytest.raises(Conflict), uow.conn.begin_nested():
        uow.usage_goals.add(goal(world.b.section.id))
    uow.usage_goals.add(goal(world.a.section.id))
    assert uow.usage_goals.get(goal_id).district_id == world.a.district.id


# --- rosterperf: the import's set-based event writer and its pipeline -----------------


@repo_probe(("roster", "append_import_events"), ("roster", "sync"))
def roster_import_events(world: World, uow: UnitOfWork) -> None:
    """Import events are stamped with A's district whatever they name (on PostgreSQL the
    server builds the rows, still under A's policy); B's log is untouched."""
    store = uow.roster
    now = utcnow()
    first = store.max_event_seq() + 1
    ids = [new_id("event"), new_id("event")]
    events = [
        ("created", "user", world.b.student.id, None),
        ("updated", "user", world.b.teacher.id, ["family_name"]),
    ]
    store.append_import_events(new_id("import"), now, first, ids, events)
    store.sync()
    rows = store.events(after_seq=first - 1)
    assert [r["id"] for r in rows] == ids
    assert {r["district_id"] for r in rows} == {world.a.district.id}
    assert rows[1]["changed"] == ["family_name"]
