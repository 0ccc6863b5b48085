"""Username + password sign-in within one district (usernames are unique per district).

argon2id verification is CPU-heavy (~20 ms at OWASP parameters). Callers on an event loop
use the two halves: :meth:`PasswordLogin.lookup` (one database read, where the caller runs
its storage work) and :meth:`PasswordLogin.check_async` (argon2 on the hasher's bounded
pool); :meth:`PasswordLogin.verify` does both on the calling thread. Unknown users,
inactive users and wrong passwords are indistinguishable (same result, same argon2 cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from homeroom.identity.passwords import PasswordHasher
from homeroom.roster.models import User
from homeroom.storage.sql import Database
from homeroom.tenancy import TenantScope

__all__ = ["Candidate", "PasswordLogin"]


@dataclass(frozen=True)
class Candidate:
    """The account a sign-in names (None when there is none) and its stored hash."""

    user: User | None
    stored_hash: str | None

    def accepted(self, password_ok: bool) -> User | None:
        """The user if the password matched an active account, else None."""
        if not password_ok or self.user is None or self.user.status != "active":
            return None
        return self.user


@dataclass
class PasswordLogin:
    db: Database
    passwords: PasswordHasher

    def lookup(self, district_id: str | None, username: str) -> Candidate:
        """The account and its hash: one unit of work, no argon2."""
        if district_id is None or not username or len(username) > 255:
            return Candidate(None, None)
        with TenantScope(district_id), self.db.scoped() as uow:
            found = uow.sign_in_users.credentials(username)
        return Candidate(None, None) if found is None else Candidate(*found)

    async def check_async(self, candidate: Candidate, password: str) -> User | None:
        """Always one argon2 verification (a dummy hash for unknown users), off the loop."""
        ok = await self.passwords.verify_async(candidate.stored_hash, password)
        return candidate.accepted(ok)

    def verify(self, district_id: str | None, username: str, password: str) -> User | None:
        """The user if the password matches an active account in the district, else None."""
        candidate = self.lookup(district_id, username)
        ok = self.passwords.verify(candidate.stored_hash, password)  # always one argon2
        return candidate.accepted(ok)
