"""Two districts with the same shapes, and the tools to prove nothing of one reaches the other.

``World`` seeds district A and district B identically (schools, users of every role with
school memberships, sections, enrollments, its own connected app, a shared app connected to
both, tokens, a portal session, audit events), with every name of B carrying a unique
marker, so that a leak of B's data is a plain substring search. Adding a tenant table? Seed
it in :func:`_seed_district` for both districts: ``test_world_seeds_every_tenant_table``
fails until you do.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from homeroom.ids import new_id
from homeroom.roster.models import District, Enrollment, Role, School, Section, User
from homeroom.sharing.models import App, FieldGroup
from homeroom.storage.sql.all_tables import tenant_tables
from homeroom.storage.sql.tables_roster import user_agents
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.usage.ingest import EventReport
from homeroom.usage.models import UsageKind
from homeroom.web.app import create_app
from homeroom.wiring import Container

ISSUER = "http://127.0.0.1:8000"
PASSWORD = "correct-horse-1"
REDIRECT = "https://app.example/callback"
METRICS_TOKEN = "metrics-token-for-isolation-tests"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class HttpResponse(Protocol):
    """What the probes read of a test client's response (httpx or its fork)."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def headers(self) -> Any: ...


@dataclass
class Tenant:
    """One seeded district and the credentials of its callers."""

    district: District
    marker: str
    school: School
    section: Section
    student: User
    teacher: User
    admin: User
    enrollment: Enrollment
    app: App  # connected to this district only
    app_secret: str
    shared_tokens: dict[str, Any] = field(default_factory=dict)  # shared app, the student
    own_tokens: dict[str, Any] = field(default_factory=dict)  # own app, the student
    service_token: str = ""  # client_credentials of the own app
    admin_client: TestClient | None = None  # a browser signed in as the district admin
    student_client: TestClient | None = None  # a browser signed in as the student
    badge_id: str = ""  # the student's live QR badge
    badge_payload: str = ""  # what the badge's QR code says
    roster_ids: list[str] = field(default_factory=list)  # org, term, course, run, event ids
    usage_ids: list[str] = field(default_factory=list)  # usage event ids (own app), goal id
    shapes: dict[str, str] = field(default_factory=dict)  # roster API shapes: name -> id

    def identifiers(self) -> list[str]:
        """Every identifier and name of this district's data (what must never leak)."""
        values = [
            self.district.id,
            self.school.id,
            self.section.id,
            self.enrollment.id,
            self.marker,  # in every name, username and email
        ]
        for user in (self.student, self.teacher, self.admin):
            values.append(user.id)
        for tokens in (self.shared_tokens, self.own_tokens):
            values += [str(v) for k, v in tokens.items() if k.endswith("token")]
        values.append(self.service_token)
        values += [self.badge_id, self.badge_payload.rpartition(".")[2], *self.roster_ids]
        values += self.usage_ids
        return [v for v in values if v]


