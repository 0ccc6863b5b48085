"""Secret paths and references: ``secret://<environment>/<service>/<name>``.

A *reference* is what configuration holds; the *path* (``<environment>/<service>/<name>``)
is the key in the store and part of every ciphertext's associated data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from homeroom.errors import InvalidInput

__all__ = ["REF_PREFIX", "SecretPath", "is_reference"]

REF_PREFIX = "secret://"
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ENV = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def is_reference(value: str) -> bool:
    return value.startswith(REF_PREFIX)


@dataclass(frozen=True, order=True)
class SecretPath:
    environment: str
    service: str
    name: str

    @classmethod
    def parse(cls, text: str) -> SecretPath:
        """Accept ``secret://env/service/name`` or bare ``env/service/name``."""
        raw = text.removeprefix(REF_PREFIX)
        parts = raw.split("/")
        if len(parts) != 3:
            raise InvalidInput(
                f"bad secret path {text!r}: expected secret://<environment>/<service>/<name>"
            )
        env, service, name = parts
        if not _ENV.match(env) or not _SEGMENT.match(service) or not _SEGMENT.match(name):
            raise InvalidInput(
                f"bad secret path {text!r}: segments are lower-case letters, digits, '.', '_' "
                "or '-'"
            )
        return cls(env, service, name)

    def __str__(self) -> str:
        return f"{self.environment}/{self.service}/{self.name}"

    @property
    def ref(self) -> str:
        return REF_PREFIX + str(self)
