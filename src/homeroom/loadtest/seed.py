"""``homeroom loadtest seed``: the users, app and connection a run needs, in a target database.

Users get a known password (argon2id-hashed like any other; the run signs in with it) and
predictable names (``lt-user-00001`` …). The load-test app is a confidential client whose
redirect URI is a loopback address the harness never opens: it reads the code from the
``Location`` header. Its credentials go to a file (mode 0600) that ``loadtest run`` reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeroom.errors import Conflict, NotFound
from homeroom.roster.models import Role
from homeroom.sharing.models import FieldGroup
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container

__all__ = ["SeedResult", "seed_loadtest"]

REDIRECT_URI = "http://127.0.0.1:9/loadtest/callback"


@dataclass(frozen=True)
class SeedResult:
    file: Path
    users_created: int
    users_existing: int
    client_id: str


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
    for n in range(1, users + 1):
        try:
            admin.create_user(
                district,
                username=f"{prefix}{n:05d}",
                role=Role.STUDENT,
                given_name="Load",
                family_name=f"Student {n}",
                grade="03",
                password=password,
                actor="loadtest",
            )
            created += 1
        except Conflict:
            # A re-seed writes a new password into the seed file: give it to the existing
            # load-test users too, or every sign-in of the run fails.
            _reset_password(container, target.id, f"{prefix}{n:05d}", password)
            existing += 1
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
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    return SeedResult(out, created, existing, new_app.app.id)


def _reset_password(container: Container, district_id: str, username: str, password: str) -> None:
    with TenantScope(district_id), container.db.scoped() as uow:
        user = uow.users.by_username(username)
        if user is not None:
            uow.users.set_password_hash(user.id, container.passwords.hash(password))