@dataclass
class World:
    container: Container
    app: FastAPI
    a: Tenant
    b: Tenant
    shared_app: App
    shared_secret: str
    orphan_app: App  # registered, connected to no district
    orphan_secret: str
    clients: list[TestClient] = field(default_factory=list)
    b_families: list[str] = field(default_factory=list)  # B's refresh token families

    def browser(self) -> TestClient:
        client = TestClient(self.app, base_url=ISSUER)
        client.__enter__()
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)

    # ------------------------------------------------------------------ leak checks

    def leaks(self, response: HttpResponse, *, sent: Iterable[str] = ()) -> list[str]:
        """Identifiers of B found in the response (body or any header), except those the
        caller itself sent (an echo of one's own input reveals nothing)."""
        echoed = set(sent)
        haystack = (
            response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        )
        return [v for v in self.b.identifiers() if v not in echoed and v in haystack]

    def assert_clean(self, response: HttpResponse, *, sent: Iterable[str] = ()) -> None:
        found = self.leaks(response, sent=sent)
        assert found == [], (
            f"B's data leaked: {found} in {response.status_code} {response.text[:300]}"
        )

    def b_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of B in every tenant table (read in B's own scope)."""
        found: dict[str, list[tuple[Any, ...]]] = {}
        with TenantScope(self.b.district.id), self.container.db.scoped() as uow:
            for table in tenant_tables():
                rows = uow.conn.execute(
                    select(table).where(table.c.district_id == self.b.district.id)
                )
                found[table.name] = sorted(tuple(map(str, r)) for r in rows)
        return found


def assert_same_answer(
    first: HttpResponse, second: HttpResponse, *, replace: Iterable[tuple[str, str]] = ()
) -> None:
    """Two answers a caller cannot tell apart: same status, same body once the identifiers
    the caller sent are swapped, and the same header names."""
    assert first.status_code == second.status_code, (first.status_code, second.status_code)
    body = first.text
    for old, new in replace:
        body = body.replace(old, new)
    strip = re.compile(r'(name="csrf_token" value=")[^"]+|request_id":"[0-9a-f]+')
    assert strip.sub("", body) == strip.sub("", second.text)
    ignore = {"x-request-id", "set-cookie", "content-length", "x-ratelimit-remaining"}
    assert {k for k in first.headers if k not in ignore} == {
        k for k in second.headers if k not in ignore
    }


# ---------------------------------------------------------------------- seeding


def _login(client: TestClient, slug: str, username: str) -> None:
    page = client.get("/login", params={"district": slug})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf.group(1),
            "district": slug,
            "username": username,
            "password": PASSWORD,
        },
    )
    assert r.status_code == 200, r.text


def _tokens(client: TestClient, app: App, secret: str) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": app.id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email offline_access",
        "state": "st",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    r = client.get("/authorize?" + urlencode(query), follow_redirects=False)
    assert r.status_code == 302, r.text
    code = query_of(r.headers["location"])["code"]
    body = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(app.id, secret),
    )
    assert body.status_code == 200, body.text
    tokens: dict[str, Any] = body.json()
    return tokens


def _seed_district(world_container: Container, slug: str) -> tuple[District, dict[str, Any]]:
    admin = world_container.roster_admin
    marker = f"mk{secrets.token_hex(5)}"
    district = admin.create_district(f"{slug}-{marker}", f"District {marker}")
    school = School(
        district_id=district.id, id=new_id("school"), name=f"School {marker}", sourced_id=marker
    )
    with TenantScope(district.id), world_container.db.scoped() as uow:
        uow.schools.add(school)
    users = {}
    for role in (Role.STUDENT, Role.TEACHER, Role.DISTRICT_ADMIN):
        users[role] = admin.create_user(
            district.slug,
            username=f"{role.value}-{marker}",
            role=role,
            given_name=f"Given {marker}",
            family_name=f"Family {marker}",
            email=f"{role.value}.{marker}@example.org",
            password=PASSWORD,
            grade="KG" if role is Role.STUDENT else None,
            school_ids=(school.id,),
        )
    section = Section(
        district_id=district.id,
        id=new_id("section"),
        school_id=school.id,
        title=f"Section {marker}",
        sourced_id=marker,
    )
    enrollment = Enrollment(
        district_id=district.id,
        id=new_id("enrollment"),
        section_id=section.id,
        user_id=users[Role.STUDENT].id,
        role=Role.STUDENT,
        sourced_id=marker,
    )
    with TenantScope(district.id), world_container.db.scoped() as uow:
        uow.sections.add(section)
        uow.enrollments.add(enrollment)
    roster_ids = _seed_roster(world_container, district, marker, users)
    shapes = _seed_roster_api_shapes(world_container, district, marker, school, users, roster_ids)
    roster_ids += [v for k, v in shapes.items() if v not in roster_ids]
    with world_container.db.platform() as platform:  # the portal's password sign-in on
        platform.districts.update_settings(district.id, {"login_methods": ["password"]})
    district = world_container.badges.set_grades(district, ["KG"], actor="isolation")
    (badge,) = world_container.badges.issue(district, [users[Role.STUDENT]], actor="isolation")
    own = world_container.apps.create_app(f"Own app of {slug}", [REDIRECT])
    world_container.apps.connect(
        district, own.app.id, field_groups=(FieldGroup.BASIC, FieldGroup.EMAIL)
    )
    assert own.client_secret is not None
    usage_ids = _seed_usage(world_container, district, marker, users, section, own.app)
    return district, {
        "marker": marker,
        "school": school,
        "section": section,
        "student": users[Role.STUDENT],
        "teacher": users[Role.TEACHER],
        "admin": users[Role.DISTRICT_ADMIN],
        "enrollment": enrollment,
        "app": own.app,
        "app_secret": own.client_secret,
        "badge_id": badge.badge.id,
        "badge_payload": badge.payload,
        "roster_ids": roster_ids,
        "usage_ids": usage_ids,
        "shapes": shapes,
    }


