"""QR badges: a printed card that signs a young student in without typing.

A badge credential is 192 random bits (``secrets.token_urlsafe(24)``). The database keeps only
``HMAC-SHA256(key, district_id NUL credential)``: a stolen table signs no one in without the
key, and binding the district into the MAC means a credential of district A shown to
district B's portal matches nothing there. Because only the MAC is stored, a badge cannot be
printed twice: printing *issues* fresh badges and voids the ones before them.

The QR payload is the portal's badge URL with the credential in the fragment
(``https://…/d/<slug>/badge#hrb1.<credential>``): no name, no id, nothing personal, and a
phone camera that opens it lands on the right page without sending the credential in a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from homeroom.audit.models import AuditEvent
from homeroom.errors import InvalidInput, NotFound
from homeroom.identity.models import Badge
from homeroom.ids import new_id
from homeroom.roster.models import District, Role, User
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

if TYPE_CHECKING:
    import datetime as dt

    from homeroom.storage.sql import Database

__all__ = [
    "Badge",
    "BadgeService",
    "Badges",
    "IssuedBadge",
    "badge_grades",
    "badge_payload",
    "credential_from_payload",
    "hash_credential",
    "new_credential",
]

PAYLOAD_MARK = "#hrb1."
_CREDENTIAL = re.compile(r"^[A-Za-z0-9_-]{32}$")
_SCHEME = "hmac-sha256"


@dataclass(frozen=True, slots=True)
class IssuedBadge:
    """A badge just issued, with its credential: the only moment the credential exists."""

    badge: Badge
    user: User
    payload: str


class Badges(Protocol):
    """Storage of badges; implemented by ``storage.sql.repos_portal.SqlBadges``."""

    def add(self, badge: Badge) -> None: ...
    def by_hash(self, credential_hash: str) -> Badge | None: ...
    def get(self, badge_id: str) -> Badge: ...
    def for_user(self, user_id: str) -> Sequence[Badge]: ...
    def void_for_users(self, user_ids: Sequence[str], at: dt.datetime) -> int: ...
    def void(self, badge_id: str, at: dt.datetime) -> bool: ...
    def void_all(self, at: dt.datetime) -> int: ...
    def count_active(self) -> int: ...


def new_credential() -> str:
    """192 random bits, URL-safe (32 characters)."""
    return secrets.token_urlsafe(24)


def hash_credential(key: bytes, district_id: str, credential: str) -> str:
    mac = hmac.new(key, f"{district_id}\x00{credential}".encode(), hashlib.sha256).hexdigest()
    return f"{_SCHEME}${mac}"


def badge_payload(issuer: str, slug: str, credential: str) -> str:
    return f"{issuer}/d/{slug}/badge{PAYLOAD_MARK}{credential}"


def credential_from_payload(payload: str, slug: str) -> str | None:
    """The credential in a scanned payload meant for district ``slug``; None otherwise.

    Accepts the full URL (any host: a badge survives a change of hostname) or the bare
    ``hrb1.<credential>`` form.
    """
    payload = payload.strip()
    if len(payload) > 2048:
        return None
    if payload.startswith(PAYLOAD_MARK[1:]):
        credential = payload[len(PAYLOAD_MARK) - 1 :]
    else:
        where, mark, credential = payload.partition(PAYLOAD_MARK)
        if not mark or not where.endswith(f"/d/{slug}/badge"):
            return None
    return credential if _CREDENTIAL.match(credential) else None


def badge_grades(district: District) -> tuple[str, ...]:
    """Grades whose students may use badges (a district setting, empty = badges off)."""
    grades = district.settings.get("badge_grades") or []
    return tuple(str(g) for g in grades)


def may_use_badge(district: District, user: User) -> bool:
    return (
        user.status == "active"
        and user.role is Role.STUDENT
        and user.grade is not None
        and user.grade in badge_grades(district)
    )


@dataclass
class BadgeService:
    db: Database
    key: bytes
    issuer: str

    def issue(self, district: District, users: Sequence[User], actor: str) -> list[IssuedBadge]:
        """Issue a fresh badge to each user, voiding their earlier badges (one transaction)."""
        for user in users:
            if user.district_id != district.id:
                raise NotFound("user not found")
            if not may_use_badge(district, user):
                raise InvalidInput(
                    f"badges are not enabled for {user.username} (grade {user.grade or '-'})"
                )
        issued: list[IssuedBadge] = []
        now = utcnow()
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            uow.badges.void_for_users([u.id for u in users], now)
            for user in users:
                credential = new_credential()
                badge = Badge(
                    district_id=district.id,
                    id=new_id("badge"),
                    user_id=user.id,
                    credential_hash=hash_credential(self.key, district.id, credential),
                    status="active",
                    created_by=actor,
                    created_at=now,
                )
                uow.badges.add(badge)
                uow.audit.append(
                    AuditEvent(
                        actor=actor,
                        action="badge.create",
                        target_type="user",
                        target_id=user.id,
                        detail={"badge_id": badge.id},
                    )
                )
                issued.append(
                    IssuedBadge(badge, user, badge_payload(self.issuer, district.slug, credential))
                )
        return issued

    def set_grades(self, district: District, grades: Sequence[str], actor: str) -> District:
        """Turn badges on for exactly these grades (empty: off); badges of other grades stop
        working at once, because sign-in checks the grade every time."""
        clean = sorted({g.strip() for g in grades if g.strip()})
        if any(len(g) > 8 for g in clean):
            raise InvalidInput("a grade is at most 8 characters (e.g. KG, 01, 12)")
        with self.db.platform() as uow:
            settings = dict(uow.districts.get(district.id).settings)
            settings["badge_grades"] = clean
            uow.districts.update_settings(district.id, settings)
            updated = uow.districts.get(district.id)
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="badge.grades",
                    target_type="district",
                    target_id=district.id,
                    detail={"grades": clean},
                )
            )
        return updated

    def void(self, district: District, badge_id: str, actor: str) -> bool:
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            changed = uow.badges.void(badge_id, utcnow())
            uow.audit.append(
                AuditEvent(
                    actor=actor, action="badge.void", target_type="badge", target_id=badge_id
                )
            )
        return changed

    def void_user(self, district: District, user_id: str, actor: str) -> int:
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            uow.users.get(user_id)  # NotFound for another district's user
            count = uow.badges.void_for_users([user_id], utcnow())
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="badge.void",
                    target_type="user",
                    target_id=user_id,
                    detail={"count": count},
                )
            )
        return count

    def void_all(self, district: District, actor: str) -> int:
        """Year end: every badge of the district stops working at once."""
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            count = uow.badges.void_all(utcnow())
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="badge.void_all",
                    target_type="district",
                    target_id=district.id,
                    detail={"count": count},
                )
            )
        return count

    def authenticate(self, district: District, credential: str) -> User | None:
        """The user a live badge belongs to, or None (unknown, voided, not allowed)."""
        digest = hash_credential(self.key, district.id, credential)
        with TenantScope(district.id), self.db.scoped() as uow:
            badge = uow.badges.by_hash(digest)
            if badge is None or badge.status != "active":
                return None
            user = uow.users.get(badge.user_id)
        return user if may_use_badge(district, user) else None
