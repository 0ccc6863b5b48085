"""Password hashing with argon2id at OWASP's recommended parameters.

OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB, t=2, p=1 as the minimum. We
use exactly that: stronger settings cost login throughput on back-to-school morning, and
``needs_rehash`` lets us raise them later without a migration.
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["PasswordHasher"]

MIN_LENGTH = 6  # young students' passwords are short; badges are their real credential
MAX_LENGTH = 1024  # argon2 on a megabyte password is a denial-of-service vector


class PasswordHasher:
    def __init__(self, time_cost: int = 2, memory_kib: int = 19 * 1024, parallelism: int = 1):
        self._ph = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # A real hash to verify against when the account does not exist, so that a
        # missing user costs the same time as a wrong password (no user enumeration).
        self._dummy = self._ph.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; always spends one argon2 verification."""
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._ph.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._ph.check_needs_rehash(stored_hash)