def _seed_usage(
    container: Container,
    district: District,
    marker: str,
    users: dict[Role, User],
    section: Section,
    app: App,
) -> list[str]:
    """Usage of the student reported by the district's own app (events and their daily
    rollup), and a usage goal for the section; event ids carry the marker."""
    now = utcnow()
    student = users[Role.STUDENT].id
    reports = [
        EventReport(f"evt-{marker}-1", student, UsageKind.MINUTES, now, minutes=17),
        EventReport(f"evt-{marker}-2", student, UsageKind.PROGRESS, now, progress=0.5),
    ]
    outcomes = container.usage_ingest.report(district.id, app.id, reports, now=now)
    assert [o.status for o in outcomes] == ["accepted", "accepted"], outcomes
    goal = container.usage_goals.create(
        district.id,
        users[Role.DISTRICT_ADMIN].id,
        section_id=section.id,
        app_id=app.id,
        minutes_per_week=30,
        starts_on=now.date(),
        ends_on=now.date() + dt.timedelta(days=30),
    )
    return [r.id for r in reports] + [goal.id]


def _seed_roster(
    container: Container, district: District, marker: str, users: dict[Role, User]
) -> list[str]:
    """One row of each OneRoster table (org, term, course, demographics, agent link, change
    event, import run), written through the import's own store; names carry the marker."""
    now = utcnow()
    synced = {
        "status": "active",
        "source_hash": "h",
        "synced_at": now,
        "created_at": now,
        "updated_at": now,
    }
    org, term, course = new_id("org"), new_id("term"), new_id("course")
    event, run = new_id("event"), new_id("import")
    student, teacher = users[Role.STUDENT], users[Role.TEACHER]
    with TenantScope(district.id), container.db.scoped() as uow:
        store = uow.roster
        store.insert(
            "org",
            [
                {
                    "id": org,
                    "sourced_id": f"org-{marker}",
                    "name": f"Org {marker}",
                    "type": "district",
                }
                | synced
            ],
        )
        store.insert(
            "term",
            [
                {
                    "id": term,
                    "sourced_id": f"term-{marker}",
                    "title": f"Term {marker}",
                    "type": "schoolYear",
                    "start_date": dt.date(2026, 8, 1),
                    "end_date": dt.date(2027, 6, 30),
                }
                | synced
            ],
        )
        store.insert(
            "course",
            [
                {
                    "id": course,
                    "sourced_id": f"course-{marker}",
                    "title": f"Course {marker}",
                    "org_id": org,
                }
                | synced
            ],
        )
        store.insert(
            "demographics",
            [
                {
                    "user_id": student.id,
                    "sourced_id": f"demo-{marker}",
                    "sex": "female",
                    "data": {"note": marker},
                }
                | synced
            ],
        )
        store.insert_links(user_agents, [{"user_id": student.id, "agent_id": teacher.id}])
        store.append_events(
            [
                {
                    "id": event,
                    "seq": 1,
                    "at": now,
                    "action": "created",
                    "record_type": "course",
                    "record_id": course,
                    "app_id": None,
                    "import_id": run,
                    "changed": None,
                }
            ]
        )
        store.record_run(
            {
                "id": run,
                "started_at": now,
                "finished_at": now,
                "source": f"pkg-{marker}",
                "version": "1.1",
                "modes": {},
                "counts": {},
                "warnings": [],
                "actor": "isolation",
            }
        )
    return [org, term, course, event, run]


# ---------------------------------------------------------------------- roster API shapes


