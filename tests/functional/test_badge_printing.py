"""Badge sheets: who may print what, and the PDF has one decodable QR per student.
Also ``homeroom badges`` from the command line (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from homeroom.demo import seed_demo
from homeroom.errors import NotFound, PermissionDenied
from homeroom.identity.badges import credential_from_payload
from homeroom.portal.printing import PrintTarget
from homeroom.roster.models import Role, User
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container
from tests.browser.media import pdf_qr_texts
from tests.conftest import SqlTarget


def _user(container: Container, district_id: str, username: str) -> User:
    with TenantScope(district_id), container.db.scoped() as uow:
        user = uow.users.by_username(username)
    assert user is not None
    return user


def test_sheet_has_one_decodable_qr_per_student(container: Container) -> None:
    info = seed_demo(container)
    district = container.roster_admin.district(info.district_slug)
    teacher = _user(container, district.id, "ms.rivera")
    [kindergarten] = [
        s for s in container.badge_printing.sections_for(district, teacher) if s.grade == "KG"
    ]
    pdf, count = container.badge_printing.print_sheet(
        district, teacher, PrintTarget(section_id=kindergarten.id), actor="test"
    )
    assert count == 10
    pages = pdf_qr_texts(pdf)
    assert [len(p) for p in pages] == [10]
    users = set()
    for text in pages[0]:
        credential = credential_from_payload(text, district.slug)
        assert credential is not None
        user = container.badges.authenticate(district, credential)
        assert user is not None
        users.add(user.id)
    with TenantScope(district.id), container.db.scoped() as uow:
        enrolled = {
            e.user_id
            for e in uow.enrollments.for_section(kindergarten.id)
            if e.role is Role.STUDENT
        }
    assert users == enrolled
    # The demo's own printed badges were replaced by this sheet.
    assert Path(info.badge_sheet_path).exists() and Path(info.badge_image_path).exists()


def test_who_may_print(container: Container) -> None:
    info = seed_demo(container)
    district = container.roster_admin.district(info.district_slug)
    printing = container.badge_printing
    rivera = _user(container, district.id, "ms.rivera")  # teaches KG and grade 2
    chen = _user(container, district.id, "mr.chen")  # teaches grades 6 and 7
    student = _user(container, district.id, "student01")
    kg = next(s for s in printing.sections_for(district, rivera) if s.grade == "KG")
    assert kg.id not in {s.id for s in printing.sections_for(district, chen)}
    with pytest.raises(NotFound):
        printing.print_sheet(district, chen, PrintTarget(section_id=kg.id), actor="t")
    with pytest.raises(NotFound):
        printing.print_sheet(district, chen, PrintTarget(user_id=student.id), actor="t")
    with pytest.raises(NotFound):  # teachers do not print whole schools
        printing.print_sheet(district, rivera, PrintTarget(school_id=kg.school_id), actor="t")
    with pytest.raises(PermissionDenied):
        printing.print_sheet(district, student, PrintTarget(section_id=kg.id), actor="t")
    _, one = printing.print_sheet(district, rivera, PrintTarget(user_id=student.id), actor="t")
    assert one == 1
    admin = _user(container, district.id, "admin")
    _, school = printing.print_sheet(
        district, admin, PrintTarget(school_id=kg.school_id), actor="t"
    )
    assert school == 10  # only Kindergarten has badges; grade 2 shares the school


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homeroom", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_badges_cli(sql_target: SqlTarget, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    env.update(
        HOMEROOM_DATA_DIR=str(tmp_path / "data"),
        HOMEROOM_DATABASE_URL=sql_target.url,
        HOMEROOM_MIGRATE_DATABASE_URL=sql_target.owner_url,
        HOMEROOM_LOG_JSON="true",
    )
    if sql_target.app_role:
        env["HOMEROOM_APP_DB_ROLE"] = sql_target.app_role
    assert _cli(env, "demo", "--json").returncode == 0
    out = tmp_path / "student.pdf"
    printed = _cli(
        env, "badges", "print", "--district", "maplewood", "--user", "student02", "-o", str(out)
    )
    assert printed.returncode == 0, printed.stderr
    assert [len(p) for p in pdf_qr_texts(out.read_bytes())] == [1]
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    voided = _cli(env, "badges", "void", "--district", "maplewood", "--user", "student02", "--json")
    assert voided.returncode == 0 and '"voided": 1' in voided.stdout
    refused = _cli(env, "badges", "void-all", "--district", "maplewood")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: void-all voids every badge of the district; add --yes to confirm"
    ]
    done = _cli(env, "badges", "void-all", "--district", "maplewood", "--yes", "--json")
    assert done.returncode == 0 and '"voided": 9' in done.stdout  # the demo's other KG badges
    older = _cli(
        env, "badges", "print", "--district", "maplewood", "--user", "student15", "-o", str(out)
    )
    assert older.returncode == 1
    assert older.stderr.startswith("error: no student here has badges enabled")
