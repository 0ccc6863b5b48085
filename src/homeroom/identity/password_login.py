"""Username + password sign-in within one district (usernames are unique per district).

argon2id verification is CPU-heavy (~20 ms at OWASP parameters): callers on an event loop
run :meth:`PasswordLogin.verify` in a worker thread. Unknown users, inactive users and
wrong passwords are indistinguishable (same result, same argon2 cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from homeroom.identity.passwords import PasswordHasher
from homeroom.roster.models import User
from homeroom.storage.sql import Database
from homeroom.tenancy import TenantScope

__all__ = ["PasswordLogin"]


@dataclass
class PasswordLogin:
    db: Database
    passwords: PasswordHasher

    def verify(self, district_id: str | None, username: str, password: str) -> User | None:
        """The user if the password matches an active account in the district, else None."""
        user: User | None = None
        stored: str | None = None
        if district_id is not None and username and len(username) <= 255:
            with TenantScope(district_id), self.db.scoped() as uow:
                user = uow.users.by_username(username)
                if user is not None:
                    stored = uow.users.password_hash(user.id)
        ok = self.passwords.verify(stored, password)  # always one argon2 verification
        if not ok or user is None or user.status != "active":
            return None
        return user
