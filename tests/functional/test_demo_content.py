"""The demo district has the shape the README promises."""

from __future__ import annotations

from homeroom.demo import seed_demo
from homeroom.roster.models import Role
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container


def test_demo_district_shape(container: Container) -> None:
    info = seed_demo(container)
    with TenantScope(info.district_id), container.db.scoped() as uow:
        assert uow.schools.count() == 2
        assert uow.sections.count() == 4
        assert uow.users.count(role=Role.TEACHER) == 2
        assert uow.users.count(role=Role.STUDENT) == 40
        assert uow.users.count(role=Role.DISTRICT_ADMIN) == 1
        [connection] = uow.connections.list()
        assert connection.app_id == info.app_client_id
        student = uow.users.by_username(info.student_username)
        assert student is not None
        stored = uow.users.password_hash(student.id)
    assert container.passwords.verify(stored, info.student_password)
    assert seed_demo(container).created is False
