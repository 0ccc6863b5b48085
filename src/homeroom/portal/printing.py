"""Who may print badge sheets for whom, and printing itself.

Rules: a district admin prints for any section, school or student of the district; a school
admin for the schools they belong to; a teacher for the sections they teach (and a student
in one of them). Printing issues fresh badges (see ``identity.badges``) for the students in
the selection whose grade has badges enabled, and renders them as a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeroom.errors import InvalidInput, NotFound, PermissionDenied
from homeroom.identity.badges import BadgeService, badge_grades, may_use_badge
from homeroom.portal.badge_sheet import BadgeCard, render_badge_sheet
from homeroom.roster.models import District, Role, Section, User
from homeroom.storage.sql import Database
from homeroom.tenancy import TenantScope

__all__ = ["PRINTER_ROLES", "BadgePrinting", "PrintTarget"]

PRINTER_ROLES = (Role.TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN)


@dataclass(frozen=True, slots=True)
class PrintTarget:
    """Exactly one of a section, a school or a single student."""

    section_id: str | None = None
    school_id: str | None = None
    user_id: str | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.section_id, self.school_id, self.user_id)) != 1:
            raise InvalidInput("choose exactly one of a section, a school or a student")


@dataclass
class BadgePrinting:
    db: Database
    badges: BadgeService

    def sections_for(self, district: District, viewer: User) -> list[Section]:
        """Sections the viewer may print for whose grade has badges (the badge page)."""
        grades = badge_grades(district)
        with TenantScope(district.id), self.db.scoped() as uow:
            if viewer.role is Role.DISTRICT_ADMIN:
                sections = list(uow.sections.list(limit=1000))
            elif viewer.role is Role.SCHOOL_ADMIN:
                sections = [
                    s for s in uow.sections.list(limit=1000) if s.school_id in viewer.school_ids
                ]
            elif viewer.role is Role.TEACHER:
                taught = [
                    e.section_id
                    for e in uow.enrollments.for_user(viewer.id)
                    if e.role is Role.TEACHER
                ]
                sections = [uow.sections.get(s) for s in taught]
            else:
                sections = []
        return sorted(
            (s for s in sections if s.grade is None or s.grade in grades),
            key=lambda s: s.title.lower(),
        )

    def _students(self, district: District, viewer: User | None, target: PrintTarget) -> list[User]:
        """The students of the target; ``viewer`` None means the operator (CLI)."""
        admin = viewer is None or viewer.role is Role.DISTRICT_ADMIN
        if viewer is not None and viewer.role not in PRINTER_ROLES:
            raise PermissionDenied("only teachers and administrators print badges")
        with TenantScope(district.id), self.db.scoped() as uow:
            taught: set[str] = set()
            if viewer is not None and viewer.role is Role.TEACHER:
                taught = {
                    e.section_id
                    for e in uow.enrollments.for_user(viewer.id)
                    if e.role is Role.TEACHER
                }
            if target.section_id is not None:
                section = uow.sections.get(target.section_id)
                allowed = (
                    admin
                    or section.id in taught
                    or (
                        viewer is not None
                        and viewer.role is Role.SCHOOL_ADMIN
                        and section.school_id in viewer.school_ids
                    )
                )
                if not allowed:
                    raise NotFound("section not found")
                ids = [
                    e.user_id
                    for e in uow.enrollments.for_section(section.id)
                    if e.role is Role.STUDENT
                ]
            elif target.school_id is not None:
                school = uow.schools.get(target.school_id)
                allowed = admin or (
                    viewer is not None
                    and viewer.role is Role.SCHOOL_ADMIN
                    and school.id in viewer.school_ids
                )
                if not allowed:
                    raise NotFound("school not found")
                ids = uow.badges.user_ids_in_school(school.id)
            else:
                assert target.user_id is not None
                user = uow.users.get(target.user_id)
                sections = {e.section_id for e in uow.enrollments.for_user(user.id)}
                allowed = (
                    admin
                    or bool(sections & taught)
                    or (
                        viewer is not None
                        and viewer.role is Role.SCHOOL_ADMIN
                        and bool(set(user.school_ids) & set(viewer.school_ids))
                    )
                )
                if not allowed:
                    raise NotFound("user not found")
                ids = [user.id]
            users = [uow.users.get(i) for i in dict.fromkeys(ids)]
        return sorted(
            (u for u in users if u.role is Role.STUDENT),
            key=lambda u: (u.family_name.lower(), u.given_name.lower(), u.id),
        )

    def print_sheet(
        self, district: District, viewer: User | None, target: PrintTarget, actor: str
    ) -> tuple[bytes, int]:
        """Issue badges for the eligible students of ``target``; returns (PDF, how many)."""
        students = [
            u for u in self._students(district, viewer, target) if may_use_badge(district, u)
        ]
        if not students:
            raise InvalidInput("no student here has badges enabled for their grade")
        caption = ""
        if target.section_id is not None:
            with TenantScope(district.id), self.db.scoped() as uow:
                caption = uow.sections.get(target.section_id).title
        issued = self.badges.issue(district, students, actor)
        cards = [BadgeCard(i.user.name, caption or f"{i.user.username}", i.payload) for i in issued]
        return render_badge_sheet(district.name, cards), len(cards)

    def students(self, district: District, viewer: User, section_id: str) -> list[User]:
        """The section's students who may use badges (for the per-student actions)."""
        target = PrintTarget(section_id=section_id)
        return [u for u in self._students(district, viewer, target) if may_use_badge(district, u)]

    def void_student(self, district: District, viewer: User | None, user_id: str) -> int:
        """Void a student's badges, if the viewer may print for that student."""
        found = self._students(district, viewer, PrintTarget(user_id=user_id))
        if not found:
            raise NotFound("user not found")
        student = found[0]
        actor = "cli" if viewer is None else f"user:{viewer.id}"
        return self.badges.void_user(district, student.id, actor=actor)

    def void_all(self, district: District, viewer: User) -> int:
        """Year end, from the portal: district administrators only."""
        if viewer.role is not Role.DISTRICT_ADMIN:
            raise PermissionDenied("only district administrators void every badge")
        return self.badges.void_all(district, actor=f"user:{viewer.id}")
