"""The repository contract, run on SQLite and PostgreSQL (as the application role)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from homeroom.audit.models import AuditEvent
from homeroom.errors import Conflict, NotFound, TenantScopeError
from homeroom.ids import new_id
from homeroom.roster.models import District, Enrollment, Role, School, Section, User
from homeroom.sharing.models import App, Connection, FieldGroup, ScopeMode
from homeroom.storage.sql import Database
from homeroom.storage.sql.tables import audit_events
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from tests.factories import refresh_token_row


def make_district(db: Database, slug: str) -> District:
    d = District(new_id("district"), slug, slug.title(), {"login_methods": ["password"]}, utcnow())
    with db.platform() as uow:
        uow.districts.add(d)
    return d


def make_user(district: District, username: str, role: Role = Role.STUDENT, **kw: object) -> User:
    return User(district.id, new_id("user"), role, username, username.title(), "Test", **kw)  # type: ignore[arg-type]


@pytest.fixture
def two(db: Database) -> tuple[District, District]:
    return make_district(db, "alpha"), make_district(db, "beta")


def test_districts_add_get_by_slug(db: Database) -> None:
    d = make_district(db, "springfield")
    with db.platform() as uow:
        assert uow.districts.get(d.id) == d
        assert uow.districts.by_slug("springfield") == d
        assert uow.districts.by_slug("shelbyville") is None
        assert [x.slug for x in uow.districts.list()] == ["springfield"]
        uow.districts.update_settings(d.id, {"login_methods": ["badge"]})
        assert uow.districts.get(d.id).settings == {"login_methods": ["badge"]}
        with pytest.raises(NotFound):
            uow.districts.get(new_id("district"))


def test_district_slug_is_unique(db: Database) -> None:
    make_district(db, "dup")
    with pytest.raises(Conflict):
        make_district(db, "dup")


def test_users_roundtrip_with_schools(db: Database, two: tuple[District, District]) -> None:
    a, _ = two
    school = School(a.id, new_id("school"), "North Elementary", sourced_id="s1")
    user = make_user(a, "ava", email="ava@example.org", grade="03", school_ids=(school.id,))
    with TenantScope(a.id), db.scoped() as uow:
        uow.schools.add(school)
        uow.users.add(user, password_hash="hash-1")
    with TenantScope(a.id), db.scoped() as uow:
        assert uow.users.get(user.id) == user
        assert uow.users.by_username("ava") == user
        assert uow.users.by_username("nobody") is None
        assert uow.users.password_hash(user.id) == "hash-1"
        uow.users.set_password_hash(user.id, "hash-2")
        assert uow.users.password_hash(user.id) == "hash-2"
        assert uow.schools.get(school.id) == school
        assert uow.schools.count() == 1


def test_username_unique_per_district_not_globally(
    db: Database, two: tuple[District, District]
) -> None:
    a, b = two
    with TenantScope(a.id), db.scoped() as uow:
        uow.users.add(make_user(a, "sam"))
    with TenantScope(b.id), db.scoped() as uow:
        uow.users.add(make_user(b, "sam"))  # same name, other district: fine
    with TenantScope(a.id), db.scoped() as uow, pytest.raises(Conflict):
        uow.users.add(make_user(a, "sam"))


def test_users_list_paging_and_role_filter(db: Database, two: tuple[District, District]) -> None:
    a, _ = two
    users = [make_user(a, f"s{i:02d}") for i in range(7)] + [make_user(a, "t1", Role.TEACHER)]
    with TenantScope(a.id), db.scoped() as uow:
        for u in users:
            uow.users.add(u)
    with TenantScope(a.id), db.scoped() as uow:
        assert uow.users.count() == 8
        assert uow.users.count(role=Role.TEACHER) == 1
        first = uow.users.list(role=Role.STUDENT, limit=4)
        rest = uow.users.list(role=Role.STUDENT, limit=4, after=first[-1].id)
        ids = [u.id for u in first + rest]
        assert ids == sorted(u.id for u in users if u.role is Role.STUDENT)
        uow.users.delete(users[0].id)
        assert uow.users.count() == 7
        with pytest.raises(NotFound):
            uow.users.delete(users[0].id)


def test_sections_and_enrollments(db: Database, two: tuple[District, District]) -> None:
    a, _ = two
    school = School(a.id, new_id("school"), "North")
    section = Section(a.id, new_id("section"), school.id, "Math 3", subject="Math", grade="03")
    student, teacher = make_user(a, "kid"), make_user(a, "teach", Role.TEACHER)
    with TenantScope(a.id), db.scoped() as uow:
        uow.schools.add(school)
        uow.sections.add(section)
        uow.users.add(student)
        uow.users.add(teacher)
        e1 = Enrollment(a.id, new_id("enrollment"), section.id, student.id, Role.STUDENT)
        e2 = Enrollment(a.id, new_id("enrollment"), section.id, teacher.id, Role.TEACHER)
        uow.enrollments.add(e1)
        uow.enrollments.add(e2)
    with TenantScope(a.id), db.scoped() as uow:
        assert uow.sections.get(section.id) == section
        assert uow.sections.list() == [section]
        assert sorted(e.id for e in uow.enrollments.for_section(section.id)) == sorted(
            [e1.id, e2.id]
        )
        assert uow.enrollments.for_user(student.id) == [e1]


def test_enrollment_to_missing_section_is_refused(
    db: Database, two: tuple[District, District]
) -> None:
    a, _ = two
    student = make_user(a, "kid")
    with TenantScope(a.id), db.scoped() as uow:
        uow.users.add(student)
        with pytest.raises(Conflict):
            uow.enrollments.add(
                Enrollment(a.id, new_id("enrollment"), new_id("section"), student.id, Role.STUDENT)
            )


def test_apps_and_connections(db: Database, two: tuple[District, District]) -> None:
    a, b = two
    app = App(
        new_id("app"),
        "Reader",
        False,
        "client_secret_basic",
        ("https://r.example/cb",),
        client_secret_hash="h",
    )
    with db.platform() as uow:
        uow.apps.add(app)
        got = uow.apps.get(app.id)
        assert got.redirect_uris == app.redirect_uris and got.name == "Reader"
        assert uow.apps.find(new_id("app")) is None
        uow.apps.set_secret_hash(app.id, "h2")
        assert uow.apps.get(app.id).client_secret_hash == "h2"
    conn = Connection(
        a.id,
        app.id,
        scope_mode=ScopeMode.SCHOOLS,
        school_ids=("sch_x",),
        field_groups=(FieldGroup.BASIC, FieldGroup.EMAIL),
    )
    with TenantScope(a.id), db.scoped() as uow:
        uow.connections.put(conn)
        uow.connections.put(Connection(a.id, app.id, status="paused"))  # upsert
    with TenantScope(a.id), db.scoped() as uow:
        assert uow.connections.get(app.id).status == "paused"
        assert len(uow.connections.list()) == 1
    with TenantScope(b.id), db.scoped() as uow:
        assert uow.connections.find(app.id) is None
        with pytest.raises(NotFound):
            uow.connections.delete(app.id)
    with TenantScope(a.id), db.scoped() as uow:
        uow.connections.delete(app.id)
        assert uow.connections.list() == []


def test_audit_append_and_list(db: Database, two: tuple[District, District]) -> None:
    a, b = two
    with TenantScope(a.id), db.scoped() as uow:
        first = uow.audit.append(AuditEvent(actor="admin", action="user.create"))
        uow.audit.append(AuditEvent(actor="admin", action="badge.void", detail={"n": 1}))
    with TenantScope(a.id), db.scoped() as uow:
        events = uow.audit.list()
        assert [e.action for e in events] == ["user.create", "badge.void"]
        assert events[0].id == first.id and events[0].district_id == a.id
        assert [e.action for e in uow.audit.list(action="badge.void")] == ["badge.void"]
    with TenantScope(b.id), db.scoped() as uow:
        assert uow.audit.list() == []


def test_audit_appends_of_overlapping_transactions_number_the_district_in_order(
    db: Database, two: tuple[District, District]
) -> None:
    """A district's ``seq`` has no gap and no duplicate even when a second transaction
    appends while the first is still open: the second waits for the first's commit, then
    reads its number. (On PostgreSQL both read the same last ``seq`` without the lock.)"""
    a, b = two
    first_appended, second_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with TenantScope(a.id), db.scoped(write=True) as uow:
                uow.audit.append(AuditEvent(actor="admin", action="first"))
                first_appended.set()
                assert second_started.wait(30)
                time.sleep(0.3)  # the second is at its read of the last seq, or waiting
        except BaseException as exc:
            errors.append(exc)

    def second() -> None:
        try:
            assert first_appended.wait(30)
            second_started.set()
            with TenantScope(a.id), db.scoped(write=True) as uow:
                uow.audit.append_many(
                    [AuditEvent(actor="admin", action="second"), AuditEvent("admin", "third")]
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with TenantScope(b.id), db.scoped(write=True) as uow:
        uow.audit.append(AuditEvent(actor="admin", action="elsewhere"))  # its own numbers

    def numbered(district: District) -> list[tuple[int, str]]:
        columns = (audit_events.c.seq, audit_events.c.action)
        with TenantScope(district.id), db.scoped() as uow:  # as the app role, under RLS
            rows = uow.conn.execute(
                select(*columns).where(audit_events.c.district_id == district.id)
            )
            return sorted((int(r.seq), str(r.action)) for r in rows)

    assert numbered(a) == [(1, "first"), (2, "second"), (3, "third")]
    assert numbered(b) == [(1, "elsewhere")]


def test_tenant_repos_refuse_platform_transactions(db: Database) -> None:
    with db.platform() as uow, pytest.raises(TenantScopeError):
        uow.users.count()


def test_scoped_requires_a_scope(db: Database) -> None:
    with pytest.raises(TenantScopeError), db.scoped():
        pass


def test_repos_never_cross_districts(db: Database, two: tuple[District, District]) -> None:
    """The same calls made in B's scope with A's ids find nothing and change nothing."""
    a, b = two
    school = School(a.id, new_id("school"), "North")
    user = make_user(a, "ava", school_ids=(school.id,))
    section = Section(a.id, new_id("section"), school.id, "Art")
    with TenantScope(a.id), db.scoped() as uow:
        uow.schools.add(school)
        uow.users.add(user, "hash")
        uow.sections.add(section)
    with TenantScope(b.id), db.scoped() as uow:
        with pytest.raises(NotFound):
            uow.users.get(user.id)
        with pytest.raises(NotFound):
            uow.schools.get(school.id)
        with pytest.raises(NotFound):
            uow.sections.get(section.id)
        with pytest.raises(NotFound):
            uow.users.set_password_hash(user.id, "stolen")
        with pytest.raises(NotFound):
            uow.users.delete(user.id)
        assert uow.users.by_username("ava") is None
        assert uow.users.password_hash(user.id) is None
        assert uow.users.count() == 0 and uow.users.list() == []
        assert uow.schools.count() == 0 and uow.sections.count() == 0
        assert uow.enrollments.for_user(user.id) == []
    with TenantScope(a.id), db.scoped() as uow:
        assert uow.users.password_hash(user.id) == "hash"


def test_every_tenant_table_keys_on_district_first() -> None:
    """DESIGN: tenant tables carry district_id as the first primary-key column."""
    from homeroom.storage.sql.all_tables import metadata, tenant_tables

    tenant = tenant_tables()
    assert tenant
    for table in tenant:
        assert next(iter(table.primary_key.columns)).name == "district_id", table.name
    for table in metadata.sorted_tables:
        if "district_id" in table.c and not table.info.get("tenant"):
            raise AssertionError(f"{table.name} has district_id but is not marked tenant")


def test_sign_in_users_find_shared_follows_each_policy(
    db: Database, two: tuple[District, District]
) -> None:
    """find_shared keeps one statement per policy shape: each answer must still be the
    answer of the policy asked, in the district of the scope (never a cached neighbour's)."""
    from homeroom.sharing.policy import SharingPolicy

    a, b = two
    school_1, school_2 = (School(a.id, new_id("school"), name) for name in ("One", "Two"))
    ava = make_user(a, "ava", grade="03", school_ids=(school_1.id,))
    ben = make_user(b, "ben", grade="03")
    with TenantScope(a.id), db.scoped() as uow:
        uow.schools.add(school_1)
        uow.schools.add(school_2)
        uow.users.add(ava)
    with TenantScope(b.id), db.scoped() as uow:
        uow.users.add(ben)
    now = utcnow()

    def shared(district: District, user: User, **kw: object) -> bool:
        policy = SharingPolicy.of(Connection(district.id, "app_x", **kw), now)  # type: ignore[arg-type]
        with TenantScope(district.id), db.scoped() as uow:
            found, visible = uow.sign_in_users.find_shared(user.id, policy)
        assert found is not None and found.id == user.id
        return visible

    for _ in range(2):  # the second round is served from the statements built by the first
        assert shared(a, ava) is True
        assert shared(b, ben) is True  # same policy shape, other district: ben, not ava
        assert shared(a, ava, roles_allowed=("teacher",)) is False
        assert shared(a, ava, scope_mode=ScopeMode.SCHOOLS, school_ids=(school_1.id,)) is True
        assert shared(a, ava, scope_mode=ScopeMode.SCHOOLS, school_ids=(school_2.id,)) is False
        assert shared(a, ava, scope_mode=ScopeMode.RULES, rules=({"grade": ["03"]},)) is True
        assert shared(a, ava, scope_mode=ScopeMode.RULES, rules=({"grade": ["04"]},)) is False
        assert shared(a, ava, status="paused") is False  # no policy: nothing shared
    with TenantScope(a.id), db.scoped() as uow:
        assert uow.sign_in_users.find_shared(ben.id, None) == (None, False)


def test_refresh_tokens_rotate_shared_rotates_once_and_reads_the_user_it_names(
    db: Database, two: tuple[District, District]
) -> None:
    """One compare-and-set, the token's user of the scope's district (never the same id's
    row in another district) and the answer of the policy asked, on every backend."""
    from homeroom.sharing.policy import SharingPolicy

    a, b = two
    ava = make_user(a, "ava", grade="03")
    twin = User(b.id, ava.id, Role.TEACHER, "twin", "Twin", "Other")  # same id, district B
    with TenantScope(a.id), db.scoped() as uow:
        uow.users.add(ava)
        for token_hash, user_id in (("h-ava", ava.id), ("h-gone", new_id("user"))):
            uow.refresh_tokens.add(refresh_token_row(a.id, user_id, token_hash))
        uow.refresh_tokens.add(refresh_token_row(a.id, ava.id, "h-teachers-only"))
        uow.refresh_tokens.add(refresh_token_row(a.id, ava.id, "h-no-policy"))
    with TenantScope(b.id), db.scoped() as uow:
        uow.users.add(twin)
        uow.refresh_tokens.add(refresh_token_row(b.id, twin.id, "h-twin"))
    now = utcnow()

    def who(user: User | None) -> tuple[str, str, str, Role] | None:
        """The sign-in columns that tell users apart (no schools or grade: not read)."""
        return None if user is None else (user.district_id, user.id, user.username, user.role)

    def policy(district: District, **kw: object) -> SharingPolicy | None:
        return SharingPolicy.of(Connection(district.id, "app_x", **kw), now)  # type: ignore[arg-type]

    with TenantScope(a.id), db.scoped(write=True) as uow:
        got = uow.refresh_tokens.rotate_shared("h-ava", now, policy(a))
        assert got is not None and got.shared is True and who(got.user) == who(ava)
        assert got.row.token_hash == "h-ava" and got.row.user_id == ava.id
        assert got.row.rotated_at is not None and got.row.district_id == a.id
        assert uow.refresh_tokens.rotate_shared("h-ava", now, policy(a)) is None  # once
        assert uow.refresh_tokens.rotate_shared("h-twin", now, policy(a)) is None  # B's
        gone = uow.refresh_tokens.rotate_shared("h-gone", now, policy(a))
        assert gone is not None and gone.user is None and gone.shared is False
        teachers = uow.refresh_tokens.rotate_shared(
            "h-teachers-only", now, policy(a, roles_allowed=("teacher",))
        )
        assert teachers is not None and who(teachers.user) == who(ava) and teachers.shared is False
        unshared = uow.refresh_tokens.rotate_shared("h-no-policy", now, None)
        assert unshared is not None and who(unshared.user) == who(ava) and unshared.shared is False
    with TenantScope(a.id), db.scoped() as uow:
        found = uow.refresh_tokens.find("h-ava")
        assert found is not None and found.rotated_at is not None
    with TenantScope(b.id), db.scoped(write=True) as uow:
        mine = uow.refresh_tokens.rotate_shared("h-twin", now, policy(b))
        assert mine is not None and who(mine.user) == who(twin) and mine.shared is True
