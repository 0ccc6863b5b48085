"""Route probes of the roster APIs: OneRoster 1.1 (``/ims/oneroster/v1p1``), the
Clever-style API (``/api/v3``) and the district admin's roster API (``/api/v1/admin``).

The callers are district A's: a ``client_credentials`` token of A's own app, and one of the
app connected to both districts minted for A (the case where only the token's district
keeps B out). Each probe first asks the route for A's own records (it must find them: a
probe that sees nothing at all could not fail), then replays it with B's identifiers: as
the record id, as the parent of a nested collection, inside a ``filter=``, as a paging
cursor, and with B's district named in the query. B's identifier must get exactly the
answer of an identifier that exists nowhere (404, never 403), and no body, count
(``X-Total-Count``), link or error message may carry anything of B.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Callable
from typing import Any

from homeroom.ids import new_id
from homeroom.roster.query.clever import KINDS as CLEVER_KINDS
from homeroom.roster.query.oneroster import NESTED, RESOURCES
from homeroom.sharing.models import FieldGroup, ScopeMode
from homeroom.web.roster_api import CLEVER_NESTED
from tests.isolation.routes import Probe, probe
from tests.isolation.world import HttpResponse, Tenant, World, assert_same_answer

__all__ = ["CLEVER", "ONEROSTER", "callers", "share_everything"]

ONEROSTER = "/ims/oneroster/v1p1"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # of homeroom.ids
CLEVER = "/api/v3"

# OneRoster collection -> the shapes (``Tenant.shapes`` names, or ``user:<role>``) it lists.
OR_MEMBERS: dict[str, tuple[str, ...]] = {
    "orgs": ("org", "school"),
    "schools": ("school",),
    "academicSessions": ("school_year", "term", "grading_period"),
    "terms": ("term",),
    "gradingPeriods": ("grading_period",),
    "courses": ("course", "school_course"),
    "classes": ("section", "class"),
    "enrollments": ("enrollment", "student_enrollment", "teacher_enrollment"),
    "users": ("user:student", "user:teacher"),
    "students": ("user:student",),
    "teachers": ("user:teacher",),
    "demographics": ("user:student",),
}
# A text field of each collection that carries the district's marker (filter `~`).
OR_NAMED = {
    "orgs": "name",
    "schools": "name",
    "academicSessions": "title",
    "terms": "title",
    "gradingPeriods": "title",
    "courses": "title",
    "classes": "title",
    "users": "familyName",
    "students": "familyName",
    "teachers": "familyName",
}
# (parent, child) -> (the parent shape, a child shape it must list)
OR_NESTED: dict[tuple[str, str], tuple[str, str]] = {
    ("schools", "classes"): ("school", "class"),
    ("schools", "courses"): ("school", "school_course"),
    ("schools", "enrollments"): ("school", "student_enrollment"),
    ("schools", "students"): ("school", "user:student"),
    ("schools", "teachers"): ("school", "user:teacher"),
    ("schools", "users"): ("school", "user:student"),
    ("schools", "terms"): ("school", "term"),
    ("classes", "students"): ("class", "user:student"),
    ("classes", "teachers"): ("class", "user:teacher"),
    ("classes", "users"): ("class", "user:teacher"),
    ("classes", "enrollments"): ("class", "teacher_enrollment"),
    ("courses", "classes"): ("course", "class"),
    ("users", "classes"): ("user:student", "class"),
    ("students", "classes"): ("user:student", "class"),
    ("teachers", "classes"): ("user:teacher", "class"),
    ("terms", "classes"): ("term", "class"),
}
CLEVER_MEMBERS: dict[str, tuple[str, ...]] = {
    "schools": ("school",),
    "sections": ("section", "class"),
    "users": ("user:student", "user:teacher"),
    "terms": ("school_year", "term"),
    "courses": ("course", "school_course"),
}
CLEVER_NESTED_SHAPES: dict[tuple[str, str], tuple[str, str]] = {
    ("schools", "sections"): ("school", "class"),
    ("schools", "users"): ("school", "user:student"),
    ("users", "sections"): ("user:student", "class"),
    ("sections", "users"): ("class", "user:teacher"),
    ("courses", "sections"): ("course", "class"),
}


def shape(tenant: Tenant, name: str) -> str:
    if name.startswith("user:"):
        return {"student": tenant.student, "teacher": tenant.teacher}[name[5:]].id
    return {
        "school": tenant.school.id,
        "section": tenant.section.id,
        "enrollment": tenant.enrollment.id,
    }.get(name) or tenant.shapes[name]


def unknown_like(record_id: str) -> str:
    """An id of the same type and length as ``record_id`` that exists nowhere."""
    prefix, _, rest = record_id.partition("_")
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in rest)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def share_everything(world: World) -> None:
    """Every field group of every record, in both districts, for both apps of each: the
    widest share, so that a leak cannot hide behind a narrow one."""
    groups = list(FieldGroup)
    roles = ("student", "teacher", "staff", "guardian")
    for tenant in (world.a, world.b):
        for app_id in (tenant.app.id, world.shared_app.id):
            world.container.sharing.set_connection(
                tenant.district, app_id, mode=ScopeMode.DISTRICT, field_groups=groups, roles=roles
            )
    world.container.oidc.clients.invalidate()


def callers(world: World) -> list[tuple[str, dict[str, str]]]:
    """The shared app's token for A and A's own app's token, as request headers."""
    client = world.browser()
    r = client.post(
        "/token",
        data={"grant_type": "client_credentials", "district": world.a.district.slug},
        auth=(world.shared_app.id, world.shared_secret),
    )
    assert r.status_code == 200, r.text
    return [  # the shared app first: only the token's district keeps it out of B
        ("shared app", _bearer(r.json()["access_token"])),
        ("own app", _bearer(world.a.service_token)),
    ]


