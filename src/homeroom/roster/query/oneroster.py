"""OneRoster 1.1 rostering REST reads: collections, single records and nested collections,
with ``limit``/``offset``, ``sort``/``orderBy``, ``filter`` and ``fields`` (REST binding
§3.4), all narrowed by the app's sharing policy.

``sourcedId`` in the output is Homeroom's opaque id (``usr_…``): apps never see SIS ids.
A record outside the app's share is :class:`UnknownObject` (404), the same answer as a
record that does not exist, so an app learns nothing about what it was not given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.sql import FromClause

from homeroom.roster.query.errors import (
    InvalidBlankSelectionField,
    InvalidPaging,
    InvalidSelectionField,
    InvalidSortField,
    UnknownObject,
)
from homeroom.roster.query.filter import Field, compile_filter, parse_filter
from homeroom.sharing.models import FieldGroup
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql import UnitOfWork
from homeroom.storage.sql import tables as t
from homeroom.storage.sql import tables_roster as tr
from homeroom.storage.sql.visibility import Visibility

__all__ = ["BASE", "RESOURCES", "ListParams", "OneRosterReader", "Page"]

BASE = "/ims/oneroster/v1p1"
MAX_LIMIT = 10_000
MAX_OFFSET = 1_000_000_000  # beyond any district; SQLite integers stop at 2**63
Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ListParams:
    limit: int = 100
    offset: int = 0
    sort: str | None = None
    order_by: str | None = None
    filter: str | None = None
    fields: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value.isoformat()


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def _ref(collection: str, kind: str, record_id: str | None) -> dict[str, str] | None:
    if record_id is None:
        return None
    return {"href": f"{BASE}/{collection}/{record_id}", "sourcedId": record_id, "type": kind}


def _common(row: Row) -> dict[str, Any]:
    return {
        "sourcedId": row["id"],
        "status": row["status"],
        "dateLastModified": _iso(row["date_last_modified"] or row["updated_at"]),
    }


@dataclass(frozen=True)
class Resource:
    """One OneRoster collection: where its rows come from, which fields it has."""

    name: str
    single: str
    record_type: str
    source: Callable[[Visibility, str], tuple[FromClause, ColumnElement[bool]]]
    fields: Callable[[FromClause, SharingPolicy], dict[str, Field]]
    serialize: Callable[[OneRosterReader, Sequence[Row]], list[dict[str, Any]]]


# ---------------------------------------------------------------------- sources


def _table_source(
    table: FromClause,
    record_type: str,
    extra: Callable[[FromClause], ColumnElement[bool]] | None = None,
) -> Callable[[Visibility, str], tuple[FromClause, ColumnElement[bool]]]:
    def source(vis: Visibility, district_id: str) -> tuple[FromClause, ColumnElement[bool]]:
        where = and_(table.c.district_id == district_id, vis.for_type(record_type, table))
        if extra is not None:
            where = and_(where, extra(table))
        return table, where

    return source


def _orgs_source(vis: Visibility, district_id: str) -> tuple[FromClause, ColumnElement[bool]]:
    """Schools and the other orgs (district, departments…) as one collection."""
    s, o = t.schools, tr.roster_orgs
    schools = select(
        s.c.district_id,
        s.c.id,
        s.c.name,
        literal("school").label("type"),
        s.c.school_number.label("identifier"),
        s.c.parent_id,
        s.c.status,
        s.c.date_last_modified,
        s.c.updated_at,
    ).where(s.c.district_id == district_id, vis.schools(s))
    others = select(
        o.c.district_id,
        o.c.id,
        o.c.name,
        o.c.type,
        o.c.identifier,
        o.c.parent_id,
        o.c.status,
        o.c.date_last_modified,
        o.c.updated_at,
    ).where(
        o.c.district_id == district_id,
        o.c.status == "active",
        true() if vis.policy is not None else literal(False),
    )
    return union_all(schools, others).subquery("orgs"), true()


# ---------------------------------------------------------------------- field maps


def _base_fields(table: FromClause) -> dict[str, Field]:
    return {
        "sourcedId": Field(table.c.id),
        "status": Field(table.c.status),
        "dateLastModified": Field(table.c.date_last_modified, "datetime"),
    }


def _org_fields(table: FromClause, _p: SharingPolicy) -> dict[str, Field]:
    return {
        **_base_fields(table),
        "name": Field(table.c.name),
        "type": Field(table.c.type),
        "identifier": Field(table.c.identifier),
    }


def _school_fields(table: FromClause, _p: SharingPolicy) -> dict[str, Field]:
    return {
        **_base_fields(table),
        "name": Field(table.c.name),
        "identifier": Field(table.c.school_number),
    }


def _session_fields(table: FromClause, _p: SharingPolicy) -> dict[str, Field]:
    return {
        **_base_fields(table),
        "title": Field(table.c.title),
        "type": Field(table.c.type),
        "startDate": Field(table.c.start_date, "date"),
        "endDate": Field(table.c.end_date, "date"),
        "schoolYear": Field(table.c.school_year),
    }


def _course_fields(table: FromClause, _p: SharingPolicy) -> dict[str, Field]:
    return {
        **_base_fields(table),
        "title": Field(table.c.title),
        "courseCode": Field(table.c.course_code),
        "grades": Field(table.c.grades),
        "subjects": Field(table.c.subjects),
    }


def _class_fields(table: FromClause, _p: SharingPolicy) -> dict[str, Field]:
    return {
        **_base_fields(table),
        "title": Field(table.c.title),
        "classCode": Field(table.c.class_code),
        "classType": Field(table.c.class_type),
        "location": Field(table.c.location),
        "grades": Field(table.c.grades),
        "subjects": Field(table.c.subject),
        "periods": Field(table.c.period),
    }


def _user_fields(table: FromClause, policy: SharingPolicy) -> dict[str, Field]:
    fields = {
        **_base_fields(table),
        "username": Field(table.c.username),
        "givenName": Field(table.c.given_name),
        "familyName": Field(table.c.family_name),
        "middleName": Field(table.c.middle_name),
        "role": Field(table.c.oneroster_role),
        "identifier": Field(table.c.identifier),
        "enabledUser": Field(table.c.enabled_user, "bool"),
        "grades": Field(table.c.grades),
    }
    if policy.grants(FieldGroup.EMAIL):
        fields |= {
            "email": Field(table.c.email),
            "sms": Field(table.c.sms),
            "phone": Field(table.c.phone),
        }
    return fields


def _enrollment_fields(table: FromClause, _p: SharingPolicy) -> dict[str, Field]:
    return {
        **_base_fields(table),
        "role": Field(table.c.oneroster_role),
        "primary": Field(table.c.primary, "bool"),
        "beginDate": Field(table.c.begin_date, "date"),
        "endDate": Field(table.c.end_date, "date"),
    }


def _demographics_fields(table: FromClause, _p: SharingPolicy) -> dict[str, Field]:
    return {
        "sourcedId": Field(table.c.user_id),
        "status": Field(table.c.status),
        "dateLastModified": Field(table.c.date_last_modified, "datetime"),
        "birthDate": Field(table.c.birth_date, "date"),
        "sex": Field(table.c.sex),
    }


# ---------------------------------------------------------------------- serializers


def _orgs(reader: OneRosterReader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            **_common(r),
            "name": r["name"],
            "type": r["type"],
            "identifier": r["identifier"] or "",
            "parent": _ref("orgs", "org", r["parent_id"]),
        }
        for r in rows
    ]


def _sessions(reader: OneRosterReader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            **_common(r),
            "title": r["title"],
            "type": r["type"],
            "startDate": _iso(r["start_date"]),
            "endDate": _iso(r["end_date"]),
            "parent": _ref("academicSessions", "academicSession", r["parent_id"]),
            "schoolYear": r["school_year"],
        }
        for r in rows
    ]


def _courses(reader: OneRosterReader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            **_common(r),
            "title": r["title"],
            "schoolYear": _ref("academicSessions", "academicSession", r["school_year_id"]),
            "courseCode": r["course_code"] or "",
            "grades": _split(r["grades"]),
            "subjects": _split(r["subjects"]),
            "org": _ref("orgs", "org", r["org_id"]),
            "subjectCodes": _split(r["subject_codes"]),
        }
        for r in rows
    ]


def _classes(reader: OneRosterReader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            **_common(r),
            "title": r["title"],
            "classCode": r["class_code"] or "",
            "classType": r["class_type"] or "scheduled",
            "location": r["location"] or "",
            "grades": _split(r["grades"]),
            "subjects": _split(r["subject"]),
            "course": _ref("courses", "course", r["course_id"]),
            "school": _ref("schools", "org", r["school_id"]),
            "terms": [_ref("academicSessions", "academicSession", x) for x in r["term_ids"] or []],
            "subjectCodes": _split(r["subject_codes"]),
            "periods": _split(r["period"]),
        }
        for r in rows
    ]


def _users(reader: OneRosterReader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    schools = reader.user_schools(ids)
    agents = reader.user_agents(ids) if reader.policy.shares_guardians() else {}
    email = reader.policy.grants(FieldGroup.EMAIL)
    out = []
    for r in rows:
        item = {
            **_common(r),
            "username": r["username"],
            "userIds": [],
            "enabledUser": "false" if r["enabled_user"] is False else "true",
            "givenName": r["given_name"],
            "familyName": r["family_name"],
            "middleName": r["middle_name"] or "",
            "role": r["oneroster_role"] or r["role"],
            "identifier": r["identifier"] or "",
            "orgs": [_ref("orgs", "org", s) for s in schools.get(r["id"], [])],
            "grades": _split(r["grades"]),
        }
        if email:
            item |= {"email": r["email"] or "", "sms": r["sms"] or "", "phone": r["phone"] or ""}
        if reader.policy.shares_guardians():
            item["agents"] = [_ref("users", "user", a) for a in agents.get(r["id"], [])]
        out.append(item)
    return out


def _enrollments(reader: OneRosterReader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            **_common(r),
            "user": _ref("users", "user", r["user_id"]),
            "class": _ref("classes", "class", r["section_id"]),
            "school": _ref("schools", "org", r["school_id"]),
            "role": r["oneroster_role"] or r["role"],
            "primary": "true" if r["primary"] else "false",
            "beginDate": _iso(r["begin_date"]),
            "endDate": _iso(r["end_date"]),
        }
        for r in rows
    ]


def _demographics(reader: OneRosterReader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        data = dict(r["data"] or {})
        item: dict[str, Any] = {
            "sourcedId": r["user_id"],
            "status": r["status"],
            "dateLastModified": _iso(r["date_last_modified"] or r["updated_at"]),
            "birthDate": _iso(r["birth_date"]),
            "sex": r["sex"] or "",
        }
        for key, value in data.items():
            item[key] = ("true" if value else "false") if isinstance(value, bool) else value
        out.append(item)
    return out


def _res(
    name: str,
    single: str,
    record_type: str,
    table: FromClause,
    fields: Callable[[FromClause, SharingPolicy], dict[str, Field]],
    serialize: Callable[[OneRosterReader, Sequence[Row]], list[dict[str, Any]]],
    extra: Callable[[FromClause], ColumnElement[bool]] | None = None,
) -> Resource:
    return Resource(
        name, single, record_type, _table_source(table, record_type, extra), fields, serialize
    )


RESOURCES: dict[str, Resource] = {
    "orgs": Resource("orgs", "org", "school", _orgs_source, _org_fields, _orgs),
    "schools": _res(
        "schools",
        "org",
        "school",
        t.schools,
        _school_fields,
        lambda r, rows: [
            {**o, "type": "school"}
            for o in _orgs(
                r, [{**x, "type": "school", "identifier": x["school_number"]} for x in rows]
            )
        ],
    ),
    "academicSessions": _res(
        "academicSessions",
        "academicSession",
        "term",
        tr.academic_sessions,
        _session_fields,
        _sessions,
    ),
    "terms": _res(
        "terms",
        "academicSession",
        "term",
        tr.academic_sessions,
        _session_fields,
        _sessions,
        lambda x: x.c.type == "term",
    ),
    "gradingPeriods": _res(
        "gradingPeriods",
        "academicSession",
        "term",
        tr.academic_sessions,
        _session_fields,
        _sessions,
        lambda x: x.c.type == "gradingPeriod",
    ),
    "courses": _res("courses", "course", "course", tr.courses, _course_fields, _courses),
    "classes": _res("classes", "class", "section", t.sections, _class_fields, _classes),
    "enrollments": _res(
        "enrollments", "enrollment", "enrollment", t.enrollments, _enrollment_fields, _enrollments
    ),
    "users": _res("users", "user", "user", t.users, _user_fields, _users),
    "students": _res(
        "students", "user", "user", t.users, _user_fields, _users, lambda x: x.c.role == "student"
    ),
    "teachers": _res(
        "teachers", "user", "user", t.users, _user_fields, _users, lambda x: x.c.role == "teacher"
    ),
    "demographics": _res(
        "demographics",
        "demographics",
        "demographics",
        tr.demographics,
        _demographics_fields,
        _demographics,
    ),
}


def _enrolled(user_col: Any, section_col: Any, district: str) -> ColumnElement[bool]:
    e = t.enrollments.alias()
    return exists().where(
        e.c.district_id == district,
        e.c.user_id == user_col,
        e.c.section_id == section_col,
        e.c.status == "active",
    )


def _in_school(user_col: Any, school_id: str, district: str) -> ColumnElement[bool]:
    us = t.user_schools.alias()
    return exists().where(
        us.c.district_id == district, us.c.user_id == user_col, us.c.school_id == school_id
    )


# (parent collection, child collection) -> condition on the child given the parent's id.
NESTED: dict[tuple[str, str], Callable[[FromClause, str, str], ColumnElement[bool]]] = {
    ("schools", "classes"): lambda c, pid, d: c.c.school_id == pid,
    ("schools", "courses"): lambda c, pid, d: c.c.org_id == pid,
    ("schools", "enrollments"): lambda c, pid, d: c.c.school_id == pid,
    ("schools", "students"): lambda c, pid, d: _in_school(c.c.id, pid, d),
    ("schools", "teachers"): lambda c, pid, d: _in_school(c.c.id, pid, d),
    ("schools", "users"): lambda c, pid, d: _in_school(c.c.id, pid, d),
    ("schools", "terms"): lambda c, pid, d: true(),
    ("classes", "students"): lambda c, pid, d: _enrolled(c.c.id, pid, d),
    ("classes", "teachers"): lambda c, pid, d: _enrolled(c.c.id, pid, d),
    ("classes", "users"): lambda c, pid, d: _enrolled(c.c.id, pid, d),
    ("classes", "enrollments"): lambda c, pid, d: c.c.section_id == pid,
    ("courses", "classes"): lambda c, pid, d: c.c.course_id == pid,
    ("users", "classes"): lambda c, pid, d: _enrolled(pid, c.c.id, d),
    ("students", "classes"): lambda c, pid, d: _enrolled(pid, c.c.id, d),
    ("teachers", "classes"): lambda c, pid, d: _enrolled(pid, c.c.id, d),
    ("terms", "classes"): lambda c, pid, d: cast(c.c.term_ids, String).contains(f'"{pid}"'),
}


class OneRosterReader:
    """Reads for one app in one district (the unit of work's), through its policy."""

    def __init__(self, uow: UnitOfWork, policy: SharingPolicy) -> None:
        if uow.district_id is None or uow.district_id != policy.district_id:
            raise UnknownObject("no such district")
        self.uow = uow
        self.policy = policy
        self.district_id = uow.district_id
        self.vis = Visibility(policy)

    # ------------------------------------------------------------------ public

    def collection(self, resource: str, params: ListParams) -> Page:
        res = RESOURCES[resource]
        source, where = res.source(self.vis, self.district_id)
        return self._page(res, source, where, params)

    def get(self, resource: str, record_id: str, fields: str | None = None) -> dict[str, Any]:
        res = RESOURCES[resource]
        source, where = res.source(self.vis, self.district_id)
        key = source.c.user_id if res.record_type == "demographics" else source.c.id
        row = (
            self.uow.conn.execute(select(source).where(where, key == record_id)).mappings().first()
        )
        if row is None:
            raise UnknownObject(f"{res.single} {record_id!r} not found")
        item = res.serialize(self, [dict(row)])[0]
        return self._select_fields(res, [item], fields)[0]

    def nested(self, parent: str, parent_id: str, child: str, params: ListParams) -> Page:
        if (parent, child) not in NESTED:
            raise UnknownObject(f"no collection {parent}/{{id}}/{child}")
        self.get(parent, parent_id, None)  # 404 unless the parent is shared
        res = RESOURCES[child]
        source, where = res.source(self.vis, self.district_id)
        condition = NESTED[(parent, child)](source, parent_id, self.district_id)
        return self._page(res, source, and_(where, condition), params)

    # ------------------------------------------------------------------ helpers

    def _page(
        self, res: Resource, source: FromClause, where: ColumnElement[bool], params: ListParams
    ) -> Page:
        if not 1 <= params.limit <= MAX_LIMIT or not 0 <= params.offset <= MAX_OFFSET:
            raise InvalidPaging(f"limit must be 1-{MAX_LIMIT} and offset 0-{MAX_OFFSET}")
        fields = res.fields(source, self.policy)
        if params.filter:
            where = and_(where, compile_filter(parse_filter(params.filter), fields))
        order = self._order(res, source, fields, params)
        conn = self.uow.conn
        total = int(
            conn.execute(select(func.count()).select_from(source).where(where)).scalar_one()
        )
        query = select(source).where(where).order_by(*order)
        result = conn.execute(query.limit(params.limit).offset(params.offset)).mappings()
        rows = [dict(r) for r in result]
        items = res.serialize(self, rows)
        return Page(
            self._select_fields(res, items, params.fields), total, params.offset, params.limit
        )

    @staticmethod
    def _order(
        res: Resource, source: FromClause, fields: dict[str, Field], params: ListParams
    ) -> list[Any]:
        key = source.c.user_id if res.record_type == "demographics" else source.c.id
        direction = (params.order_by or "asc").lower()
        if direction not in ("asc", "desc"):
            raise InvalidSortField("orderBy must be asc or desc")
        if not params.sort:
            return [key.desc() if direction == "desc" else key]
        field = fields.get(params.sort)
        if field is None:
            raise InvalidSortField(f"cannot sort by {params.sort!r}")
        column = field.column
        return [column.desc() if direction == "desc" else column.asc(), key]

    def _select_fields(
        self, res: Resource, items: list[dict[str, Any]], fields: str | None
    ) -> list[dict[str, Any]]:
        if fields is None:
            return items
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
        if not wanted:
            raise InvalidBlankSelectionField("fields is empty")
        available = set(items[0]) if items else self._field_names(res)
        unknown = [f for f in wanted if f not in available]
        if unknown:
            raise InvalidSelectionField(f"unknown field {unknown[0]!r}")
        return [{f: item[f] for f in wanted} for item in items]

    def _field_names(self, res: Resource) -> set[str]:
        return set(res.fields(res.source(self.vis, self.district_id)[0], self.policy)) | {
            "parent",
            "orgs",
            "agents",
            "userIds",
            "course",
            "school",
            "terms",
            "class",
            "user",
            "schoolYear",
            "org",
            "subjectCodes",
            "periods",
            "grades",
            "subjects",
        }

    def user_schools(self, user_ids: Sequence[str]) -> dict[str, list[str]]:
        """Schools of each user that the app can see."""
        if not user_ids:
            return {}
        us, s = t.user_schools, t.schools
        rows = self.uow.conn.execute(
            select(us.c.user_id, us.c.school_id)
            .join(s, and_(s.c.district_id == us.c.district_id, s.c.id == us.c.school_id))
            .where(
                us.c.district_id == self.district_id,
                us.c.user_id.in_(list(user_ids)),
                self.vis.schools(s),
            )
            .order_by(us.c.school_id)
        )
        found: dict[str, list[str]] = {}
        for user_id, school_id in rows:
            found.setdefault(user_id, []).append(school_id)
        return found

    def user_agents(self, user_ids: Sequence[str]) -> dict[str, list[str]]:
        """Agents (guardians, or their children) of each user that the app can see."""
        if not user_ids:
            return {}
        ua, u = tr.user_agents, t.users.alias()
        rows = self.uow.conn.execute(
            select(ua.c.user_id, ua.c.agent_id)
            .join(u, and_(u.c.district_id == ua.c.district_id, u.c.id == ua.c.agent_id))
            .where(
                ua.c.district_id == self.district_id,
                ua.c.user_id.in_(list(user_ids)),
                self.vis.users(u),
            )
            .order_by(ua.c.agent_id)
        )
        found: dict[str, list[str]] = {}
        for user_id, agent_id in rows:
            found.setdefault(user_id, []).append(agent_id)
        return found
