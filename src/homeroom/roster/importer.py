"""Import a OneRoster CSV package into one district: all or nothing, idempotent, diffed.

One transaction per import. Inside it the importer reads what is stored (a snapshot per
record kind: sourcedId → id, content hash, status), validates the whole package against
it, and only then writes. An invalid package raises :class:`PackageInvalid` with every
issue and the transaction rolls back, so the database is exactly as before.

The diff: a row whose sourcedId is new is *created*; one whose content hash differs (or
that was deleted and is back) is *updated*; a stored record missing from a bulk file, or
``tobedeleted`` in a delta file, is *deleted* — kept with status ``tobedeleted``, never
dropped, so apps can be told. Each of these becomes a change event. Every row named by
the package gets ``synced_at`` = the import's time. Re-importing the same package changes
nothing but ``synced_at``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homeroom.audit.models import AuditEvent
from homeroom.audit.trail import AuditTrail
from homeroom.ids import new_ids, ordered_ids
from homeroom.roster.models import Role
from homeroom.roster.oneroster_csv import (
    FileData,
    Issue,
    Mode,
    PackageInvalid,
    PackageSource,
    read_package,
)
from homeroom.roster.oneroster_csv.parse import MANAGED_ELSEWHERE
from homeroom.storage.sql import Database
from homeroom.storage.sql import tables as t
from homeroom.storage.sql import tables_roster as tr
from homeroom.storage.sql.roster_store import EventRow, Snapshot, SqlRosterStore, chunks
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["KINDS", "ImportResult", "KindCounts", "RosterImporter", "homeroom_role"]

Progress = Callable[[str, int, int | None], None]

# (kind, file, id prefix) in write order: a kind only refers to earlier kinds.
KINDS: tuple[tuple[str, str, str], ...] = (
    ("org", "orgs", "org"),
    ("school", "orgs", "school"),
    ("term", "academicSessions", "term"),
    ("course", "courses", "course"),
    ("section", "classes", "section"),
    ("user", "users", "user"),
    ("demographics", "demographics", "user"),
    ("enrollment", "enrollments", "enrollment"),
)
# Where a reference's ids come from when it may name either kind of org.
_ORG_KINDS = ("school", "org")
_KNOWN = {
    "academicSessions": "term",
    "courses": "course",
    "classes": "section",
    "users": "user",
}


def homeroom_role(oneroster_role: str) -> Role:
    """Map a OneRoster role to Homeroom's. SIS administrators become ``staff``: an import
    never grants Homeroom admin rights (those are given by a district admin)."""
    if oneroster_role in ("student", "teacher"):
        return Role(oneroster_role)
    if oneroster_role in ("guardian", "parent", "relative"):
        return Role.GUARDIAN
    return Role.STAFF


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
        }


@dataclass
class ImportResult:
    import_id: str
    district_id: str
    version: str
    modes: dict[str, str]
    counts: dict[str, KindCounts]
    warnings: list[Issue]
    events: int
    seconds: float
    synced_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "district_id": self.district_id,
            "oneroster_version": self.version,
            "modes": self.modes,
            "counts": {k: v.as_dict() for k, v in self.counts.items()},
            "events": self.events,
            "warnings": [w.as_dict() for w in self.warnings],
            "seconds": round(self.seconds, 3),
            "synced_at": self.synced_at.isoformat(),
        }


def _digest(row: tuple[Any, ...]) -> str:
    """Content hash of a row: every column but dateLastModified (first) and the line (last),
    so a re-export that only bumps timestamps is not a change."""
    return hashlib.blake2b(repr(row[1:-1]).encode(), digest_size=8).hexdigest()


def _joined(values: tuple[str, ...] | None, limit: int) -> str | None:
    return ",".join(values)[:limit] if values else None


@dataclass
class _Plan:
    kind: str
    rows: dict[str, tuple[Any, ...]]
    creates: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class RosterImporter:
    db: Database

    def import_package(
        self,
        district_id: str,
        path: Path,
        *,
        actor: str = "cli",
        progress: Progress | None = None,
    ) -> ImportResult:
        """Validate and apply the package at ``path``; raise ``PackageInvalid`` (nothing
        changed) when it has errors. Either way the district's audit log records the
        attempt (a rejected package as a ``failure``, written after the rollback)."""
        try:
            return self._apply(district_id, path, actor=actor, progress=progress)
        except PackageInvalid as exc:
            AuditTrail(self.db).record(
                district_id,
                AuditEvent(
                    actor=actor,
                    action="roster.import",
                    target_type="import",
                    outcome="failure",
                    detail={
                        "source": path.name[:255],
                        "errors": len(exc.errors),
                        "issues": len(exc.issues),
                    },
                ),
            )
            raise

    def _apply(
        self, district_id: str, path: Path, *, actor: str, progress: Progress | None
    ) -> ImportResult:
        started = time.monotonic()
        with PackageSource(path) as source, TenantScope(district_id), self.db.scoped() as uow:
            store = uow.roster
            store.prepare_bulk()
            try:
                snaps = {kind: store.snapshot(kind) for kind, _, _ in KINDS}
                known = _known(snaps)
                usernames = {
                    name: (sid if sid is not None else MANAGED_ELSEWHERE)
                    for name, sid in store.usernames().items()
                }

                def file_progress(name: str, rows: int) -> None:
                    if progress is not None:
                        progress(f"read {name}.csv", rows, None)

                parsed = read_package(source, known, usernames, file_progress)
                if parsed.errors or parsed.manifest is None:
                    raise PackageInvalid(parsed.issues)
                now = utcnow()
                writer = _Writer(store, snaps, parsed.files, now, progress)
                counts, events, import_id = writer.run()
                modes = {name: data.mode.value for name, data in parsed.files.items()}
                warnings = parsed.warnings
                store.record_run(
                    {
                        "id": import_id,
                        "started_at": now,
                        "finished_at": utcnow(),
                        "source": source.name[:255],
                        "version": parsed.manifest.version,
                        "modes": modes,
                        "counts": {k: v.as_dict() for k, v in counts.items()},
                        "warnings": [w.as_dict() for w in warnings[:500]],
                        "actor": actor,
                    }
                )
                uow.audit.append(
                    AuditEvent(
                        actor=actor,
                        action="roster.import",
                        target_type="import",
                        target_id=import_id,
                        detail={"counts": {k: v.as_dict() for k, v in counts.items()}},
                    )
                )
                return ImportResult(
                    import_id=import_id,
                    district_id=district_id,
                    version=parsed.manifest.version,
                    modes=modes,
                    counts=counts,
                    warnings=warnings,
                    events=events,
                    seconds=time.monotonic() - started,
                    synced_at=now,
                )

            finally:
                store.finish_bulk()


def _known(snaps: dict[str, Snapshot]) -> dict[str, set[str]]:
    def active(kind: str) -> set[str]:
        return {sid for sid, (_, _, status) in snaps[kind].items() if status == "active"}

    known = {file: active(kind) for file, kind in _KNOWN.items()}
    known["schools"] = active("school")
    known["orgs"] = known["schools"] | active("org")
    return known


class _Writer:
    """Applies a validated package: ids first (so references resolve), then each kind."""

    def __init__(
        self,
        store: SqlRosterStore,
        snaps: dict[str, Snapshot],
        files: dict[str, FileData],
        now: dt.datetime,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.snaps = snaps
        self.files = files
        self.now = now
        self.progress = progress
        self.ids: dict[str, dict[str, str]] = {}
        self.events: list[EventRow] = []
        self.event_count = 0
        self.seq = store.max_event_seq()
        self.import_id = new_ids("import", 1)[0]

    # ------------------------------------------------------------------ planning

    def _rows(self, kind: str, data: FileData) -> dict[str, tuple[Any, ...]]:
        if kind not in _ORG_KINDS:
            return data.rows
        t_idx = data.index("type")
        want_school = kind == "school"
        return {
            sid: row for sid, row in data.rows.items() if (row[t_idx] == "school") == want_school
        }

    def _plan(self, kind: str, prefix: str) -> _Plan | None:
        snap = self.snaps[kind]
        data = self.files.get(_file_of(kind))
        ids = {sid: entry[0] for sid, entry in snap.items()}
        if kind == "demographics":
            self.ids[kind] = ids
        if data is None:
            self.ids[kind] = ids
            return None
        rows = self._rows(kind, data)
        plan = _Plan(kind, rows)
        for sid, row in rows.items():
            digest = _digest(row)
            plan.hashes[sid] = digest
            old = snap.get(sid)
            if old is None:
                plan.creates.append(sid)
            elif old[1] != digest or old[2] != "active":
                plan.updates.append(sid)
            else:
                plan.unchanged.append(old[0])
        if data.mode is Mode.BULK:
            plan.deletes = [
                entry[0] for sid, entry in snap.items() if entry[2] == "active" and sid not in rows
            ]
        else:
            plan.deletes = [
                snap[sid][0] for sid in data.deleted if sid in snap and snap[sid][2] == "active"
            ]
            if kind in _ORG_KINDS:  # an org re-typed in a delta file leaves the other table
                plan.deletes += [
                    snap[sid][0]
                    for sid in self._rows(_other_org(kind), data)
                    if sid in snap and snap[sid][2] == "active"
                ]
        if kind != "demographics":
            fresh = new_ids(prefix, len(plan.creates))
            ids.update(zip(plan.creates, fresh, strict=True))
            self.ids[kind] = ids
        return plan

    def _org_id(self, sid: str | None) -> str | None:
        if sid is None:
            return None
        return self.ids["school"].get(sid) or self.ids["org"].get(sid)

    # ------------------------------------------------------------------ mapping

    def _values(self, kind: str, data: FileData, row: tuple[Any, ...]) -> dict[str, Any]:
        g = data.columns.index
        ids = self.ids
        if kind in _ORG_KINDS:
            values: dict[str, Any] = {
                "name": row[g("name")],
                "parent_id": self._org_id(row[g("parentSourcedId")]),
            }
            if kind == "school":
                values["school_number"] = (row[g("identifier")] or "")[:64] or None
            else:
                values["type"] = row[g("type")]
                values["identifier"] = row[g("identifier")]
            return values
        if kind == "term":
            parent = row[g("parentSourcedId")]
            return {
                "title": row[g("title")],
                "type": row[g("type")],
                "start_date": row[g("startDate")],
                "end_date": row[g("endDate")],
                "parent_id": ids["term"].get(parent) if parent else None,
                "school_year": row[g("schoolYear")],
            }
        if kind == "course":
            year = row[g("schoolYearSourcedId")]
            return {
                "title": row[g("title")],
                "school_year_id": ids["term"].get(year) if year else None,
                "course_code": row[g("courseCode")],
                "grades": _joined(row[g("grades")], 128),
                "org_id": self._org_id(row[g("orgSourcedId")]),
                "subjects": _joined(row[g("subjects")], 255),
                "subject_codes": _joined(row[g("subjectCodes")], 255),
            }
        if kind == "section":
            grades = row[g("grades")]
            return {
                "school_id": ids["school"][row[g("schoolSourcedId")]],
                "title": row[g("title")],
                "subject": _joined(row[g("subjects")], 255),
                "grade": grades[0][:8] if grades else None,
                "grades": _joined(grades, 128),
                "period": _joined(row[g("periods")], 64),
                "course_id": ids["course"].get(row[g("courseSourcedId")]),
                "class_code": row[g("classCode")],
                "class_type": row[g("classType")],
                "location": row[g("location")],
                "term_ids": [ids["term"][s] for s in row[g("termSourcedIds")]],
                "subject_codes": _joined(row[g("subjectCodes")], 255),
            }
        if kind == "user":
            grades = row[g("grades")]
            role = row[g("role")]
            return {
                "role": homeroom_role(role).value,
                "oneroster_role": role,
                "username": row[g("username")],
                "email": row[g("email")],
                "given_name": row[g("givenName")],
                "family_name": row[g("familyName")],
                "middle_name": row[g("middleName")],
                "identifier": row[g("identifier")],
                "phone": row[g("phone")],
                "sms": row[g("sms")],
                "enabled_user": row[g("enabledUser")],
                "grade": grades[0][:8] if grades else None,
                "grades": _joined(grades, 128),
            }
        if kind == "demographics":
            extra = {name: row[g(name)] for name in data.columns[3:-1] if row[g(name)] is not None}
            return {"birth_date": row[g("birthDate")], "sex": row[g("sex")], "data": extra}
        role = row[g("role")]
        return {
            "section_id": ids["section"][row[g("classSourcedId")]],
            "user_id": ids["user"][row[g("userSourcedId")]],
            "school_id": ids["school"][row[g("schoolSourcedId")]],
            "role": homeroom_role(role).value,
            "oneroster_role": role,
            "primary": row[g("primary")],
            "begin_date": row[g("beginDate")],
            "end_date": row[g("endDate")],
        }

    # ------------------------------------------------------------------ writing

    def run(self) -> tuple[dict[str, KindCounts], int, str]:
        plans: list[_Plan | None] = [self._plan(kind, prefix) for kind, _, prefix in KINDS]
        counts: dict[str, KindCounts] = {}
        for (kind, _, _), plan in zip(KINDS, plans, strict=True):
            if plan is None:
                continue
            counts[kind] = self._apply(plan)
        self._flush_events(final=True)
        return counts, self.event_count, self.import_id

    def _apply(self, plan: _Plan) -> KindCounts:
        kind = plan.kind
        data = self.files[_file_of(kind)]
        store, now = self.store, self.now
        ids = self.ids["user" if kind == "demographics" else kind]
        self._step(f"write {kind}", 0, len(plan.creates) + len(plan.updates))
        if plan.deletes:
            store.mark_deleted(kind, plan.deletes, now)
            for record_id in plan.deletes:
                self._event("deleted", kind, record_id)
        if kind == "user":
            u = data.index("username")
            claims = {plan.rows[sid][u]: sid for sid in (*plan.creates, *plan.updates)}
            store.release_usernames(list(claims), claims)
        if plan.updates:
            self._update(plan, data, ids)
        done = len(plan.updates)
        for part in chunks(plan.creates):
            rows = []
            for sid in part:
                row = plan.rows[sid]
                values = self._values(kind, data, row)
                values.update(
                    sourced_id=sid,
                    status="active",
                    date_last_modified=row[0],
                    source_hash=plan.hashes[sid],
                    synced_at=now,
                    created_at=now,
                    updated_at=now,
                )
                key = "user_id" if kind == "demographics" else "id"
                values[key] = ids[sid]
                rows.append(values)
                self._event("created", kind, ids[sid])
            store.insert(kind, rows)
            done += len(rows)
            self._step(f"write {kind}", done, len(plan.creates) + len(plan.updates))
        if kind == "user":
            self._links(plan, data)
        if data.mode is Mode.BULK and plan.unchanged:
            store.touch_all(kind, now)  # one statement; created and updated rows have it
        elif plan.unchanged:
            store.touch(kind, plan.unchanged, now)
        return KindCounts(
            created=len(plan.creates),
            updated=len(plan.updates),
            deleted=len(plan.deletes),
            unchanged=len(plan.unchanged),
        )

    def _update(self, plan: _Plan, data: FileData, ids: dict[str, str]) -> None:
        kind = plan.kind
        for part in chunks(plan.updates):
            record_ids = [ids[sid] for sid in part]
            before = self.store.rows_by_id(kind, record_ids)
            rows = []
            for sid, record_id in zip(part, record_ids, strict=True):
                row = plan.rows[sid]
                values = self._values(kind, data, row)
                old = before.get(record_id, {})
                changed = sorted(k for k, v in values.items() if old.get(k) != v)
                if old.get("status") != "active":
                    changed.append("status")
                values.update(
                    _key=record_id,
                    status="active",
                    date_last_modified=row[0],
                    source_hash=plan.hashes[sid],
                    synced_at=self.now,
                    updated_at=self.now,
                )
                rows.append(values)
                self._event("updated", kind, record_id, changed)
            self.store.update(kind, rows)

    def _links(self, plan: _Plan, data: FileData) -> None:
        """user_schools and user_agents of created and updated users."""
        users = self.ids["user"]
        o, a = data.index("orgSourcedIds"), data.index("agentSourcedIds")
        updated = [users[sid] for sid in plan.updates]
        self.store.replace_links(t.user_schools, "user_id", updated)
        self.store.replace_links(tr.user_agents, "user_id", updated)
        schools = self.ids["school"]
        school_links: list[dict[str, Any]] = []
        agent_links: list[dict[str, Any]] = []
        for sid in (*plan.creates, *plan.updates):
            row = plan.rows[sid]
            user_id = users[sid]
            for org in dict.fromkeys(row[o] or ()):
                if org in schools:
                    school_links.append({"user_id": user_id, "school_id": schools[org]})
            for agent in dict.fromkeys(row[a] or ()):
                if agent in users:
                    agent_links.append({"user_id": user_id, "agent_id": users[agent]})
        self.store.insert_links(t.user_schools, school_links)
        self.store.insert_links(tr.user_agents, agent_links)

    def _event(
        self, action: str, kind: str, record_id: str, changed: Sequence[str] | None = None
    ) -> None:
        self.events.append((action, kind, record_id, None if changed is None else list(changed)))
        if len(self.events) >= 20000:
            self._flush_events()

    def _flush_events(self, final: bool = False) -> None:
        if not self.events:
            return
        first = self.seq + 1
        ids = ordered_ids("event", first, len(self.events))
        self.store.append_import_events(self.import_id, self.now, first, ids, self.events)
        self.seq += len(self.events)
        self.event_count += len(self.events)
        self.events = []

    def _step(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


def _file_of(kind: str) -> str:
    return next(file for k, file, _ in KINDS if k == kind)


def _other_org(kind: str) -> str:
    return "org" if kind == "school" else "school"
