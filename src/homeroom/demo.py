"""The demo district: enough of a real district to click through every feature.

Idempotent: running it twice leaves one demo district. The demo app's client secret is kept
in the secret store as ``secret://<environment>/demo-app/client-secret`` (readable by the
``demo-app`` identity only); ``<data_dir>/demo-app.json`` holds its reference, never the value,
so the bundled demo relying party resolves it like any other service.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from homeroom.ids import new_id
from homeroom.portal.badge_sheet import BadgeCard, render_badge_sheet
from homeroom.roster.models import Enrollment, Role, School, Section, User
from homeroom.secrets import ADMIN
from homeroom.secrets.policy import DEMO_APP_IDENTITY
from homeroom.sharing.models import FieldGroup
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope
from homeroom.usage.ingest import MAX_BATCH, EventReport
from homeroom.usage.models import UsageKind
from homeroom.wiring import Container

__all__ = ["DEMO_SLUG", "DemoInfo", "seed_demo"]

DEMO_SLUG = "maplewood"
DEMO_NAME = "Maplewood Unified School District"
STUDENT_PASSWORD = "maple-leaf-7"  # noqa: S105 (demo data, printed on purpose)
STAFF_PASSWORD = "maplewood-staff-demo"  # noqa: S105
ADMIN_PASSWORD = "maplewood-admin-demo"  # noqa: S105
_FIRST = [
    "Ava",
    "Liam",
    "Mia",
    "Noah",
    "Zoe",
    "Mateo",
    "Aria",
    "Leo",
    "Ivy",
    "Omar",
    "Sofia",
    "Ethan",
    "Luna",
    "Kai",
    "Nora",
    "Jayden",
    "Elena",
    "Hugo",
    "Maya",
    "Finn",
]
_LAST = ["Garcia", "Nguyen", "Smith", "Okafor", "Cohen", "Patel", "Kim", "Lopez", "Brown", "Silva"]


@dataclass(frozen=True)
class DemoInfo:
    district_slug: str
    district_id: str
    app_client_id: str
    app_client_secret: str
    app_secret_ref: str
    app_redirect_uri: str
    student_username: str
    student_password: str
    teacher_username: str
    teacher_password: str
    admin_username: str
    admin_password: str
    created: bool
    badge_sheet_path: str = ""
    """A printable PDF of the Kindergarten class's QR badges (badges are on for grade KG)."""
    badge_image_path: str = ""
    """A PNG of student01's badge: show it to the portal's camera or upload it."""


def _demo_file(container: Container) -> Path:
    return container.settings.data_dir / "demo-app.json"


