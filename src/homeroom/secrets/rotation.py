"""Rotation steps that live outside the store (the AWS Secrets Manager model).

``SecretStore.rotate`` runs create → set → test → finish: ``generate`` makes the pending
value, ``set`` installs it where it is used, ``test`` proves it works; a failure of either
rolls the pending version back.
"""

from __future__ import annotations

import secrets as pysecrets
from typing import Protocol

from homeroom.errors import InvalidInput

__all__ = ["RandomKeyRotator", "Rotator"]


class Rotator(Protocol):
    """The steps of a rotation that live outside the store (AWS Secrets Manager's model)."""

    def generate(self, path: str) -> bytes:
        """createSecret: the new value."""
        ...

    def set(self, path: str, value: bytes) -> None:
        """setSecret: install the pending value where it is used (a no-op for own keys)."""
        ...

    def test(self, path: str, value: bytes) -> None:
        """testSecret: raise if the pending value does not work."""
        ...


class RandomKeyRotator:
    """For Homeroom's own keys: random bytes, nothing to install, length checked."""

    def __init__(self, size: int = 32) -> None:
        self.size = size

    def generate(self, path: str) -> bytes:
        return pysecrets.token_bytes(self.size)

    def set(self, path: str, value: bytes) -> None:
        return None

    def test(self, path: str, value: bytes) -> None:
        if len(value) != self.size:
            raise InvalidInput(f"rotation test failed for {path}: wrong key length")
