"""Clever-style reads (``/api/v3``): districts, schools, terms, courses, sections, users,
nested collections, ``/me`` and ``/events``, with cursor paging (``limit``,
``starting_after``, ``ending_before``) and ``links``, all through the sharing filter.

Records are ordered by id; a page fetches one extra row to know whether a ``next`` link
exists. Events are ordered too (their ids sort by sequence) and cover 30 days; each is
shown only if its record is shared with the app (for a deletion: was shared), or if it
was addressed to this app alone (an unsharing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.sql import FromClause

from homeroom.roster.query.errors import InvalidPaging, UnknownObject
from homeroom.sharing.models import FieldGroup
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql import UnitOfWork
from homeroom.storage.sql import tables as t
from homeroom.storage.sql import tables_roster as tr
from homeroom.storage.sql.types import utcnow
from homeroom.storage.sql.visibility import Visibility

__all__ = ["BASE", "CleverReader", "Cursor"]

BASE = "/api/v3"
MAX_LIMIT = 10_000
EVENT_WINDOW = dt.timedelta(days=30)
Row = Mapping[str, Any]

# Clever collection name -> (record type, table)
KINDS: dict[str, tuple[str, FromClause]] = {
    "schools": ("school", t.schools),
    "sections": ("section", t.sections),
    "users": ("user", t.users),
    "terms": ("term", tr.academic_sessions),
    "courses": ("course", tr.courses),
}
USER_ROLES = ("student", "teacher", "staff", "guardian")


@dataclass(frozen=True, slots=True)
class Cursor:
    limit: int = 100
    starting_after: str | None = None
    ending_before: str | None = None


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value.isoformat()


class CleverReader:
    """Clever-shaped reads for one app in the unit of work's district."""

    def __init__(self, uow: UnitOfWork, policy: SharingPolicy) -> None:
        if uow.district_id is None or uow.district_id != policy.district_id:
            raise UnknownObject("no such district")
        self.uow = uow
        self.policy = policy
        self.district_id = uow.district_id
        self.vis = Visibility(policy)

    # ------------------------------------------------------------------ public

    def district(self) -> dict[str, Any]:
        district = self.uow.districts.get(self.district_id)
        return {
            "data": {"id": district.id, "name": district.name},
            "uri": f"{BASE}/districts/{district.id}",
        }

    def collection(
        self, kind: str, cursor: Cursor, *, role: str | None = None, where: Any = None
    ) -> dict[str, Any]:
        record_type, table = KINDS[kind]
        condition = and_(table.c.district_id == self.district_id, self.vis.for_type(record_type))
        if role is not None:
            if role not in USER_ROLES:
                raise InvalidPaging(f"role must be one of {', '.join(USER_ROLES)}")
            condition = and_(condition, table.c.role == role)
        if where is not None:
            condition = and_(condition, where(table))
        rows, has_before, has_after = self._page(table, condition, cursor)
        items = self._serialize(kind, rows)
        path = f"{BASE}/{kind}"
        return {
            "data": [{"data": item, "uri": f"{path}/{item['id']}"} for item in items],
            "links": _links(path, cursor, items, has_before, has_after, {"role": role}),
        }

    def get(self, kind: str, record_id: str) -> dict[str, Any]:
        record_type, table = KINDS[kind]
        row = (
            self.uow.conn.execute(
                select(table).where(
                    table.c.district_id == self.district_id,
                    table.c.id == record_id,
                    self.vis.for_type(record_type),
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise UnknownObject(f"{kind} {record_id!r} not found")
        item = self._serialize(kind, [dict(row)])[0]
        return {"data": item, "uri": f"{BASE}/{kind}/{record_id}"}

    def nested(self, parent: str, parent_id: str, child: str, cursor: Cursor) -> dict[str, Any]:
        conditions: dict[tuple[str, str], Callable[[FromClause], ColumnElement[bool]]] = {
            ("schools", "sections"): lambda s: s.c.school_id == parent_id,
            ("schools", "users"): lambda u: _in_school(u, parent_id),
            ("users", "sections"): lambda s: _enrolled(parent_id, s.c.id),
            ("sections", "users"): lambda u: _enrolled(u.c.id, parent_id),
            ("courses", "sections"): lambda s: s.c.course_id == parent_id,
        }
        if (parent, child) not in conditions:
            raise UnknownObject(f"no collection {parent}/{{id}}/{child}")
        self.get(parent, parent_id)  # 404 unless the parent is shared
        page = self.collection(child, cursor, where=conditions[(parent, child)])
        path = f"{BASE}/{parent}/{parent_id}/{child}"
        for link in page["links"]:
            link["uri"] = link["uri"].replace(f"{BASE}/{child}", path, 1)
        return page

    def me(self, subject: str) -> dict[str, Any]:
        """The signed-in user, if the app may see them (a user's token reaches only this)."""
        found = self.get("users", subject)
        return {
            "data": {"id": subject, "district": self.district_id, "type": _role_key(found)},
            "links": [{"rel": "canonical", "uri": f"{BASE}/users/{subject}"}],
        }

    def events(self, cursor: Cursor, now: dt.datetime | None = None) -> dict[str, Any]:
        if not 1 <= cursor.limit <= MAX_LIMIT:
            raise InvalidPaging(f"limit must be 1-{MAX_LIMIT}")
        since = (now or utcnow()) - EVENT_WINDOW
        e = tr.roster_events
        base = and_(
            e.c.district_id == self.district_id,
            e.c.at >= since,
            e.c.record_type.in_(["school", "section", "user", "term", "course"]),
            or_(e.c.app_id.is_(None), e.c.app_id == self.policy.app_id),
        )
        backwards = cursor.ending_before is not None
        found: list[dict[str, Any]] = []
        position = cursor.ending_before if backwards else cursor.starting_after
        exhausted = False
        while len(found) <= cursor.limit and not exhausted:
            query = select(e).where(base)
            if position is not None:
                query = query.where(e.c.id < position if backwards else e.c.id > position)
            query = query.order_by(e.c.id.desc() if backwards else e.c.id).limit(500)
            batch = [dict(r) for r in self.uow.conn.execute(query).mappings()]
            exhausted = len(batch) < 500
            if batch:
                position = batch[-1]["id"]
            found += self._shared_events(batch)
        has_more = len(found) > cursor.limit
        found = found[: cursor.limit]
        if backwards:
            found.reverse()
        objects = self._event_objects(found)
        items = [
            {
                "id": ev["id"],
                "type": f"{_plural(ev['record_type'])}.{ev['action']}",
                "created": _iso(ev["at"]),
                "data": {
                    "object": objects.get((ev["record_type"], ev["record_id"]))
                    or {"id": ev["record_id"]}
                },
            }
            for ev in found
        ]
        path = f"{BASE}/events"
        has_before = has_more if backwards else cursor.starting_after is not None
        has_after = cursor.ending_before is not None if backwards else has_more
        return {
            "data": [{"data": item, "uri": f"{path}/{item['id']}"} for item in items],
            "links": _links(path, cursor, items, has_before, has_after, {}),
        }

    # ------------------------------------------------------------------ paging

    def _page(
        self, table: FromClause, condition: Any, cursor: Cursor
    ) -> tuple[list[dict[str, Any]], bool, bool]:
        if not 1 <= cursor.limit <= MAX_LIMIT:
            raise InvalidPaging(f"limit must be 1-{MAX_LIMIT}")
        if cursor.starting_after and cursor.ending_before:
            raise InvalidPaging("use starting_after or ending_before, not both")
        query = select(table).where(condition)
        if cursor.ending_before:
            query = query.where(table.c.id < cursor.ending_before).order_by(table.c.id.desc())
        else:
            if cursor.starting_after:
                query = query.where(table.c.id > cursor.starting_after)
            query = query.order_by(table.c.id)
        rows = [dict(r) for r in self.uow.conn.execute(query.limit(cursor.limit + 1)).mappings()]
        more = len(rows) > cursor.limit
        rows = rows[: cursor.limit]
        if cursor.ending_before:
            rows.reverse()
            return rows, more, True
        return rows, cursor.starting_after is not None, more

    # ------------------------------------------------------------------ events

    def _shared_events(self, batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep app-addressed events, and district events whose record is (was) shared."""
        wanted: dict[str, set[str]] = {}
        for ev in batch:
            if ev["app_id"] is None:
                wanted.setdefault(ev["record_type"], set()).add(ev["record_id"])
        visible: set[tuple[str, str]] = set()
        past = Visibility(self.policy, include_deleted=True)
        for record_type, ids in wanted.items():
            table = {v[0]: v[1] for v in KINDS.values()}[record_type]
            rows = self.uow.conn.execute(
                select(table.c.id).where(
                    table.c.district_id == self.district_id,
                    table.c.id.in_(sorted(ids)),
                    past.for_type(record_type),
                )
            )
            visible |= {(record_type, i) for i in rows.scalars()}
        return [
            ev
            for ev in batch
            if ev["app_id"] is not None or (ev["record_type"], ev["record_id"]) in visible
        ]

    def _event_objects(self, events: Sequence[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        """Current state of the records of created/updated events that are still shared."""
        objects: dict[tuple[str, str], Any] = {}
        by_kind: dict[str, set[str]] = {}
        for ev in events:
            if ev["action"] != "deleted":
                by_kind.setdefault(_plural(ev["record_type"]), set()).add(ev["record_id"])
        for kind, ids in by_kind.items():
            record_type, table = KINDS[kind]
            rows = [
                dict(r)
                for r in self.uow.conn.execute(
                    select(table).where(
                        table.c.district_id == self.district_id,
                        table.c.id.in_(sorted(ids)),
                        self.vis.for_type(record_type),
                    )
                ).mappings()
            ]
            for item in self._serialize(kind, rows):
                objects[(record_type, item["id"])] = item
        return objects

    # ------------------------------------------------------------------ shapes

    def _serialize(self, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        d = self.district_id
        if kind == "schools":
            return [
                {
                    "id": r["id"],
                    "district": d,
                    "name": r["name"],
                    "school_number": r["school_number"],
                    "sis_id": r["sourced_id"],
                    "created": _iso(r["created_at"]),
                    "last_modified": _iso(r["updated_at"]),
                }
                for r in rows
            ]
        if kind == "terms":
            return [
                {
                    "id": r["id"],
                    "district": d,
                    "name": r["title"],
                    "start_date": _iso(r["start_date"]),
                    "end_date": _iso(r["end_date"]),
                }
                for r in rows
            ]
        if kind == "courses":
            return [
                {"id": r["id"], "district": d, "name": r["title"], "number": r["course_code"]}
                for r in rows
            ]
        if kind == "sections":
            people = self._section_people([r["id"] for r in rows])
            return [
                {
                    "id": r["id"],
                    "district": d,
                    "school": r["school_id"],
                    "name": r["title"],
                    "period": r["period"],
                    "subject": r["subject"],
                    "grade": r["grade"],
                    "course": r["course_id"],
                    "term_id": (r["term_ids"] or [None])[0],
                    "teachers": people.get((r["id"], "teacher"), []),
                    "students": people.get((r["id"], "student"), []),
                    "sis_id": r["sourced_id"],
                    "created": _iso(r["created_at"]),
                    "last_modified": _iso(r["updated_at"]),
                }
                for r in rows
            ]
        return self._users(rows)

    def _users(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [r["id"] for r in rows]
        schools = self._user_schools(ids)
        demographics = (
            self._demographics(ids) if self.policy.grants(FieldGroup.DEMOGRAPHICS) else {}
        )
        children = self._children(ids) if self.policy.shares_guardians() else {}
        email = self.policy.grants(FieldGroup.EMAIL)
        out = []
        for r in rows:
            mine = schools.get(r["id"], [])
            role_key = _role_key(r)
            details: dict[str, Any] = {
                "sis_id": r["sourced_id"],
                "schools": mine,
                "school": mine[0] if mine else None,
            }
            if role_key == "student":
                details |= {"grade": r["grade"], "student_number": r["identifier"]}
                demo = demographics.get(r["id"])
                if demo is not None:
                    details |= demo
            elif role_key == "teacher":
                details["teacher_number"] = r["identifier"]
            elif role_key == "contact":
                details = {"sis_id": r["sourced_id"], "students": children.get(r["id"], [])}
            item: dict[str, Any] = {
                "id": r["id"],
                "district": self.district_id,
                "name": {
                    "first": r["given_name"],
                    "last": r["family_name"],
                    "middle": r["middle_name"],
                },
                "roles": {role_key: details},
                "created": _iso(r["created_at"]),
                "last_modified": _iso(r["updated_at"]),
            }
            if email:
                item["email"] = r["email"]
            out.append(item)
        return out

    def _user_schools(self, ids: list[str]) -> dict[str, list[str]]:
        if not ids:
            return {}
        us, s = t.user_schools, t.schools
        rows = self.uow.conn.execute(
            select(us.c.user_id, us.c.school_id)
            .join(s, and_(s.c.district_id == us.c.district_id, s.c.id == us.c.school_id))
            .where(us.c.district_id == self.district_id, us.c.user_id.in_(ids), self.vis.schools(s))
            .order_by(us.c.school_id)
        )
        found: dict[str, list[str]] = {}
        for user_id, school_id in rows:
            found.setdefault(user_id, []).append(school_id)
        return found

    def _children(self, ids: list[str]) -> dict[str, list[str]]:
        if not ids:
            return {}
        ua, child = tr.user_agents, t.users.alias()
        rows = self.uow.conn.execute(
            select(ua.c.agent_id, ua.c.user_id)
            .join(child, and_(child.c.district_id == ua.c.district_id, child.c.id == ua.c.user_id))
            .where(
                ua.c.district_id == self.district_id,
                ua.c.agent_id.in_(ids),
                child.c.role == "student",
                self.vis.users(child),
            )
        )
        found: dict[str, list[str]] = {}
        for agent_id, user_id in rows:
            found.setdefault(agent_id, []).append(user_id)
        return found

    def _demographics(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        dm = tr.demographics
        rows = self.uow.conn.execute(
            select(dm).where(
                dm.c.district_id == self.district_id,
                dm.c.user_id.in_(ids),
                dm.c.status == "active",
            )
        ).mappings()
        out = {}
        for r in rows:
            data = r["data"] or {}
            races = [
                k
                for k in (
                    "americanIndianOrAlaskaNative",
                    "asian",
                    "blackOrAfricanAmerican",
                    "nativeHawaiianOrOtherPacificIslander",
                    "white",
                )
                if data.get(k) is True
            ]
            out[r["user_id"]] = {
                "dob": _iso(r["birth_date"]),
                "gender": r["sex"],
                "race": races,
                "hispanic_ethnicity": data.get("hispanicOrLatinoEthnicity"),
            }
        return out

    def _section_people(self, section_ids: list[str]) -> dict[tuple[str, str], list[str]]:
        if not section_ids:
            return {}
        e, u = t.enrollments, t.users.alias()
        rows = self.uow.conn.execute(
            select(e.c.section_id, u.c.role, u.c.id)
            .join(u, and_(u.c.district_id == e.c.district_id, u.c.id == e.c.user_id))
            .where(
                e.c.district_id == self.district_id,
                e.c.section_id.in_(section_ids),
                e.c.status == "active",
                self.vis.users(u),
            )
            .order_by(u.c.id)
        )
        found: dict[tuple[str, str], list[str]] = {}
        for section_id, role, user_id in rows:
            found.setdefault((section_id, role), []).append(user_id)
        return found


def _role_key(user: Mapping[str, Any]) -> str:
    role = str(user.get("role", "student"))
    return "contact" if role == "guardian" else role


def _plural(record_type: str) -> str:
    return {
        "school": "schools",
        "section": "sections",
        "user": "users",
        "term": "terms",
        "course": "courses",
    }.get(record_type, record_type + "s")


def _in_school(user: FromClause, school_id: str) -> ColumnElement[bool]:
    us = t.user_schools.alias()
    from sqlalchemy import exists

    return exists().where(
        us.c.district_id == user.c.district_id,
        us.c.user_id == user.c.id,
        us.c.school_id == school_id,
    )


def _enrolled(user_id: Any, section_id: Any) -> ColumnElement[bool]:
    from sqlalchemy import exists

    e = t.enrollments.alias()
    return exists().where(
        e.c.user_id == user_id, e.c.section_id == section_id, e.c.status == "active"
    )


def _links(
    path: str,
    cursor: Cursor,
    items: Sequence[Mapping[str, Any]],
    has_before: bool,
    has_after: bool,
    extra: Mapping[str, str | None],
) -> list[dict[str, str]]:
    base = {k: v for k, v in extra.items() if v is not None}

    def uri(**params: Any) -> str:
        query = urlencode({**base, "limit": cursor.limit, **params})
        return f"{path}?{query}"

    current = {}
    if cursor.starting_after:
        current["starting_after"] = cursor.starting_after
    if cursor.ending_before:
        current["ending_before"] = cursor.ending_before
    links = [{"rel": "self", "uri": uri(**current)}]
    if items and has_before:
        links.append({"rel": "prev", "uri": uri(ending_before=items[0]["id"])})
    if items and has_after:
        links.append({"rel": "next", "uri": uri(starting_after=items[-1]["id"])})
    return links
