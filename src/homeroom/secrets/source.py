"""Where Homeroom's own secrets come from.

``DataDirSecrets`` is the embedded default: random values generated on first use in files
readable by the owner only. The encrypted, versioned store replaces it in production.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Protocol

__all__ = ["DataDirSecrets", "SecretSource"]


class SecretSource(Protocol):
    def get_or_create(self, name: str, size: int = 32) -> bytes:
        """The secret ``name``; generated with ``size`` random bytes if it does not exist."""
        ...

    def put(self, name: str, value: bytes) -> None:
        """Store a secret given from outside (an upstream IdP's client secret)."""
        ...

    def delete(self, name: str) -> None:
        """Forget a secret (no error when absent)."""
        ...


class DataDirSecrets:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get_or_create(self, name: str, size: int = 32) -> bytes:
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"bad secret name {name!r}")
        with self._lock:
            if name in self._cache:
                return self._cache[name]
            path = self.directory / name
            if not path.exists():
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(secrets.token_bytes(size))
            value = path.read_bytes()
            self._cache[name] = value
            return value

    def _path(self, name: str) -> Path:
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"bad secret name {name!r}")
        return self.directory / name

    def put(self, name: str, value: bytes) -> None:
        path = self._path(name)
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(value)
            self._cache[name] = value

    def delete(self, name: str) -> None:
        path = self._path(name)
        with self._lock:
            self._cache.pop(name, None)
            path.unlink(missing_ok=True)
