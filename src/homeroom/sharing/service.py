"""District admins decide what each connected app may read; this service applies it.

Changing a connection is diffed like an import: records the app could read before and
cannot now get a ``deleted`` event addressed to that app only (so its copy is removed),
newly shared ones a ``created`` event. "What can this app see" is answered with the same
SQL conditions the APIs use, so the counts shown to the admin are the API's counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from homeroom.audit.models import AuditEvent
from homeroom.errors import InvalidInput, NotFound
from homeroom.ids import ordered_ids
from homeroom.roster.models import District, Role
from homeroom.sharing.models import Connection, FieldGroup, ScopeMode
from homeroom.sharing.policy import SharingPolicy, fields_for, validate_rules
from homeroom.storage.sql import Database, UnitOfWork
from homeroom.storage.sql import tables as t
from homeroom.storage.sql.types import utcnow
from homeroom.storage.sql.visibility import Visibility
from homeroom.tenancy import TenantScope

__all__ = ["SHARED_TYPES", "SharingService"]

# Record kinds an app can read, in the order they are reported.
SHARED_TYPES = ("school", "term", "course", "section", "user", "enrollment", "demographics")
STATUSES = ("active", "paused", "disabled")
ROLES = tuple(r.value for r in Role if r not in (Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN))


@dataclass
class SharingService:
    db: Database

    # ------------------------------------------------------------------ reading

    @staticmethod
    def policy(
        uow: UnitOfWork, app_id: str, now: dt.datetime | None = None
    ) -> SharingPolicy | None:
        """The app's policy in the unit of work's district (None: nothing shared)."""
        return SharingPolicy.of(uow.connections.find(app_id), now or utcnow())

    @staticmethod
    def visible(uow: UnitOfWork, policy: SharingPolicy | None) -> dict[str, set[str]]:
        vis = Visibility(policy)
        return {kind: uow.roster.ids_where(kind, vis.for_type(kind)) for kind in SHARED_TYPES}

    @staticmethod
    def user_fields(
        uow: UnitOfWork, app_id: str, user_id: str, now: dt.datetime | None = None
    ) -> tuple[str, ...] | None:
        """For token claims and sign-in: None when the app may not see this user (not
        connected, not shared, expired), else the user fields it may read (claims beyond
        them must be left out of ID tokens and userinfo)."""
        policy = SharingService.policy(uow, app_id, now)
        if policy is None:
            return None
        condition = Visibility(policy).users() & (t.users.c.id == user_id)
        if not uow.roster.count_where("user", condition):
            return None
        return fields_for("user", policy.field_groups)

    def show(self, district: District, app_id: str) -> dict[str, Any]:
        """Per record type: how many records the app can read, and which fields."""
        with TenantScope(district.id), self.db.scoped() as uow:
            connection = uow.connections.find(app_id)
            if connection is None:
                raise NotFound(f"app {app_id!r} is not connected to {district.slug}")
            policy = SharingPolicy.of(connection, utcnow())
            vis = Visibility(policy)
            groups = policy.field_groups if policy else frozenset()
            records = {
                kind: {
                    "count": uow.roster.count_where(kind, vis.for_type(kind)),
                    "fields": list(fields_for(kind, groups)) if policy else [],
                }
                for kind in SHARED_TYPES
            }
        return {
            "district": district.slug,
            "app_id": app_id,
            "status": connection.status,
            "effective": policy is not None,
            "mode": connection.scope_mode.value,
            "school_ids": list(connection.school_ids),
            "section_ids": list(connection.section_ids),
            "rules": [dict(r) for r in connection.rules],
            "field_groups": [g.value for g in connection.field_groups],
            "roles": list(connection.roles_allowed),
            "expires_at": connection.expires_at.isoformat() if connection.expires_at else None,
            "records": records,
        }

    # ------------------------------------------------------------------ changing

    def set_connection(
        self,
        district: District,
        app_id: str,
        *,
        mode: ScopeMode,
        schools: Sequence[str] = (),
        sections: Sequence[str] = (),
        rules: Sequence[dict[str, Any]] = (),
        field_groups: Sequence[FieldGroup] = (FieldGroup.BASIC,),
        roles: Sequence[str] = ("student", "teacher"),
        expires_at: dt.datetime | None = None,
        status: str = "active",
        actor: str = "cli",
    ) -> tuple[Connection, dict[str, dict[str, int]]]:
        """Create or replace the district's connection to ``app_id``. Schools and sections
        may be named by Homeroom id or SIS sourcedId. Returns the connection and, per
        record type, how many records were newly shared and unshared."""
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        bad_roles = sorted(set(roles) - set(ROLES))
        if bad_roles:
            raise InvalidInput(f"unknown role {bad_roles[0]!r} (allowed: {', '.join(ROLES)})")
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidInput("expiry must carry a time zone")
        groups = tuple(dict.fromkeys((FieldGroup.BASIC, *field_groups)))
        clean_rules = validate_rules(rules) if mode is ScopeMode.RULES else ()
        if mode is ScopeMode.RULES and not clean_rules:
            raise InvalidInput("mode 'rules' needs at least one rule")
        with self.db.platform() as uow:
            if uow.apps.find(app_id) is None:
                raise NotFound(f"app {app_id!r} not found")
        with TenantScope(district.id), self.db.scoped() as uow:
            school_ids = self._resolve(uow, "school", schools if mode is ScopeMode.SCHOOLS else ())
            section_ids = self._resolve(
                uow, "section", sections if mode is ScopeMode.SECTIONS else ()
            )
            if mode is ScopeMode.SCHOOLS and not school_ids:
                raise InvalidInput("mode 'schools' needs at least one school")
            if mode is ScopeMode.SECTIONS and not section_ids:
                raise InvalidInput("mode 'sections' needs at least one section")
            if clean_rules:
                named = [s for r in clean_rules for s in r.get("school", ())]
                self._resolve(uow, "school", named)  # raises NotFound for an unknown school
                mapping = uow.roster.resolve("school", named)
                clean_rules = tuple(
                    {
                        **r,
                        **(
                            {"school": sorted(mapping[s] for s in r["school"])}
                            if "school" in r
                            else {}
                        ),
                    }
                    for r in clean_rules
                )
            now = utcnow()
            old = uow.connections.find(app_id)
            before = self.visible(uow, SharingPolicy.of(old, now))
            connection = Connection(
                district_id=district.id,
                app_id=app_id,
                status=status,
                scope_mode=mode,
                school_ids=tuple(school_ids),
                section_ids=tuple(section_ids),
                rules=clean_rules,
                field_groups=groups,
                roles_allowed=tuple(dict.fromkeys(roles)),
                expires_at=expires_at,
            )
            uow.connections.put(connection)
            after = self.visible(uow, SharingPolicy.of(connection, now))
            changes = self._emit(uow, app_id, before, after, now)
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="connection.set",
                    target_type="app",
                    target_id=app_id,
                    detail={
                        "mode": mode.value,
                        "status": status,
                        "field_groups": [g.value for g in groups],
                        "changes": changes,
                    },
                )
            )
        return connection, changes

    def disconnect(
        self, district: District, app_id: str, actor: str = "cli"
    ) -> dict[str, dict[str, int]]:
        """Remove the connection; the app is told every record it held is deleted."""
        with TenantScope(district.id), self.db.scoped() as uow:
            old = uow.connections.find(app_id)
            if old is None:
                raise NotFound(f"app {app_id!r} is not connected to {district.slug}")
            now = utcnow()
            before = self.visible(uow, SharingPolicy.of(old, now))
            uow.connections.delete(app_id)
            changes = self._emit(uow, app_id, before, {k: set() for k in before}, now)
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="connection.delete",
                    target_type="app",
                    target_id=app_id,
                    detail={"changes": changes},
                )
            )
        return changes

    @staticmethod
    def _resolve(uow: UnitOfWork, kind: str, refs: Sequence[str]) -> list[str]:
        refs = list(dict.fromkeys(refs))
        found = uow.roster.resolve(kind, refs)
        missing = [r for r in refs if r not in found]
        if missing:
            raise NotFound(f"{kind} {missing[0]!r} not found")
        return list(dict.fromkeys(found[r] for r in refs))

    @staticmethod
    def _emit(
        uow: UnitOfWork,
        app_id: str,
        before: dict[str, set[str]],
        after: dict[str, set[str]],
        now: dt.datetime,
    ) -> dict[str, dict[str, int]]:
        events: list[tuple[str, str, str]] = []
        changes: dict[str, dict[str, int]] = {}
        for kind in SHARED_TYPES:
            gone = sorted(before[kind] - after[kind])
            new = sorted(after[kind] - before[kind])
            changes[kind] = {"shared": len(new), "unshared": len(gone)}
            events += [("deleted", kind, i) for i in gone]
            events += [("created", kind, i) for i in new]
        rows: list[dict[str, Any]] = []
        if events:
            seq = uow.roster.max_event_seq() + 1
            ids = ordered_ids("event", seq, len(events))
            for n, ((action, kind, record_id), event_id) in enumerate(
                zip(events, ids, strict=True)
            ):
                rows.append(
                    {
                        "id": event_id,
                        "seq": seq + n,
                        "at": now,
                        "action": action,
                        "record_type": kind,
                        "record_id": record_id,
                        "app_id": app_id,
                        "import_id": None,
                        "changed": None,
                    }
                )
            uow.roster.append_events(rows)
        return changes
