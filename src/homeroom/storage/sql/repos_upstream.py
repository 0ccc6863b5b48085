"""Roster lookups for upstream-IdP sign-in: a user of *this* district by email or SIS id."""

from __future__ import annotations

from sqlalchemy import func, select

from homeroom.roster.models import User
from homeroom.storage.sql import tables as t
from homeroom.storage.sql.repos import SqlUsers

__all__ = ["SqlUpstreamUsers"]


class SqlUpstreamUsers(SqlUsers):
    """At most two matches are read: more than one is ambiguous and refused by the caller."""

    def by_email(self, email: str) -> list[User]:
        rows = self.conn.execute(
            select(t.users)
            .where(self._mine, func.lower(t.users.c.email) == email.strip().lower())
            .limit(2)
        ).all()
        return self._users(rows)

    def by_sourced_id(self, sourced_id: str) -> list[User]:
        rows = self.conn.execute(
            select(t.users).where(self._mine, t.users.c.sourced_id == sourced_id).limit(2)
        ).all()
        return self._users(rows)
