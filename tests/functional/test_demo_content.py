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
    # Usage for the dashboards: adoption of the demo app and ms.rivera's reading goal.
    (adoption,) = container.usage_data.adoption(info.district_id)
    assert adoption["app_id"] == info.app_client_id
    assert adoption["last_7_days"]["active_students"] > 20
    teacher = _user(container, info.district_id, info.teacher_username)
    (goal,) = container.usage_goals.progress(info.district_id, teacher)
    assert goal["minutes_per_week"] == 60 and len(goal["students"]) == 10
    assert seed_demo(container).created is False


def _user(container: Container, district_id: str, username: str) -> str:
    with TenantScope(district_id), container.db.scoped() as uow:
        user = uow.users.by_username(username)
    assert user is not None
    return user.id
