"""SQL repository for QR badges (see ``homeroom.identity.badges``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Row

from homeroom.identity.models import Badge
from homeroom.storage.sql.repos import _Tenant
from homeroom.storage.sql.tables import user_schools
from homeroom.storage.sql.tables_portal import badges

__all__ = ["SqlBadges"]


_BADGE_BY_HASH = select(badges).where(
    badges.c.district_id == bindparam("d"), badges.c.credential_hash == bindparam("h")
)


class SqlBadges(_Tenant):
    table = badges

    def add(self, badge: Badge) -> None:
        self._insert(
            {
                "id": badge.id,
                "user_id": badge.user_id,
                "credential_hash": badge.credential_hash,
                "status": badge.status,
                "created_by": badge.created_by,
                "created_at": badge.created_at,
                "voided_at": badge.voided_at,
            }
        )

    def by_hash(self, credential_hash: str) -> Badge | None:
        # Prebuilt: the one read of every badge sign-in.
        row = self.conn.execute(
            _BADGE_BY_HASH, {"d": self.district_id, "h": credential_hash}
        ).first()
        return None if row is None else _badge(row)

    def get(self, badge_id: str) -> Badge:
        return _badge(self._one(badge_id, "badge"))

    def for_user(self, user_id: str) -> list[Badge]:
        rows = self.conn.execute(
            select(badges)
            .where(self._mine, badges.c.user_id == user_id)
            .order_by(badges.c.created_at, badges.c.id)
        )
        return [_badge(r) for r in rows]

    def void_for_users(self, user_ids: Sequence[str], at: dt.datetime) -> int:
        """Void every active badge of these users; returns how many were voided."""
        if not user_ids:
            return 0
        result = self.conn.execute(
            update(badges)
            .where(self._mine, badges.c.user_id.in_(list(user_ids)), badges.c.status == "active")
            .values(status="voided", voided_at=at)
        )
        return int(result.rowcount)

    def void(self, badge_id: str, at: dt.datetime) -> bool:
        """Void one badge; False when it was already void. NotFound when absent."""
        self._one(badge_id, "badge")
        result = self.conn.execute(
            update(badges)
            .where(self._mine, badges.c.id == badge_id, badges.c.status == "active")
            .values(status="voided", voided_at=at)
        )
        return bool(result.rowcount)

    def void_all(self, at: dt.datetime) -> int:
        result = self.conn.execute(
            update(badges)
            .where(self._mine, badges.c.status == "active")
            .values(status="voided", voided_at=at)
        )
        return int(result.rowcount)

    def count_active(self) -> int:
        return self._count(badges.c.status == "active")

    def user_ids_in_school(self, school_id: str) -> list[str]:
        """Users attached to a school (to print a whole school's badge sheet)."""
        rows = self.conn.execute(
            select(user_schools.c.user_id).where(
                user_schools.c.district_id == self.district_id,
                user_schools.c.school_id == school_id,
            )
        )
        return [r[0] for r in rows]


def _badge(row: Row[Any]) -> Badge:
    return Badge(
        district_id=row.district_id,
        id=row.id,
        user_id=row.user_id,
        credential_hash=row.credential_hash,
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        voided_at=row.voided_at,
    )