def _get(world: World, path: str, headers: dict[str, str], **params: Any) -> Any:
    return world.browser().get(path, params=params, headers=headers)


def _or_ids(r: HttpResponse, key: str) -> list[str]:
    body: dict[str, Any] = r.json()
    return [item["sourcedId"] for item in body[key]]


def _counted(r: HttpResponse, key: str) -> list[str]:
    """The page's ids, checking that X-Total-Count counts what the body shows."""
    assert r.status_code == 200, (r.status_code, r.text[:300])
    ids = _or_ids(r, key)
    assert int(r.headers["x-total-count"]) == len(ids), (r.headers, ids)
    return ids


def _same_as_unknown(
    world: World, path_of: Callable[[str], str], b_id: str, headers: dict[str, str]
) -> HttpResponse:
    """B's id in the path: 404, the same answer as an id that exists nowhere."""
    missing = unknown_like(b_id)
    hit = _get(world, path_of(b_id), headers)
    miss = _get(world, path_of(missing), headers)
    assert hit.status_code == 404, (path_of(b_id), hit.status_code, hit.text[:300])
    world.assert_clean(hit, sent=[b_id])
    assert_same_answer(hit, miss, replace=[(b_id, missing)])
    return hit


def _filters_reach_only_a(
    world: World, path: str, key: str, headers: dict[str, str], b_ids: list[str], a_id: str
) -> None:
    """``filter=`` naming B's records (by id, and by B's marker in a name): nothing, with a
    count of 0, exactly as for values that match nothing; A's own values do match."""
    for b_id in b_ids:
        missing = unknown_like(b_id)
        hit = _get(world, path, headers, filter=f"sourcedId='{b_id}'")
        miss = _get(world, path, headers, filter=f"sourcedId='{missing}'")
        assert _counted(hit, key) == []
        world.assert_clean(hit, sent=[b_id])
        assert_same_answer(hit, miss, replace=[(b_id, missing)])
    assert _counted(_get(world, path, headers, filter=f"sourcedId='{a_id}'"), key) == [a_id]
    name = OR_NAMED.get(key)
    if name is not None:
        b_marker, a_marker = world.b.marker, world.a.marker
        hit = _get(world, path, headers, filter=f"{name}~'{b_marker}'", limit=10_000)
        assert _counted(hit, key) == []
        world.assert_clean(hit, sent=[b_marker])
        assert _counted(_get(world, path, headers, filter=f"{name}~'{a_marker}'"), key)
        either = f"{name}~'{a_marker}' OR {name}~'{b_marker}'"
        mixed = _get(world, path, headers, filter=either, limit=10_000)
        assert _counted(mixed, key), mixed.text[:300]
        world.assert_clean(mixed, sent=[b_marker])