def _seed_roster_api_shapes(
    container: Container,
    district: District,
    marker: str,
    school: School,
    users: dict[Role, User],
    roster_ids: list[str],
) -> dict[str, str]:
    """What the roster APIs' routes need to answer something for the district's own app
    (so that each route's probe can fail): a term and a grading period under the school
    year, a course of the school, and a class of that course in that term with the student
    and the teacher enrolled. Returns every roster API shape's id by name."""
    org, year, course, event, _run = roster_ids
    now = utcnow()
    synced = {
        "status": "active",
        "source_hash": "h",
        "synced_at": now,
        "created_at": now,
        "updated_at": now,
    }
    term, period = new_id("term"), new_id("term")
    school_course, klass = new_id("course"), new_id("section")
    enrolled = {role: new_id("enrollment") for role in (Role.STUDENT, Role.TEACHER)}
    session = {"start_date": dt.date(2026, 8, 1), "end_date": dt.date(2026, 12, 20)}
    with TenantScope(district.id), container.db.scoped() as uow:
        store = uow.roster
        store.insert(
            "term",
            [
                {"id": term, "sourced_id": f"t-{marker}", "title": f"Fall {marker}"}
                | {"type": "term", "parent_id": year, **session}
                | synced,
                {"id": period, "sourced_id": f"gp-{marker}", "title": f"Period {marker}"}
                | {"type": "gradingPeriod", "parent_id": term, **session}
                | synced,
            ],
        )
        store.insert(
            "course",
            [
                {
                    "id": school_course,
                    "sourced_id": f"c-{marker}",
                    "title": f"School course {marker}",
                    "org_id": school.id,
                }
                | synced
            ],
        )
        store.insert(
            "section",
            [
                {
                    "id": klass,
                    "sourced_id": f"cls-{marker}",
                    "school_id": school.id,
                    "title": f"Class {marker}",
                    "course_id": course,
                    "term_ids": [term],
                }
                | synced
            ],
        )
        store.insert(
            "enrollment",
            [
                {
                    "id": enrolled[role],
                    "sourced_id": f"enr-{role.value}-{marker}",
                    "section_id": klass,
                    "school_id": school.id,
                    "user_id": users[role].id,
                    "role": role.value,
                }
                | synced
                for role in enrolled
            ],
        )
    return {
        "org": org,
        "school_year": year,
        "term": term,
        "grading_period": period,
        "course": course,
        "school_course": school_course,
        "class": klass,
        "student_enrollment": enrolled[Role.STUDENT],
        "teacher_enrollment": enrolled[Role.TEACHER],
        "event": event,
    }


def build_world(container: Container) -> Iterator[World]:
    shared = container.apps.create_app("Shared app", [REDIRECT])
    orphan = container.apps.create_app("Orphan app", [REDIRECT])
    assert shared.client_secret is not None and orphan.client_secret is not None
    tenants = []
    for slug in ("alpha", "beta"):
        district, parts = _seed_district(container, slug)
        container.apps.connect(
            district, shared.app.id, field_groups=(FieldGroup.BASIC, FieldGroup.EMAIL)
        )
        tenants.append(Tenant(district=district, **parts))
    world = World(
        container,
        create_app(container),
        tenants[0],
        tenants[1],
        shared.app,
        shared.client_secret,
        orphan.app,
        orphan.client_secret,
    )
    try:
        for tenant in tenants:
            browser = world.browser()
            _login(browser, tenant.district.slug, tenant.student.username)
            tenant.shared_tokens = _tokens(browser, world.shared_app, world.shared_secret)
            tenant.own_tokens = _tokens(browser, tenant.app, tenant.app_secret)
            tenant.student_client = browser
            admin = world.browser()
            _login(admin, tenant.district.slug, tenant.admin.username)
            tenant.admin_client = admin
            r = admin.post(
                "/token",
                data={"grant_type": "client_credentials", "district": tenant.district.slug},
                auth=(tenant.app.id, tenant.app_secret),
            )
            assert r.status_code == 200, r.text
            tenant.service_token = r.json()["access_token"]
        world.b_families = [
            row[2] for row in world.b_rows()["refresh_tokens"]
        ]  # (district_id, token_hash, family_id, ...)
        yield world
    finally:
        world.close()