def seed_demo(container: Container) -> DemoInfo:
    admin = container.roster_admin
    issuer = container.settings.issuer
    with container.db.platform() as uow:
        existing = uow.districts.by_slug(DEMO_SLUG)
    path = _demo_file(container)
    if existing is not None and path.exists():
        data = json.loads(path.read_text())
        if "app_secret_ref" in data:
            secret = container.secret_store.get(DEMO_APP_IDENTITY, data["app_secret_ref"])
            return DemoInfo(**{**data, "app_client_secret": secret.text(), "created": False})
    district = existing or admin.create_district(DEMO_SLUG, DEMO_NAME, actor="demo")
    now = utcnow()
    schools = [
        School(
            district.id,
            new_id("school"),
            "Maplewood Elementary",
            sourced_id="demo-sch-1",
            synced_at=now,
        ),
        School(
            district.id,
            new_id("school"),
            "Cedar Ridge Middle School",
            sourced_id="demo-sch-2",
            synced_at=now,
        ),
    ]
    sections = [
        Section(
            district.id,
            new_id("section"),
            schools[0].id,
            "Kindergarten - Room 4",
            subject="Homeroom",
            grade="KG",
            sourced_id="demo-sec-1",
            synced_at=now,
        ),
        Section(
            district.id,
            new_id("section"),
            schools[0].id,
            "Grade 2 Reading",
            subject="Reading",
            grade="02",
            sourced_id="demo-sec-2",
            synced_at=now,
        ),
        Section(
            district.id,
            new_id("section"),
            schools[1].id,
            "Grade 6 Math",
            subject="Math",
            grade="06",
            sourced_id="demo-sec-3",
            synced_at=now,
        ),
        Section(
            district.id,
            new_id("section"),
            schools[1].id,
            "Grade 7 Science",
            subject="Science",
            grade="07",
            sourced_id="demo-sec-4",
            synced_at=now,
        ),
    ]
    with TenantScope(district.id), container.db.scoped() as uow:
        for school in schools:
            uow.schools.add(school)
        for section in sections:
            uow.sections.add(section)
    teachers = [
        admin.create_user(
            DEMO_SLUG,
            username="ms.rivera",
            role=Role.TEACHER,
            given_name="Elena",
            family_name="Rivera",
            email="ms.rivera@maplewood.example",
            password=STAFF_PASSWORD,
            school_ids=(schools[0].id,),
            actor="demo",
        ),
        admin.create_user(
            DEMO_SLUG,
            username="mr.chen",
            role=Role.TEACHER,
            given_name="David",
            family_name="Chen",
            email="mr.chen@maplewood.example",
            password=STAFF_PASSWORD,
            school_ids=(schools[1].id,),
            actor="demo",
        ),
    ]
    admin.create_user(
        DEMO_SLUG,
        username="admin",
        role=Role.DISTRICT_ADMIN,
        given_name="Dana",
        family_name="Admin",
        email="admin@maplewood.example",
        password=ADMIN_PASSWORD,
        actor="demo",
    )
    grades = ["KG", "02", "06", "07"]
    enrollments: list[Enrollment] = []
    kg_students: list[User] = []
    students: list[User] = []
    for n in range(40):
        section = sections[n // 10]
        student = admin.create_user(
            DEMO_SLUG,
            username=f"student{n + 1:02d}",
            role=Role.STUDENT,
            given_name=_FIRST[n % len(_FIRST)],
            family_name=_LAST[n % len(_LAST)],
            grade=grades[n // 10],
            password=STUDENT_PASSWORD,
            school_ids=(section.school_id,),
            actor="demo",
        )
        enrollments.append(
            Enrollment(district.id, new_id("enrollment"), section.id, student.id, Role.STUDENT)
        )
        students.append(student)
        if student.grade == "KG":
            kg_students.append(student)
    for index, section in enumerate(sections):
        teacher = teachers[index // 2]
        enrollments.append(
            Enrollment(district.id, new_id("enrollment"), section.id, teacher.id, Role.TEACHER)
        )
    with TenantScope(district.id), container.db.scoped() as uow:
        for enrollment in enrollments:
            uow.enrollments.add(enrollment)
    redirect_uri = f"{issuer}/demo-app/callback"
    new_app = container.apps.create_app(
        "Demo Reader",
        [redirect_uri],
        post_logout_redirect_uris=[f"{issuer}/demo-app/"],
        initiate_login_uri=f"{issuer}/demo-app/login",
        actor="demo",
    )
    container.apps.connect(
        district, new_app.app.id, field_groups=(FieldGroup.BASIC, FieldGroup.EMAIL), actor="demo"
    )
    assert new_app.client_secret is not None
    _demo_usage(container, district.id, new_app.app.id, students, teachers[0], sections[1])
    sheet, image = _demo_badges(container, district.id, sections[0].title, kg_students)
    secret_ref = f"secret://{container.settings.environment}/{DEMO_APP_IDENTITY}/client-secret"
    container.secret_store.put(ADMIN, secret_ref, new_app.client_secret.encode())
    info = DemoInfo(
        district_slug=DEMO_SLUG,
        district_id=district.id,
        app_client_id=new_app.app.id,
        app_client_secret=new_app.client_secret,
        app_secret_ref=secret_ref,
        app_redirect_uri=redirect_uri,
        student_username="student01",
        student_password=STUDENT_PASSWORD,
        teacher_username="ms.rivera",
        teacher_password=STAFF_PASSWORD,
        admin_username="admin",
        admin_password=ADMIN_PASSWORD,
        created=True,
        badge_sheet_path=str(sheet),
        badge_image_path=str(image),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        data = asdict(info)
        data.pop("created")
        data.pop("app_client_secret")  # the file holds the reference only
        json.dump(data, fh, indent=2)
    return info


def _demo_usage(
    container: Container,
    district_id: str,
    app_id: str,
    students: list[User],
    teacher: User,
    section: Section,
) -> None:
    """Two weeks of the demo app's usage (so adoption and goals show something), and
    ms.rivera's 60-minutes-a-week goal for Grade 2 Reading. Deterministic."""
    rng = random.Random(7)  # demo data: reproducible, not a secret
    now = utcnow()
    reports = []
    for days_ago in range(14):
        day = now - dt.timedelta(days=days_ago, hours=1)
        for student in students:
            if rng.random() < 0.6:
                reports.append(
                    EventReport(
                        f"demo-{student.username}-{days_ago}",
                        student.id,
                        UsageKind.MINUTES,
                        day,
                        minutes=rng.randint(5, 25),
                    )
                )
    for student in students:
        reports.append(
            EventReport(
                f"demo-{student.username}-progress",
                student.id,
                UsageKind.PROGRESS,
                now - dt.timedelta(hours=1),
                progress=round(rng.random(), 2),
            )
        )
    for start in range(0, len(reports), MAX_BATCH):
        container.usage_ingest.report(district_id, app_id, reports[start : start + MAX_BATCH])
    monday = now.date() - dt.timedelta(days=now.weekday())
    container.usage_goals.create(
        district_id,
        teacher.id,
        section_id=section.id,
        app_id=app_id,
        minutes_per_week=60,
        starts_on=monday - dt.timedelta(days=14),
        ends_on=monday + dt.timedelta(days=90),
    )


def _demo_badges(
    container: Container, district_id: str, caption: str, students: list[User]
) -> tuple[Path, Path]:
    """Turn badges on for Kindergarten, issue the class's badges, write a sheet and a card.

    The credentials exist only now (the database keeps keyed hashes), so the files written
    here are the demo's only copies; ``homeroom badges print`` issues new ones.
    """
    with container.db.platform() as uow:
        district = uow.districts.get(district_id)
        settings = dict(district.settings)
        settings["badge_grades"] = ["KG"]
        settings["login_methods"] = ["password", "badge"]
        uow.districts.update_settings(district_id, settings)
        district = uow.districts.get(district_id)
    issued = container.badges.issue(district, students, actor="demo")
    cards = [BadgeCard(i.user.name, caption, i.payload) for i in issued]
    directory = container.settings.data_dir
    directory.mkdir(parents=True, exist_ok=True)
    sheet = directory / "demo-badges.pdf"
    sheet.write_bytes(render_badge_sheet(district.name, cards))
    image = directory / "demo-badge-student01.png"
    first = next(i for i in issued if i.user.username == "student01")
    badge_card_png(first.payload, first.user.name).save(image)
    return sheet, image


def badge_card_png(payload: str, name: str) -> Image.Image:
    """One badge as a picture: the QR code with the name under it (for screens and tests)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(payload)
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    card = Image.new("RGB", (code.width, code.height + 90), "white")
    card.paste(code, (0, 0))
    draw = ImageDraw.Draw(card)
    font = ImageFont.load_default(size=40)
    width = draw.textlength(name, font=font)
    draw.text(((card.width - width) / 2, code.height + 10), name, fill="black", font=font)
    return card


def demo_app_credentials(container: Container) -> dict[str, str] | None:
    """The demo app's registration from ``demo-app.json``, its secret resolved from the
    store as the ``demo-app`` identity; None when ``homeroom demo`` has not run."""
    path = _demo_file(container)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    secret = container.secret_store.get(DEMO_APP_IDENTITY, data["app_secret_ref"])
    values = {k: str(v) for k, v in data.items()}
    values["app_client_secret"] = secret.text()
    return values
