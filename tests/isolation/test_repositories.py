"""Every public method of every tenant repository is probed across districts.

Tenant repositories are found by introspection: each ``UnitOfWork`` attribute that refuses
to exist without a district. Their public methods must each have a probe in
``repo_probes.py``; the probes run in district A's unit of work with B's identifiers, and
B's rows must be unchanged afterwards. Hypothesis varies identifiers and filters.
"""

from __future__ import annotations

import contextlib
import inspect
from functools import cached_property

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homeroom.errors import InvalidInput, NotFound, TenantScopeError
from homeroom.ids import new_id
from homeroom.roster.models import Role
from homeroom.storage.sql.uow import UnitOfWork
from homeroom.tenancy import TenantScope
from tests.isolation.repo_probes import REPO_PROBES
from tests.isolation.world import World


def tenant_repositories() -> dict[str, type]:
    """``UnitOfWork`` attribute -> repository class, for repos that need a district."""
    found: dict[str, type] = {}
    for name, attr in vars(UnitOfWork).items():
        if not isinstance(attr, cached_property):
            continue
        try:
            repo = attr.func(UnitOfWork(None, None))  # type: ignore[arg-type]
        except TenantScopeError:
            hints = inspect.get_annotations(attr.func, eval_str=True)
            found[name] = hints["return"]
            continue
        del repo
    return found


def public_methods(cls: type) -> list[str]:
    return sorted(
        n for n, v in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")
    )


def all_repo_methods() -> list[tuple[str, str]]:
    return [(repo, m) for repo, cls in tenant_repositories().items() for m in public_methods(cls)]


def test_tenant_repositories_are_found() -> None:
    repos = tenant_repositories()
    assert {"users", "connections", "audit", "refresh_tokens"} <= set(repos)
    assert "districts" not in repos and "apps" not in repos  # global


def test_every_tenant_repository_method_has_a_probe() -> None:
    methods = all_repo_methods()
    missing = [key for key in methods if key not in REPO_PROBES]
    assert missing == [], f"tenant repository methods without a cross-district probe: {missing}"
    stale = [key for key in REPO_PROBES if key not in methods]
    assert stale == [], f"probes for methods that no longer exist: {stale}"


def run_repo_probe(world: World, key: tuple[str, str]) -> None:
    before = world.b_rows()
    with TenantScope(world.a.district.id), world.container.db.scoped() as uow:
        REPO_PROBES[key](world, uow)
        uow.conn.rollback()  # probes may write to A; keep the world as seeded
    assert world.b_rows() == before, f"{key} changed district B's rows"


@pytest.mark.parametrize("key", sorted(REPO_PROBES), ids=[".".join(k) for k in sorted(REPO_PROBES)])
def test_repository_probe(world: World, key: tuple[str, str]) -> None:
    run_repo_probe(world, key)


# ---------------------------------------------------------------------- Hypothesis

_PREFIXES = ["usr", "sec", "sch", "enr", "app", "dis", "aud"]
identifiers = st.one_of(
    st.sampled_from(_PREFIXES).map(lambda p: f"{p}_" + "0" * 20),
    st.builds(new_id, st.sampled_from(["user", "section", "school", "app", "district"])),
    st.text(max_size=40),
    st.text(alphabet="%_'\"\\*?[]", min_size=1, max_size=10),  # LIKE and quoting tricks
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_identifier_or_filter_reaches_only_a(world: World, data: st.DataObject) -> None:
    """Random typed ids, B's real ids, malformed ids and filter values: every lookup in A's
    scope either finds A's own record or nothing."""
    b_ids = [world.b.student.id, world.b.section.id, world.b.school.id, world.b.app.id]
    b_names = [world.b.student.username, world.b.teacher.username]
    value = data.draw(st.one_of(identifiers, st.sampled_from(b_ids + b_names)))
    role = data.draw(st.sampled_from([None, *Role]))
    after = data.draw(st.one_of(st.none(), identifiers, st.sampled_from(b_ids)))
    a = world.a.district.id
    try:
        _lookups_reach_only_a(world, a, value, role, after)
    except InvalidInput:
        # PostgreSQL text cannot hold NUL: such a value is refused as bad input (400).
        assert world.container.db.is_postgres and "\x00" in f"{value}{after}"


def _lookups_reach_only_a(
    world: World, a: str, value: str, role: Role | None, after: str | None
) -> None:
    with TenantScope(a), world.container.db.scoped() as uow:
        for lookup in (uow.users.get, uow.sections.get, uow.schools.get):
            with contextlib.suppress(NotFound):
                assert lookup(value).district_id == a
        user = uow.users.by_username(value)
        assert user is None or user.district_id == a
        assert uow.connections.find(value) is None or value in (
            world.a.app.id,
            world.shared_app.id,
        )
        assert uow.sign_in_users.find(value) is None
        assert uow.enrollments.for_user(value) == [] and uow.enrollments.for_section(value) == []
        listed = uow.users.list(role=role, after=after, limit=1000)
        assert all(u.district_id == a for u in listed)
        assert uow.users.count(role=role) <= 3
        events = uow.audit.list(action=value)
        assert all(e.district_id == a for e in events)


@pytest.mark.parametrize("path", ["/api/v1/audit"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(district=st.one_of(st.text(max_size=30), st.just("BSLUG")), action=st.text(max_size=20))
def test_route_filters_never_reach_b(world: World, path: str, district: str, action: str) -> None:
    """Any ``district``/``action`` filter on the audit API: A's events or a 4xx, never B's."""
    admin = world.a.admin_client
    assert admin is not None
    if district == "BSLUG":
        district = world.b.district.slug
    r = admin.get(path, params={"district": district, "action": action})
    assert r.status_code in (200, 400, 404, 422), r.text
    if r.status_code == 200:
        assert r.json()["district_id"] == world.a.district.id
    world.assert_clean(r, sent=[district, action])
