"""A small district for the usage tests: one section with two students and its teacher,
another teacher, an app connected for students only, and a second district."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from homeroom.ids import new_id
from homeroom.roster.models import District, Enrollment, Role, School, Section, User
from homeroom.sharing.models import App
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container
from tests.conftest import unique

PASSWORD = "correct-horse-1"


@dataclass
class Classroom:
    district: District
    section: Section
    ava: User
    ben: User
    teacher: User
    other_teacher: User
    admin: User
    app: App
    app_secret: str
    other_district: District
    outsider: User  # a student of the other district


def _user(container: Container, district: District, name: str, role: Role, school: str) -> User:
    return container.roster_admin.create_user(
        district.slug,
        username=name,
        role=role,
        given_name=name.title(),
        family_name="Test",
        password=PASSWORD,
        school_ids=(school,),
    )


def build_classroom(container: Container) -> Classroom:
    district = container.roster_admin.create_district(unique("usage"), "Usage District")
    other = container.roster_admin.create_district(unique("other"), "Other District")
    school = School(district.id, new_id("school"), "North")
    other_school = School(other.id, new_id("school"), "South")
    section = Section(district.id, new_id("section"), school.id, "Reading 3")
    with TenantScope(district.id), container.db.scoped() as uow:
        uow.schools.add(school)
        uow.sections.add(section)
    with TenantScope(other.id), container.db.scoped() as uow:
        uow.schools.add(other_school)
    ava = _user(container, district, "ava", Role.STUDENT, school.id)
    ben = _user(container, district, "ben", Role.STUDENT, school.id)
    teacher = _user(container, district, "tia", Role.TEACHER, school.id)
    other_teacher = _user(container, district, "tom", Role.TEACHER, school.id)
    admin = _user(container, district, "ada", Role.DISTRICT_ADMIN, school.id)
    outsider = _user(container, other, "oli", Role.STUDENT, other_school.id)
    with TenantScope(district.id), container.db.scoped() as uow:
        for user, role in ((ava, Role.STUDENT), (ben, Role.STUDENT), (teacher, Role.TEACHER)):
            uow.enrollments.add(
                Enrollment(district.id, new_id("enrollment"), section.id, user.id, role)
            )
    new = container.apps.create_app("Reading Rocket", ["https://app.example/cb"])
    assert new.client_secret is not None
    container.apps.connect(district, new.app.id, roles_allowed=("student",))
    container.apps.connect(other, new.app.id, roles_allowed=("student",))
    return Classroom(
        district,
        section,
        ava,
        ben,
        teacher,
        other_teacher,
        admin,
        new.app,
        new.client_secret,
        other,
        outsider,
    )


@pytest.fixture
def classroom(container: Container) -> Classroom:
    return build_classroom(container)
