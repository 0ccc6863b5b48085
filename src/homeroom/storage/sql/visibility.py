"""A sharing policy as SQL conditions: "which rows of this table may app X read?".

Each method returns a boolean SQLAlchemy expression over the named table (or an alias of
it) that list queries add to their WHERE clause, so paging, counts and filters all see the
same shared subset. The expressions only ever bind values (ids, grades); nothing is
string-built. Tenant isolation stays with the unit of work (district filter + RLS); these
conditions narrow a district to what one app was given.

Semantics per mode (records must be ``active`` unless ``include_deleted``):

- district: every school, section, course and user whose role is allowed;
- schools:  the chosen schools, their sections, and users linked to them;
- sections: the chosen sections, their schools, and users enrolled in them;
- rules:    students matching any rule (grade, school), the sections they are enrolled
            in, the teachers of those sections and the schools of either.

Guardians are shared only with the ``guardians`` field group and only as guardians of a
shared student; demographics only with the ``demographics`` field group.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.sql import FromClause

from homeroom.sharing.models import FieldGroup, ScopeMode
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql import tables as t
from homeroom.storage.sql import tables_roster as tr

__all__ = ["Visibility"]

Cond = ColumnElement[bool]


class Visibility:
    """Conditions for one policy; ``policy`` None shares nothing (every condition false)."""

    def __init__(self, policy: SharingPolicy | None, *, include_deleted: bool = False) -> None:
        self.policy = policy
        self.include_deleted = include_deleted

    def _live(self, table: FromClause) -> Cond:
        return true() if self.include_deleted else table.c.status == "active"

    # ------------------------------------------------------------------ building blocks

    def _rule_match(self, user: FromClause) -> Cond:
        """A user (a student) matches any of the policy's rules."""
        assert self.policy is not None
        options: list[Cond] = []
        for rule in self.policy.rules:
            parts: list[Cond] = []
            if "grade" in rule:
                parts.append(user.c.grade.in_(rule["grade"]))
            if "school" in rule:
                us = t.user_schools.alias()
                parts.append(
                    exists().where(
                        us.c.district_id == user.c.district_id,
                        us.c.user_id == user.c.id,
                        us.c.school_id.in_(rule["school"]),
                    )
                )
            options.append(and_(*parts))
        return or_(*options) if options else false()

    def _rule_section(self, section: FromClause) -> Cond:
        """The section has an active enrollment of an active student matching a rule."""
        e, s = t.enrollments.alias(), t.users.alias()
        return exists(
            select(e.c.id)
            .select_from(e.join(s, and_(s.c.district_id == e.c.district_id, s.c.id == e.c.user_id)))
            .where(
                e.c.district_id == section.c.district_id,
                e.c.section_id == section.c.id,
                e.c.status == "active",
                e.c.role == "student",
                s.c.status == "active",
                s.c.role == "student",
                self._rule_match(s),
            )
        )

    def _section_scope(self, section: FromClause) -> Cond:
        policy = self.policy
        assert policy is not None
        if policy.mode is ScopeMode.DISTRICT:
            return true()
        if policy.mode is ScopeMode.SCHOOLS:
            return section.c.school_id.in_(policy.school_ids)
        if policy.mode is ScopeMode.SECTIONS:
            return section.c.id.in_(policy.section_ids)
        return self._rule_section(section)

    def _person_scope(self, user: FromClause) -> Cond:
        """Scope for students, teachers and staff (not guardians)."""
        policy = self.policy
        assert policy is not None
        if policy.mode is ScopeMode.DISTRICT:
            return true()
        if policy.mode is ScopeMode.SCHOOLS:
            us = t.user_schools.alias()
            return exists().where(
                us.c.district_id == user.c.district_id,
                us.c.user_id == user.c.id,
                us.c.school_id.in_(policy.school_ids),
            )
        e = t.enrollments.alias()
        enrolled = [
            e.c.district_id == user.c.district_id,
            e.c.user_id == user.c.id,
            e.c.status == "active",
        ]
        if policy.mode is ScopeMode.SECTIONS:
            return exists().where(*enrolled, e.c.section_id.in_(policy.section_ids))
        sec = t.sections.alias()
        in_shared_section = exists(
            select(e.c.id)
            .select_from(
                e.join(sec, and_(sec.c.district_id == e.c.district_id, sec.c.id == e.c.section_id))
            )
            .where(*enrolled, sec.c.status == "active", self._rule_section(sec))
        )
        student = and_(user.c.role == "student", self._rule_match(user))
        return or_(student, and_(user.c.role != "student", in_shared_section))

    # ------------------------------------------------------------------ per record type

    def users(self, user: FromClause = t.users) -> Cond:
        policy = self.policy
        if policy is None:
            return false()
        people = [r for r in policy.roles if r != "guardian"]
        person = and_(user.c.role.in_(people), self._person_scope(user))
        if not policy.shares_guardians():
            return and_(self._live(user), person)
        child = t.users.alias()
        ua = tr.user_agents.alias()
        guardian = and_(
            user.c.role == "guardian",
            exists(
                select(ua.c.user_id)
                .select_from(
                    ua.join(
                        child,
                        and_(child.c.district_id == ua.c.district_id, child.c.id == ua.c.user_id),
                    )
                )
                .where(
                    ua.c.district_id == user.c.district_id,
                    ua.c.agent_id == user.c.id,
                    child.c.role == "student",
                    child.c.status == "active",
                    child.c.role.in_(people),
                    self._person_scope(child),
                )
            ),
        )
        return and_(self._live(user), or_(person, guardian))

    def sections(self, section: FromClause = t.sections) -> Cond:
        if self.policy is None:
            return false()
        return and_(self._live(section), self._section_scope(section))

    def schools(self, school: FromClause = t.schools) -> Cond:
        policy = self.policy
        if policy is None:
            return false()
        if policy.mode is ScopeMode.DISTRICT:
            return self._live(school)
        if policy.mode is ScopeMode.SCHOOLS:
            return and_(self._live(school), school.c.id.in_(policy.school_ids))
        sec = t.sections.alias()
        has_section = exists().where(
            sec.c.district_id == school.c.district_id,
            sec.c.school_id == school.c.id,
            sec.c.status == "active",
            self._section_scope(sec),
        )
        if policy.mode is ScopeMode.SECTIONS:
            return and_(self._live(school), has_section)
        named = sorted({s for rule in policy.rules for s in rule.get("school", ())})
        return and_(self._live(school), or_(has_section, school.c.id.in_(named)))

    def courses(self, course: FromClause = tr.courses) -> Cond:
        policy = self.policy
        if policy is None:
            return false()
        if policy.mode is ScopeMode.DISTRICT:
            return self._live(course)
        sec = t.sections.alias()
        return and_(
            self._live(course),
            exists().where(
                sec.c.district_id == course.c.district_id,
                sec.c.course_id == course.c.id,
                sec.c.status == "active",
                self._section_scope(sec),
            ),
        )

    def terms(self, term: FromClause = tr.academic_sessions) -> Cond:
        """Terms carry no personal data: a connected app sees the district's calendar."""
        if self.policy is None:
            return false()
        return self._live(term)

    def enrollments(self, enrollment: FromClause = t.enrollments) -> Cond:
        if self.policy is None:
            return false()
        sec, user = t.sections.alias(), t.users.alias()
        return and_(
            self._live(enrollment),
            exists().where(
                sec.c.district_id == enrollment.c.district_id,
                sec.c.id == enrollment.c.section_id,
                self.sections(sec),
            ),
            exists().where(
                user.c.district_id == enrollment.c.district_id,
                user.c.id == enrollment.c.user_id,
                self.users(user),
            ),
        )

    def demographics(self, demo: FromClause = tr.demographics) -> Cond:
        policy = self.policy
        if policy is None or not policy.grants(FieldGroup.DEMOGRAPHICS):
            return false()
        user = t.users.alias()
        return and_(
            self._live(demo),
            exists().where(
                user.c.district_id == demo.c.district_id,
                user.c.id == demo.c.user_id,
                self.users(user),
            ),
        )

    def for_type(self, record_type: str, table: FromClause | None = None) -> Cond:
        """The condition for ``record_type`` over its table (or ``table``)."""
        method = {
            "school": self.schools,
            "section": self.sections,
            "user": self.users,
            "enrollment": self.enrollments,
            "course": self.courses,
            "term": self.terms,
            "demographics": self.demographics,
        }[record_type]
        return method() if table is None else method(table)