# ---------------------------------------------------------------------- OneRoster 1.1


def _oneroster_collection(name: str) -> Probe:
    def run(world: World) -> None:
        share_everything(world)
        path = f"{ONEROSTER}/{name}"
        mine = [shape(world.a, s) for s in OR_MEMBERS[name]]
        b_ids = [shape(world.b, s) for s in OR_MEMBERS[name]]
        for _label, headers in callers(world):
            r = _get(world, path, headers, limit=10_000)
            ids = _counted(r, name)
            assert set(mine) <= set(ids), (name, mine, ids)
            world.assert_clean(r)
            # B's district named in the query changes nothing.
            named = _get(
                world,
                path,
                headers,
                limit=10_000,
                district=world.b.district.slug,
                district_id=world.b.district.id,
            )
            world.assert_clean(
                named, sent=[world.b.district.slug, world.b.district.id, world.b.marker]
            )
            assert _counted(named, name) == ids
            # Small pages walked to the end: only A's records, counts agree on every page.
            paged: list[str] = []
            for offset in range(0, len(ids), 2):
                page = _get(world, path, headers, limit=2, offset=offset)
                world.assert_clean(page)
                paged += _counted_page(page, name, len(ids))
            assert paged == ids
            _filters_reach_only_a(world, path, name, headers, b_ids, mine[0])

    run.__name__ = f"probe_oneroster_{name}"
    return run


def _counted_page(r: HttpResponse, key: str, total: int) -> list[str]:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["x-total-count"] == str(total)
    return _or_ids(r, key)


def _oneroster_single(name: str) -> Probe:
    key = RESOURCES[name].single

    def run(world: World) -> None:
        share_everything(world)
        for _label, headers in callers(world):
            for s in OR_MEMBERS[name]:
                a_id, b_id = shape(world.a, s), shape(world.b, s)
                mine = _get(world, f"{ONEROSTER}/{name}/{a_id}", headers)
                assert mine.status_code == 200, mine.text[:300]
                assert mine.json()[key]["sourcedId"] == a_id
                world.assert_clean(mine)
                _same_as_unknown(world, lambda x: f"{ONEROSTER}/{name}/{x}", b_id, headers)
                picked = _get(world, f"{ONEROSTER}/{name}/{b_id}", headers, fields="sourcedId")
                assert picked.status_code == 404
                world.assert_clean(picked, sent=[b_id])

    run.__name__ = f"probe_oneroster_{name}_single"
    return run


def _oneroster_nested(parent: str, child: str) -> Probe:
    parent_shape, child_shape = OR_NESTED[(parent, child)]

    def run(world: World) -> None:
        share_everything(world)
        a_parent, b_parent = shape(world.a, parent_shape), shape(world.b, parent_shape)
        a_child, b_child = shape(world.a, child_shape), shape(world.b, child_shape)

        def path(pid: str) -> str:
            return f"{ONEROSTER}/{parent}/{pid}/{child}"

        for _label, headers in callers(world):
            r = _get(world, path(a_parent), headers, limit=10_000)
            ids = _counted(r, child)
            assert a_child in ids, (parent, child, ids)
            world.assert_clean(r)
            _same_as_unknown(world, path, b_parent, headers)
            # B's child named in a filter under A's parent: nothing, counted 0.
            _filters_reach_only_a(world, path(a_parent), child, headers, [b_child], a_child)

    run.__name__ = f"probe_oneroster_{parent}_{child}"
    return run


