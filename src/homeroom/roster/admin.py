"""Administrative operations on districts and users (used by the CLI and admin API)."""

from __future__ import annotations

from dataclasses import dataclass

from homeroom.audit.models import AuditEvent
from homeroom.errors import Conflict, InvalidInput, NotFound
from homeroom.identity.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from homeroom.ids import new_id
from homeroom.roster.models import District, Role, User, valid_slug
from homeroom.storage.sql import Database
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["DEFAULT_DISTRICT_SETTINGS", "RosterAdmin"]

DEFAULT_DISTRICT_SETTINGS: dict[str, object] = {
    "login_methods": ["password"],
    "badge_grades": [],
    "locale": "en",
}


@dataclass
class RosterAdmin:
    db: Database
    passwords: PasswordHasher

    def create_district(self, slug: str, name: str, actor: str = "cli") -> District:
        if not valid_slug(slug):
            raise InvalidInput(
                f"slug {slug!r} must be lower-case letters, digits and hyphens (max 64)"
            )
        if not name.strip():
            raise InvalidInput("name must not be empty")
        district = District(
            id=new_id("district"),
            slug=slug,
            name=name.strip(),
            settings=dict(DEFAULT_DISTRICT_SETTINGS),
            created_at=utcnow(),
        )
        with self.db.platform() as uow:
            uow.districts.add(district)
        with TenantScope(district.id), self.db.scoped() as uow:
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="district.create",
                    target_type="district",
                    target_id=district.id,
                    detail={"slug": slug},
                )
            )
        return district

    def district(self, slug: str) -> District:
        with self.db.platform() as uow:
            district = uow.districts.by_slug(slug)
        if district is None:
            raise NotFound(f"district {slug!r} not found")
        return district

    def create_user(
        self,
        district_slug: str,
        *,
        username: str,
        role: Role,
        given_name: str = "",
        family_name: str = "",
        email: str | None = None,
        grade: str | None = None,
        password: str | None = None,
        school_ids: tuple[str, ...] = (),
        actor: str = "cli",
    ) -> User:
        username = username.strip()
        if not username or len(username) > 255 or any(c.isspace() for c in username):
            raise InvalidInput("username must be 1-255 characters without spaces")
        if password is not None and not MIN_LENGTH <= len(password) <= MAX_LENGTH:
            raise InvalidInput(f"password must be {MIN_LENGTH}-{MAX_LENGTH} characters")
        district = self.district(district_slug)
        user = User(
            district_id=district.id,
            id=new_id("user"),
            role=role,
            username=username,
            given_name=given_name or username,
            family_name=family_name,
            email=email,
            grade=grade,
            school_ids=school_ids,
        )
        password_hash = None if password is None else self.passwords.hash(password)
        with TenantScope(district.id), self.db.scoped() as uow:
            if uow.users.by_username(username) is not None:
                raise Conflict(f"username {username!r} already exists in {district_slug}")
            uow.users.add(user, password_hash)
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="user.create",
                    target_type="user",
                    target_id=user.id,
                    detail={"role": role.value},
                )
            )
        return user
