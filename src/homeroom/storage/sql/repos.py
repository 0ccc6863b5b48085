"""SQL implementations of the storage interfaces.

Tenant repositories take the district of their unit of work and put it in every statement
(``WHERE district_id = :d`` and in every inserted row). On SQLite that filter *is* the
isolation; on PostgreSQL row-level security enforces the same rule underneath, so a
repository that forgot its filter would still see nothing of another district.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from homeroom.audit.models import AuditEvent
from homeroom.errors import Conflict, NotFound, TenantScopeError
from homeroom.ids import new_id, new_ids
from homeroom.roster.models import District, Enrollment, Role, School, Section, User
from homeroom.sharing.models import App, Connection, FieldGroup, ScopeMode
from homeroom.storage.sql import tables as t
from homeroom.storage.sql.types import utcnow

__all__ = [
    "SqlApps",
    "SqlAuditLog",
    "SqlConnections",
    "SqlDistricts",
    "SqlEnrollments",
    "SqlPlatformAuditLog",
    "SqlSchools",
    "SqlSections",
    "SqlUsers",
]

MAX_PAGE = 10_000


class _Tenant:
    """Base of tenant repositories: refuses to exist without a district."""

    table: Table

    def __init__(self, conn: SqlConnection, district_id: str | None) -> None:
        if district_id is None:
            raise TenantScopeError(f"{type(self).__name__} used outside a TenantScope")
        self.conn = conn
        self.district_id = district_id

    @property
    def _mine(self) -> Any:
        return self.table.c.district_id == self.district_id

    def _insert(self, values: dict[str, Any]) -> None:
        values["district_id"] = self.district_id
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(self.table).values(**values))
        except IntegrityError as exc:
            raise Conflict(f"{self.table.name}: duplicate or dangling reference") from exc

    def _one(self, id_: str, what: str) -> Row[Any]:
        row = self.conn.execute(
            select(self.table).where(self._mine, self.table.c.id == id_)
        ).first()
        if row is None:
            raise NotFound(f"{what} not found")
        return row

    def _page(self, after: str | None, limit: int, *where: Any) -> list[Row[Any]]:
        query = select(self.table).where(self._mine, *where)
        if after:
            query = query.where(self.table.c.id > after)
        limit = max(1, min(limit, MAX_PAGE))
        return list(self.conn.execute(query.order_by(self.table.c.id).limit(limit)))

    def _count(self, *where: Any) -> int:
        return int(
            self.conn.execute(
                select(func.count()).select_from(self.table).where(self._mine, *where)
            ).scalar_one()
        )


# --------------------------------------------------------------------------- global


_CONNECTIONS_OF = (
    select(t.connections)
    .where(t.connections.c.district_id == bindparam("d"))
    .order_by(t.connections.c.app_id)
)
_DISTRICT_BY_SLUG = select(t.districts).where(t.districts.c.slug == bindparam("slug"))
_USER_BY_ID = select(t.users).where(
    t.users.c.district_id == bindparam("d"), t.users.c.id == bindparam("u")
)
_SCHOOLS_OF_USER = (
    select(t.user_schools.c.school_id)
    .where(
        t.user_schools.c.district_id == bindparam("d"), t.user_schools.c.user_id == bindparam("u")
    )
    .order_by(t.user_schools.c.school_id)
)


class SqlDistricts:
    def __init__(self, conn: SqlConnection) -> None:
        self.conn = conn

    def add(self, district: District) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(t.districts).values(
                        id=district.id,
                        slug=district.slug,
                        name=district.name,
                        settings=district.settings,
                        created_at=district.created_at,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"district slug {district.slug!r} is taken") from exc

    def get(self, district_id: str) -> District:
        row = self.conn.execute(select(t.districts).where(t.districts.c.id == district_id)).first()
        if row is None:
            raise NotFound("district not found")
        return _district(row)

    def by_slug(self, slug: str) -> District | None:
        # Prebuilt: every portal page and sign-in reads its district by slug.
        row = self.conn.execute(_DISTRICT_BY_SLUG, {"slug": slug}).first()
        return None if row is None else _district(row)

    def list(self) -> list[District]:
        rows = self.conn.execute(select(t.districts).order_by(t.districts.c.slug))
        return [_district(r) for r in rows]

    def update_settings(self, district_id: str, settings: dict[str, object]) -> None:
        result = self.conn.execute(
            update(t.districts).where(t.districts.c.id == district_id).values(settings=settings)
        )
        if result.rowcount == 0:
            raise NotFound("district not found")


def _district(row: Row[Any]) -> District:
    return District(
        id=row.id,
        slug=row.slug,
        name=row.name,
        settings=dict(row.settings),
        created_at=row.created_at,
    )


class SqlApps:
    def __init__(self, conn: SqlConnection) -> None:
        self.conn = conn

    def add(self, app: App) -> None:
        self.conn.execute(
            insert(t.apps).values(
                id=app.id,
                name=app.name,
                client_secret_hash=app.client_secret_hash,
                public=app.public,
                token_endpoint_auth_method=app.token_endpoint_auth_method,
                redirect_uris=list(app.redirect_uris),
                post_logout_redirect_uris=list(app.post_logout_redirect_uris),
                initiate_login_uri=app.initiate_login_uri,
                backchannel_logout_uri=app.backchannel_logout_uri,
                id_token_signed_response_alg=app.id_token_signed_response_alg,
                jwks=app.jwks,
                icon_url=app.icon_url,
                status=app.status,
                created_at=app.created_at or utcnow(),
            )
        )

    def find(self, app_id: str) -> App | None:
        row = self.conn.execute(select(t.apps).where(t.apps.c.id == app_id)).first()
        return None if row is None else _app(row)

    def get(self, app_id: str) -> App:
        app = self.find(app_id)
        if app is None:
            raise NotFound("app not found")
        return app

    def list(self) -> list[App]:
        return [_app(r) for r in self.conn.execute(select(t.apps).order_by(t.apps.c.name))]

    def set_secret_hash(self, app_id: str, secret_hash: str) -> None:
        result = self.conn.execute(
            update(t.apps).where(t.apps.c.id == app_id).values(client_secret_hash=secret_hash)
        )
        if result.rowcount == 0:
            raise NotFound("app not found")


def _app(row: Row[Any]) -> App:
    return App(
        id=row.id,
        name=row.name,
        public=row.public,
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        redirect_uris=tuple(row.redirect_uris),
        client_secret_hash=row.client_secret_hash,
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
        initiate_login_uri=row.initiate_login_uri,
        backchannel_logout_uri=row.backchannel_logout_uri,
        id_token_signed_response_alg=row.id_token_signed_response_alg,
        jwks=row.jwks,
        icon_url=row.icon_url,
        status=row.status,
        created_at=row.created_at,
    )


class SqlPlatformAuditLog:
    def __init__(self, conn: SqlConnection) -> None:
        self.conn = conn

    def append(self, event: AuditEvent) -> AuditEvent:
        event_id, at = new_id("audit"), utcnow()
        self.conn.execute(
            insert(t.platform_audit_events).values(
                id=event_id,
                at=at,
                actor=event.actor,
                action=event.action,
                target_type=event.target_type,
                target_id=event.target_id,
                detail=event.detail,
            )
        )
        return _replace_event(event, event_id, at)


# --------------------------------------------------------------------------- tenant


class SqlSchools(_Tenant):
    table = t.schools

    def add(self, school: School) -> None:
        now = utcnow()
        self._insert(
            {
                "id": school.id,
                "sourced_id": school.sourced_id,
                "name": school.name,
                "school_number": school.school_number,
                "status": school.status,
                "synced_at": school.synced_at,
                "created_at": now,
                "updated_at": now,
            }
        )

    def get(self, school_id: str) -> School:
        return _school(self._one(school_id, "school"))

    def list(self, *, limit: int = 100, after: str | None = None) -> list[School]:
        return [_school(r) for r in self._page(after, limit)]

    def count(self) -> int:
        return self._count()


def _school(row: Row[Any]) -> School:
    return School(
        district_id=row.district_id,
        id=row.id,
        name=row.name,
        sourced_id=row.sourced_id,
        school_number=row.school_number,
        status=row.status,
        synced_at=row.synced_at,
    )


class SqlUsers(_Tenant):
    table = t.users

    def add(self, user: User, password_hash: str | None = None) -> None:
        now = utcnow()
        self._insert(
            {
                "id": user.id,
                "sourced_id": user.sourced_id,
                "role": user.role.value,
                "username": user.username,
                "email": user.email,
                "given_name": user.given_name,
                "family_name": user.family_name,
                "grade": user.grade,
                "status": user.status,
                "password_hash": password_hash,
                "synced_at": user.synced_at,
                "created_at": now,
                "updated_at": now,
            }
        )
        for school_id in user.school_ids:
            try:
                with self.conn.begin_nested():
                    self.conn.execute(
                        insert(t.user_schools).values(
                            district_id=self.district_id, user_id=user.id, school_id=school_id
                        )
                    )
            except IntegrityError as exc:
                raise NotFound("school not found") from exc

    def _schools_of(self, user_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        if not user_ids:
            return {}
        rows = self.conn.execute(
            select(t.user_schools.c.user_id, t.user_schools.c.school_id)
            .where(
                t.user_schools.c.district_id == self.district_id,
                t.user_schools.c.user_id.in_(list(user_ids)),
            )
            .order_by(t.user_schools.c.school_id)
        )
        found: dict[str, list[str]] = {}
        for user_id, school_id in rows:
            found.setdefault(user_id, []).append(school_id)
        return {k: tuple(v) for k, v in found.items()}

    def _users(self, rows: Sequence[Row[Any]]) -> list[User]:
        schools = self._schools_of([r.id for r in rows])
        return [_user(r, schools.get(r.id, ())) for r in rows]

    def get(self, user_id: str) -> User:
        # Prebuilt statements, no IN list: the portal reads its signed-in user per page.
        key = {"d": self.district_id, "u": user_id}
        row = self.conn.execute(_USER_BY_ID, key).first()
        if row is None:
            raise NotFound("user not found")
        schools = tuple(self.conn.execute(_SCHOOLS_OF_USER, key).scalars())
        return _user(row, schools)

    def by_username(self, username: str) -> User | None:
        row = self.conn.execute(
            select(t.users).where(self._mine, t.users.c.username == username)
        ).first()
        return None if row is None else self._users([row])[0]

    def password_hash(self, user_id: str) -> str | None:
        value = self.conn.execute(
            select(t.users.c.password_hash).where(self._mine, t.users.c.id == user_id)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        result = self.conn.execute(
            update(t.users)
            .where(self._mine, t.users.c.id == user_id)
            .values(password_hash=password_hash, updated_at=utcnow())
        )
        if result.rowcount == 0:
            raise NotFound("user not found")

    def list(
        self, *, role: Role | None = None, limit: int = 100, after: str | None = None
    ) -> list[User]:
        where = [] if role is None else [t.users.c.role == role.value]
        return self._users(self._page(after, limit, *where))

    def count(self, *, role: Role | None = None) -> int:
        return self._count(*([] if role is None else [t.users.c.role == role.value]))

    def delete(self, user_id: str) -> None:
        result = self.conn.execute(delete(t.users).where(self._mine, t.users.c.id == user_id))
        if result.rowcount == 0:
            raise NotFound("user not found")


def _user(row: Row[Any], school_ids: tuple[str, ...]) -> User:
    return User(
        district_id=row.district_id,
        id=row.id,
        role=Role(row.role),
        username=row.username,
        given_name=row.given_name,
        family_name=row.family_name,
        email=row.email,
        grade=row.grade,
        sourced_id=row.sourced_id,
        status=row.status,
        school_ids=school_ids,
        synced_at=row.synced_at,
    )


class SqlSections(_Tenant):
    table = t.sections

    def add(self, section: Section) -> None:
        now = utcnow()
        self._insert(
            {
                "id": section.id,
                "sourced_id": section.sourced_id,
                "school_id": section.school_id,
                "title": section.title,
                "subject": section.subject,
                "grade": section.grade,
                "period": section.period,
                "status": section.status,
                "synced_at": section.synced_at,
                "created_at": now,
                "updated_at": now,
            }
        )

    def get(self, section_id: str) -> Section:
        return _section(self._one(section_id, "section"))

    def list(self, *, limit: int = 100, after: str | None = None) -> list[Section]:
        return [_section(r) for r in self._page(after, limit)]

    def count(self) -> int:
        return self._count()


def _section(row: Row[Any]) -> Section:
    return Section(
        district_id=row.district_id,
        id=row.id,
        school_id=row.school_id,
        title=row.title,
        subject=row.subject,
        grade=row.grade,
        period=row.period,
        sourced_id=row.sourced_id,
        status=row.status,
        synced_at=row.synced_at,
    )


class SqlEnrollments(_Tenant):
    table = t.enrollments

    def add(self, enrollment: Enrollment) -> None:
        self._insert(
            {
                "id": enrollment.id,
                "sourced_id": enrollment.sourced_id,
                "section_id": enrollment.section_id,
                "user_id": enrollment.user_id,
                "role": enrollment.role.value,
                "status": enrollment.status,
                "created_at": utcnow(),
            }
        )

    def for_section(self, section_id: str) -> list[Enrollment]:
        rows = self.conn.execute(
            select(t.enrollments)
            .where(self._mine, t.enrollments.c.section_id == section_id)
            .order_by(t.enrollments.c.id)
        )
        return [_enrollment(r) for r in rows]

    def for_user(self, user_id: str) -> list[Enrollment]:
        rows = self.conn.execute(
            select(t.enrollments)
            .where(self._mine, t.enrollments.c.user_id == user_id)
            .order_by(t.enrollments.c.id)
        )
        return [_enrollment(r) for r in rows]


def _enrollment(row: Row[Any]) -> Enrollment:
    return Enrollment(
        district_id=row.district_id,
        id=row.id,
        section_id=row.section_id,
        user_id=row.user_id,
        role=Role(row.role),
        sourced_id=row.sourced_id,
        status=row.status,
    )


class SqlConnections(_Tenant):
    table = t.connections

    def put(self, connection: Connection) -> None:
        now = utcnow()
        values = {
            "status": connection.status,
            "scope_mode": connection.scope_mode.value,
            "school_ids": list(connection.school_ids),
            "section_ids": list(connection.section_ids),
            "rules": [dict(r) for r in connection.rules],
            "field_groups": [g.value for g in connection.field_groups],
            "roles_allowed": list(connection.roles_allowed),
            "expires_at": connection.expires_at,
            "updated_at": now,
        }
        result = self.conn.execute(
            update(t.connections)
            .where(self._mine, t.connections.c.app_id == connection.app_id)
            .values(**values)
        )
        if result.rowcount == 0:
            self._insert({"app_id": connection.app_id, "created_at": now, **values})

    def find(self, app_id: str) -> Connection | None:
        row = self.conn.execute(
            select(t.connections).where(self._mine, t.connections.c.app_id == app_id)
        ).first()
        return None if row is None else _connection(row)

    def get(self, app_id: str) -> Connection:
        found = self.find(app_id)
        if found is None:
            raise NotFound("connection not found")
        return found

    def list(self) -> list[Connection]:
        # Prebuilt: every launchpad lists its district's connections.
        rows = self.conn.execute(_CONNECTIONS_OF, {"d": self.district_id})
        return [_connection(r) for r in rows]

    def delete(self, app_id: str) -> None:
        result = self.conn.execute(
            delete(t.connections).where(self._mine, t.connections.c.app_id == app_id)
        )
        if result.rowcount == 0:
            raise NotFound("connection not found")


def _connection(row: Row[Any]) -> Connection:
    return Connection(
        district_id=row.district_id,
        app_id=row.app_id,
        status=row.status,
        scope_mode=ScopeMode(row.scope_mode),
        school_ids=tuple(row.school_ids),
        section_ids=tuple(row.section_ids),
        rules=tuple(row.rules),
        field_groups=tuple(FieldGroup(g) for g in row.field_groups),
        roles_allowed=tuple(row.roles_allowed),
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# One statement, compiled once (values as parameters): the next ``seq`` is read inside the
# INSERT on the (district, seq) index, so an append never reads before it writes and never
# counts the district's whole log.
_AUDIT_APPEND = insert(t.audit_events).values(
    seq=select(func.coalesce(func.max(t.audit_events.c.seq), 0) + 1)
    .where(t.audit_events.c.district_id == bindparam("seq_district"))
    .scalar_subquery()
)
_AUDIT_LAST_SEQ = select(func.coalesce(func.max(t.audit_events.c.seq), 0)).where(
    t.audit_events.c.district_id == bindparam("d")
)
_AUDIT_INSERT = insert(t.audit_events)

# PostgreSQL: a district's appenders take turns until commit (a transaction-level advisory
# lock on the district), so that each reads the last ``seq`` its predecessor committed.
# Without it, two transactions appending at once read the same last ``seq`` (READ COMMITTED
# does not see the other's uncommitted row) and wrote the same number. SQLite's write
# transactions already take turns (BEGIN IMMEDIATE). The two-key form, whose first key
# names the audit log, has a key space of its own, apart from the one-key locks
# (``repos_secrets.AUDIT_LOCK_KEY``).
AUDIT_SEQ_LOCK_CLASS = 0x5EC1
_AUDIT_SEQ_LOCK = text("SELECT pg_advisory_xact_lock(:k, hashtext(:d))")


def _event_columns(event: AuditEvent) -> dict[str, Any]:
    """What the caller says about an audit event; id, time, district and seq are ours."""
    return {
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "ip": event.ip,
        "detail": event.detail,
    }


class SqlAuditLog(_Tenant):
    """Append-only: there is no update or delete method, and the app role may only insert
    and select on this table (see the migration's grants)."""

    table = t.audit_events

    def _take_turn(self) -> None:
        """Wait for this district's other appenders to commit (PostgreSQL; see above)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(_AUDIT_SEQ_LOCK, {"k": AUDIT_SEQ_LOCK_CLASS, "d": self.district_id})

    def append(self, event: AuditEvent) -> AuditEvent:
        event_id, at = new_id("audit"), utcnow()
        self._take_turn()
        try:
            self.conn.execute(
                _AUDIT_APPEND,
                {
                    "district_id": self.district_id,
                    "seq_district": self.district_id,
                    "id": event_id,
                    "at": at,
                    **_event_columns(event),
                },
            )
        except IntegrityError as exc:
            raise Conflict("audit_events: duplicate event id") from exc
        return _replace_event(event, event_id, at, self.district_id)

    def append_many(self, events: Sequence[AuditEvent]) -> None:
        """Append a batch (group commit): one read of the last ``seq``, one executemany,
        after this district's other appenders have committed (``_take_turn``)."""
        if not events:
            return
        self._take_turn()
        last = int(self.conn.execute(_AUDIT_LAST_SEQ, {"d": self.district_id}).scalar_one())
        at = utcnow()
        rows = [
            {
                "district_id": self.district_id,
                "id": event_id,
                "seq": last + n,
                "at": at,
                **_event_columns(event),
            }
            for n, (event_id, event) in enumerate(
                zip(new_ids("audit", len(events)), events, strict=True), start=1
            )
        ]
        try:
            self.conn.execute(_AUDIT_INSERT, rows)
        except IntegrityError as exc:
            raise Conflict("audit_events: duplicate event id") from exc

    def list(
        self, *, since: dt.datetime | None = None, limit: int = 1000, action: str | None = None
    ) -> list[AuditEvent]:
        query = select(t.audit_events).where(self._mine)
        if since is not None:
            query = query.where(t.audit_events.c.at >= since)
        if action is not None:
            query = query.where(t.audit_events.c.action == action)
        query = query.order_by(t.audit_events.c.seq).limit(max(1, min(limit, MAX_PAGE)))
        return [
            AuditEvent(
                actor=r.actor,
                action=r.action,
                district_id=r.district_id,
                target_type=r.target_type,
                target_id=r.target_id,
                outcome=r.outcome,
                ip=r.ip,
                detail=dict(r.detail),
                id=r.id,
                at=r.at,
            )
            for r in self.conn.execute(query)
        ]


def _replace_event(
    event: AuditEvent, event_id: str, at: dt.datetime, district_id: str | None = None
) -> AuditEvent:
    return AuditEvent(
        actor=event.actor,
        action=event.action,
        district_id=district_id,
        target_type=event.target_type,
        target_id=event.target_id,
        outcome=event.outcome,
        ip=event.ip,
        detail=event.detail,
        id=event_id,
        at=at,
    )