for _name in RESOURCES:
    probe(("GET", f"{ONEROSTER}/{_name}"))(_oneroster_collection(_name))
    probe(("GET", f"{ONEROSTER}/{_name}/{{record_id}}"))(_oneroster_single(_name))
for _parent, _child in NESTED:
    probe(("GET", f"{ONEROSTER}/{_parent}/{{record_id}}/{_child}"))(
        _oneroster_nested(_parent, _child)
    )


# ---------------------------------------------------------------------- Clever-style


def _clever_ids(r: HttpResponse) -> list[str]:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    body: dict[str, Any] = r.json()
    return [item["data"]["id"] for item in body["data"]]


def _cursor_is_just_a_string(
    world: World, path: str, headers: dict[str, str], ids: list[str], b_id: str
) -> None:
    """B's id as ``starting_after``/``ending_before`` is compared as a string: the page is
    A's records beyond it, the same as for an id next to it that exists nowhere."""
    beside = b_id + "0"  # no A id sorts between the two
    for param in ("starting_after", "ending_before"):
        hit = _get(world, path, headers, **{param: b_id, "limit": 10_000})
        miss = _get(world, path, headers, **{param: beside, "limit": 10_000})
        got = _clever_ids(hit)
        want = [i for i in ids if (i > b_id if param == "starting_after" else i < b_id)]
        assert got == want, (param, got, want)
        world.assert_clean(hit, sent=[b_id])
        assert_same_answer(hit, miss, replace=[(b_id, beside)])


def _clever_list(kind: str) -> Probe:
    def run(world: World) -> None:
        share_everything(world)
        path = f"{CLEVER}/{kind}"
        mine = [shape(world.a, s) for s in CLEVER_MEMBERS[kind]]
        for _label, headers in callers(world):
            r = _get(world, path, headers, limit=10_000)
            ids = _clever_ids(r)
            assert set(mine) <= set(ids), (kind, mine, ids)
            world.assert_clean(r)
            named = _get(world, path, headers, limit=10_000, district=world.b.district.id)
            world.assert_clean(named, sent=[world.b.district.id])
            assert _clever_ids(named) == ids
            for s in CLEVER_MEMBERS[kind]:
                _cursor_is_just_a_string(world, path, headers, ids, shape(world.b, s))
            if kind == "users":
                students = _clever_ids(_get(world, path, headers, role="student"))
                assert world.a.student.id in students and world.b.student.id not in students

    run.__name__ = f"probe_clever_{kind}"
    return run


def _clever_get(kind: str) -> Probe:
    def run(world: World) -> None:
        share_everything(world)
        for _label, headers in callers(world):
            for s in CLEVER_MEMBERS[kind]:
                a_id, b_id = shape(world.a, s), shape(world.b, s)
                mine = _get(world, f"{CLEVER}/{kind}/{a_id}", headers)
                assert mine.status_code == 200, mine.text[:300]
                assert mine.json()["data"]["id"] == a_id
                world.assert_clean(mine)
                _same_as_unknown(world, lambda x: f"{CLEVER}/{kind}/{x}", b_id, headers)

    run.__name__ = f"probe_clever_{kind}_get"
    return run


def _clever_nested(parent: str, child: str) -> Probe:
    parent_shape, child_shape = CLEVER_NESTED_SHAPES[(parent, child)]

    def run(world: World) -> None:
        share_everything(world)
        a_parent, b_parent = shape(world.a, parent_shape), shape(world.b, parent_shape)

        def path(pid: str) -> str:
            return f"{CLEVER}/{parent}/{pid}/{child}"

        for _label, headers in callers(world):
            r = _get(world, path(a_parent), headers, limit=10_000)
            ids = _clever_ids(r)
            assert shape(world.a, child_shape) in ids, (parent, child, ids)
            world.assert_clean(r)
            _same_as_unknown(world, path, b_parent, headers)
            _cursor_is_just_a_string(
                world, path(a_parent), headers, ids, shape(world.b, child_shape)
            )

    run.__name__ = f"probe_clever_{parent}_{child}"
    return run


