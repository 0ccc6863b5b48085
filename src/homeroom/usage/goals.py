"""Teachers' usage goals for their sections, progress toward them, and district adoption.

Who sees what: a teacher reaches only the sections they teach (an enrollment with the
teacher role); a district admin every section of their district; anyone else nothing. A
section (or goal) outside that reach answers "not found", exactly like one that does not
exist, so a teacher cannot probe for other classes. Weeks run Monday to Sunday (UTC).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from homeroom.audit.models import AuditEvent
from homeroom.errors import InvalidInput, NotFound, PermissionDenied
from homeroom.ids import new_id
from homeroom.roster.models import Role, Section, User
from homeroom.sharing.service import SharingService
from homeroom.storage.sql import Database, UnitOfWork
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.usage.models import Goal

__all__ = ["MAX_GOAL_MINUTES", "UsageGoals", "week_of"]

MAX_GOAL_MINUTES = 7 * 24 * 60


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of ``day``'s week."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def _viewer(uow: UnitOfWork, user_id: str) -> User:
    try:
        return uow.users.get(user_id)
    except NotFound:
        raise PermissionDenied("teachers and district admins only") from None


def _reachable_sections(uow: UnitOfWork, viewer: User) -> set[str] | None:
    """Sections the viewer may set goals for; None means every section (district admin)."""
    if viewer.role is Role.DISTRICT_ADMIN:
        return None
    if viewer.role is Role.TEACHER:
        return {e.section_id for e in uow.enrollments.for_user(viewer.id) if e.role is Role.TEACHER}
    raise PermissionDenied("teachers and district admins only")


def _check_section(uow: UnitOfWork, viewer: User, section_id: str) -> None:
    reach = _reachable_sections(uow, viewer)
    if reach is not None and section_id not in reach:
        raise NotFound("section not found")
    uow.sections.get(section_id)  # NotFound when absent from this district


@dataclass
class UsageGoals:
    db: Database

    def create(
        self,
        district_id: str,
        user_id: str,
        *,
        section_id: str,
        app_id: str,
        minutes_per_week: int,
        starts_on: dt.date,
        ends_on: dt.date,
        ip: str | None = None,
    ) -> Goal:
        if not 1 <= minutes_per_week <= MAX_GOAL_MINUTES:
            raise InvalidInput(f"minutes_per_week must be 1..{MAX_GOAL_MINUTES}")
        if ends_on < starts_on:
            raise InvalidInput("ends_on must not be before starts_on")
        with TenantScope(district_id), self.db.scoped(write=True) as uow:
            viewer = _viewer(uow, user_id)
            _check_section(uow, viewer, section_id)
            if SharingService.policy(uow, app_id) is None:
                raise NotFound("app not connected")
            goal = Goal(
                district_id=district_id,
                id=new_id("goal"),
                section_id=section_id,
                app_id=app_id,
                minutes_per_week=minutes_per_week,
                starts_on=starts_on,
                ends_on=ends_on,
                created_by=f"user:{user_id}",
                created_at=utcnow(),
            )
            uow.usage_goals.add(goal)
            uow.audit.append(
                AuditEvent(
                    actor=goal.created_by,
                    action="usage.goal.create",
                    target_type="usage_goal",
                    target_id=goal.id,
                    ip=ip,
                    detail={"section_id": section_id, "app_id": app_id},
                )
            )
        return goal

    def delete(self, district_id: str, user_id: str, goal_id: str, ip: str | None = None) -> None:
        with TenantScope(district_id), self.db.scoped(write=True) as uow:
            viewer = _viewer(uow, user_id)
            goal = uow.usage_goals.get(goal_id)
            reach = _reachable_sections(uow, viewer)
            if reach is not None and goal.section_id not in reach:
                raise NotFound("goal not found")
            uow.usage_goals.delete(goal_id)
            uow.audit.append(
                AuditEvent(
                    actor=f"user:{user_id}",
                    action="usage.goal.delete",
                    target_type="usage_goal",
                    target_id=goal_id,
                    ip=ip,
                    detail={"section_id": goal.section_id, "app_id": goal.app_id},
                )
            )

    def sections(self, district_id: str, user_id: str) -> list[Section]:
        """The sections the viewer may set goals for, by title (the portal's goal form)."""
        with TenantScope(district_id), self.db.scoped() as uow:
            reach = _reachable_sections(uow, _viewer(uow, user_id))
            found = _all(uow) if reach is None else [uow.sections.get(s) for s in reach]
        return sorted(found, key=lambda s: (s.title.lower(), s.id))

    def apps(self, district_id: str, user_id: str) -> dict[str, str]:
        """Apps a goal can be set for (active connections of the district), id to name,
        for the viewer's goal form; the same reach check as the goals themselves."""
        now = utcnow()
        with TenantScope(district_id), self.db.scoped() as uow:
            _reachable_sections(uow, _viewer(uow, user_id))
            found = {}
            for connection in uow.connections.list():
                app = uow.apps.find(connection.app_id)
                if connection.active(now) and app is not None:
                    found[app.id] = app.name
        return dict(sorted(found.items(), key=lambda item: (item[1].lower(), item[0])))

    def progress(
        self,
        district_id: str,
        user_id: str,
        *,
        section_id: str | None = None,
        today: dt.date | None = None,
    ) -> list[dict[str, Any]]:
        """The viewer's goals (of one section, or all they reach), each with this week's
        minutes per student of the section against the goal."""
        today = today or utcnow().date()
        monday, sunday = week_of(today)
        with TenantScope(district_id), self.db.scoped() as uow:
            viewer = _viewer(uow, user_id)
            if section_id is not None:
                _check_section(uow, viewer, section_id)
                sections = [section_id]
            else:
                reach = _reachable_sections(uow, viewer)
                sections = sorted(reach) if reach is not None else [s.id for s in _all(uow)]
            out = []
            for goal in uow.usage_goals.for_sections(sections):
                students = [
                    e.user_id
                    for e in uow.enrollments.for_section(goal.section_id)
                    if e.role is Role.STUDENT
                ]
                minutes = uow.usage_rollups.minutes_by_user(students, goal.app_id, monday, sunday)
                active = goal.starts_on <= today <= goal.ends_on
                rows = []
                for student_id in students:
                    student = uow.users.get(student_id)
                    got = minutes.get(student_id, 0)
                    rows.append(
                        {
                            "user_id": student_id,
                            "given_name": student.given_name,
                            "family_name": student.family_name,
                            "minutes": got,
                            "goal_minutes": goal.minutes_per_week,
                            "met": got >= goal.minutes_per_week,
                        }
                    )
                out.append(
                    {
                        **goal_dict(goal),
                        "active": active,
                        "week": {"starts_on": monday.isoformat(), "ends_on": sunday.isoformat()},
                        "students": rows,
                        "students_met": sum(1 for r in rows if r["met"]),
                    }
                )
        return out


def _all(uow: UnitOfWork) -> list[Any]:
    return list(uow.sections.list(limit=10_000))


def goal_dict(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "section_id": goal.section_id,
        "app_id": goal.app_id,
        "minutes_per_week": goal.minutes_per_week,
        "starts_on": goal.starts_on.isoformat(),
        "ends_on": goal.ends_on.isoformat(),
        "created_by": goal.created_by,
        "created_at": goal.created_at.isoformat(),
    }
