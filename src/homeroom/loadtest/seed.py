"""``homeroom loadtest seed``: the users, badges, app and connection a run needs, in a target
database.

Users get a known password (argon2id-hashed like any other; the run signs in with it) and
predictable names (``lt-user-00001`` …). They are third-graders, and badges are turned on
for grade 03 in the load-test district (added to the grades it already has), so each user
also gets a QR badge: a re-seed issues new ones, voiding the old. The load-test app is a
confidential client whose redirect URI is a loopback address the harness never opens: it
reads the code from the ``Location`` header. Its credentials and the badges' payloads go to
a file (mode 0600) that ``loadtest run`` reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeroom.errors import Conflict, NotFound
from homeroom.identity.badges import badge_grades
from homeroom.roster.models import District, Role, User
from homeroom.sharing.models import FieldGroup
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container

__all__ = ["SeedResult", "seed_loadtest"]

REDIRECT_URI = "http://127.0.0.1:9/loadtest/callback"
GRADE = "03"
BADGE_BATCH = 500  # badges issued per transaction


@dataclass(frozen=True)
class SeedResult:
    file: Path
    users_created: int
    users_existing: int
    client_id: str
    badges_issued: int


def seed_loadtest(
    container: Container,
    *,
    district: str,
    users: int,
    password: str,
    out: Path,
    create_district: bool = True,
    prefix: str = "lt-user-",
) -> SeedResult:
    admin = container.roster_admin
    try:
        target = admin.district(district)
    except NotFound:
        if not create_district:
            raise
        target = admin.create_district(district, f"Load test ({district})", actor="loadtest")
    created = existing = 0
    seeded: list[User] = []
    for n in range(1, users + 1):
        try:
            user = admin.create_user(
                district,
                username=f"{prefix}{n:05d}",
                role=Role.STUDENT,
                given_name="Load",
                family_name=f"Student {n}",
                grade=GRADE,
                password=password,
                actor="loadtest",
            )
            created += 1
        except Conflict:
            # A re-seed writes a new password into the seed file: give it to the existing
            # load-test users too, or every sign-in of the run fails.
            user = _reset_password(container, target.id, f"{prefix}{n:05d}", password)
            existing += 1
        seeded.append(user)
    badges = _issue_badges(container, target, seeded)
    new_app = container.apps.create_app("Load test", [REDIRECT_URI], actor="loadtest")
    container.apps.connect(
        target,
        new_app.app.id,
        field_groups=(FieldGroup.BASIC, FieldGroup.EMAIL),
        actor="loadtest",
    )
    data: dict[str, Any] = {
        "server": "homeroom",
        "district": district,
        "client_id": new_app.app.id,
        "client_secret": new_app.client_secret,
        "redirect_uri": REDIRECT_URI,
        "username_prefix": prefix,
        "users": users,
        "password": password,
        "login_start": "homeroom",
        "district_param": True,
        "badges": badges,  # payloads, in the users' order (badge_login)
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    return SeedResult(out, created, existing, new_app.app.id, len(badges))


def _reset_password(container: Container, district_id: str, username: str, password: str) -> User:
    with TenantScope(district_id), container.db.scoped() as uow:
        user = uow.users.by_username(username)
        if user is None:  # gone between the create's conflict and now
            raise Conflict(f"user {username!r} changed while seeding; run the seed again")
        if user.grade != GRADE or user.role is not Role.STUDENT or user.status != "active":
            raise Conflict(
                f"user {username!r} exists but is not an active grade-{GRADE} student; "
                "use another --district or a fresh database"
            )
        uow.users.set_password_hash(user.id, container.passwords.hash(password))
    return user


def _issue_badges(container: Container, district: District, users: list[User]) -> list[str]:
    """Badges on for the load-test grade (the district's other grades kept), and a fresh
    badge for every user: their payloads, as printed on the QR codes."""
    grades = badge_grades(district)
    if GRADE not in grades:
        district = container.badges.set_grades(district, [*grades, GRADE], actor="loadtest")
    payloads: list[str] = []
    for start in range(0, len(users), BADGE_BATCH):
        batch = users[start : start + BADGE_BATCH]
        payloads += [b.payload for b in container.badges.issue(district, batch, "loadtest")]
    return payloads