for _kind in CLEVER_KINDS:
    probe(("GET", f"{CLEVER}/{_kind}"))(_clever_list(_kind))
    probe(("GET", f"{CLEVER}/{_kind}/{{record_id}}"))(_clever_get(_kind))
for _parent, _child in CLEVER_NESTED:
    probe(("GET", f"{CLEVER}/{_parent}/{{record_id}}/{_child}"))(_clever_nested(_parent, _child))


@probe(("GET", f"{CLEVER}/districts"), ("GET", f"{CLEVER}/districts/{{record_id}}"))
def probe_clever_districts(world: World) -> None:
    """A token knows one district, its own; B's district id is an unknown one."""
    for _label, headers in callers(world):
        r = _get(world, f"{CLEVER}/districts", headers, district=world.b.district.id)
        assert r.status_code == 200
        listed = r.json()["data"]
        assert [d["data"]["id"] for d in listed] == [world.a.district.id]
        world.assert_clean(r, sent=[world.b.district.id])
        mine = _get(world, f"{CLEVER}/districts/{world.a.district.id}", headers)
        assert mine.status_code == 200 and world.a.district.id in mine.text
        world.assert_clean(mine)
        _same_as_unknown(world, lambda x: f"{CLEVER}/districts/{x}", world.b.district.id, headers)


@probe(("GET", f"{CLEVER}/me"))
def probe_clever_me(world: World) -> None:
    """``/me`` is the token's own district or user, whatever the query names; a user's
    token reaches nothing else (403 on B's records exactly as on A's)."""
    share_everything(world)
    b_params = {"district": world.b.district.id, "id": world.b.student.id}
    for _label, headers in callers(world):
        r = _get(world, f"{CLEVER}/me", headers, **b_params)
        assert r.status_code == 200 and r.json()["data"]["id"] == world.a.district.id
        world.assert_clean(r, sent=list(b_params.values()))
    user = _bearer(str(world.a.shared_tokens["access_token"]))
    me = _get(world, f"{CLEVER}/me", user, **b_params)
    assert me.status_code == 200, me.text[:300]
    assert me.json()["data"]["id"] == world.a.student.id
    world.assert_clean(me, sent=list(b_params.values()))
    for who in (world.b.student.id, world.a.student.id):
        r = _get(world, f"{CLEVER}/users/{who}", user)
        assert r.status_code == 403
        world.assert_clean(r, sent=[who])
    assert_same_answer(
        _get(world, f"{CLEVER}/users/{world.b.student.id}", user),
        _get(world, f"{CLEVER}/users/{world.a.student.id}", user),
    )


@probe(("GET", f"{CLEVER}/events"))
def probe_clever_events(world: World) -> None:
    """The event feed is A's: A's seeded change event is in it, none of B's, and B's
    event id as a cursor is just a string."""
    share_everything(world)
    for _label, headers in callers(world):
        r = _get(world, f"{CLEVER}/events", headers, limit=10_000)
        ids = _clever_ids(r)
        assert world.a.shapes["event"] in ids, ids
        world.assert_clean(r)
        _cursor_is_just_a_string(world, f"{CLEVER}/events", headers, ids, world.b.shapes["event"])


# ---------------------------------------------------------------------- district admin API


@probe(("GET", "/api/v1/admin/sharing/{client_id}"))
def probe_admin_sharing(world: World) -> None:
    """A's admin asking what B's app reads: the same 404 as an app that exists nowhere and
    an app connected to no district; the shared app's report counts A's records only."""
    share_everything(world)
    admin = world.a.admin_client
    assert admin is not None
    base = "/api/v1/admin/sharing/"
    b = admin.get(base + world.b.app.id)
    assert b.status_code == 404
    world.assert_clean(b, sent=[world.b.app.id])
    for other in (new_id("app"), world.orphan_app.id):
        assert_same_answer(b, admin.get(base + other), replace=[(world.b.app.id, other)])
    own = admin.get(base + world.a.app.id)
    shared = admin.get(base + world.shared_app.id)
    assert own.status_code == shared.status_code == 200, (own.text, shared.text)
    counts = {k: v["count"] for k, v in shared.json()["records"].items()}
    assert counts == {k: v["count"] for k, v in own.json()["records"].items()}
    assert counts["user"] == 2 and counts["section"] == 2, counts  # A's, not A's + B's
    world.assert_clean(own)
    world.assert_clean(shared)
    # A's student (403) and an anonymous browser (401) learn nothing of B either.
    for client, status in ((world.a.student_client, 403), (world.browser(), 401)):
        assert client is not None
        r = client.get(base + world.b.app.id)
        assert r.status_code == status
        world.assert_clean(r, sent=[world.b.app.id])


def _zipped(files: dict[str, str]) -> bytes:
    """A OneRoster 1.1 delta package with ``files`` (name -> CSV) and nothing else."""
    stems = ["orgs", "academicSessions", "courses", "classes", "users", "demographics"]
    stems.append("enrollments")
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    manifest += [f"file.{s},{'delta' if f'{s}.csv' in files else 'absent'}" for s in stems]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.csv", "\n".join(manifest) + "\n")
        for name, body in files.items():
            zf.writestr(name, body)
    return out.getvalue()


ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
USERS = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,"
    "password\n"
)


@probe(("POST", "/api/v1/admin/roster/import"))
def probe_admin_roster_import(world: World) -> None:
    """A's admin uploads packages that name B's SIS ids: a school of B's (its sourcedId),
    a user in B's school, a deletion of B's school. Each lands in A or fails exactly as for
    a sourcedId that exists nowhere; B's rows never change."""
    admin = world.a.admin_client
    assert admin is not None
    b_school, nowhere = world.b.school.sourced_id, f"mk{secrets.token_hex(5)}"
    assert b_school == world.b.marker
    before = world.b_rows()

    def upload(files: dict[str, str]) -> HttpResponse:
        return admin.post(
            "/api/v1/admin/roster/import",
            content=_zipped(files),
            headers={"Content-Type": "application/zip"},
        )

    def user_in(school: str) -> dict[str, str]:
        line = f"u-{school},active,2026-01-01,true,{school},student,u{school},,Kim,Lee,,,,,,,03,\n"
        return {"users.csv": USERS + line}

    # A user in B's school: B's school is unknown here, like one that exists nowhere.
    hit, miss = upload(user_in(b_school)), upload(user_in(nowhere))
    assert hit.status_code == 422, hit.text[:300]
    (error,) = hit.json()["errors"]
    assert error["column"] == "orgSourcedIds", error  # refused for the school, nothing else
    world.assert_clean(hit, sent=[b_school])
    assert_same_answer(hit, miss, replace=[(b_school, nowhere)])
    # Deleting B's school by its sourcedId: the same answer as deleting one that is not there.
    gone = {"orgs.csv": ORGS + f"{b_school},tobedeleted,2026-01-01,,,,\n"}
    hit = upload(gone)
    miss = upload({"orgs.csv": ORGS + f"{nowhere},tobedeleted,2026-01-01,,,,\n"})
    world.assert_clean(hit, sent=[b_school])
    assert hit.status_code == miss.status_code, (hit.text, miss.text)
    if hit.status_code == 200:
        assert hit.json()["counts"] == miss.json()["counts"]
    else:
        assert_same_answer(hit, miss, replace=[(b_school, nowhere)])
    # Reusing B's sourcedId for a school of A's own: created in A, B's untouched.
    org = {"orgs.csv": ORGS + f"{b_school},active,2026-01-01,Taken {nowhere},school,,\n"}
    created = upload(org)
    assert created.status_code == 200, created.text[:300]
    body = created.json()
    assert body["district_id"] == world.a.district.id and body["counts"]["school"]["created"] == 1
    world.assert_clean(created, sent=[b_school])
    assert world.b_rows() == before
