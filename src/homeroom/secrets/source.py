"""Where Homeroom's own secrets come from, by name: ``SecretSource``.

``StoreSecrets`` (used by ``wiring``) resolves a name such as ``session-cookie-key`` as the
reference ``secret://<environment>/homeroom-web/<name>`` in the encrypted store, as the
``homeroom-web`` identity. In development a missing key is created on first start (a log
line names the reference, never the value); elsewhere a missing key stops the process with
the command that stores it. ``DataDirSecrets`` is the old file-per-secret placeholder, kept
for single-file tooling and tests.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from pathlib import Path
from typing import Protocol

import structlog

from homeroom.errors import ConfigError, NotFound
from homeroom.secrets.models import SecretValue
from homeroom.secrets.paths import SecretPath
from homeroom.secrets.policy import ADMIN, BOOTSTRAP, WEB
from homeroom.secrets.store import SecretStore

__all__ = ["DataDirSecrets", "SecretSource", "StoreSecrets"]

log = structlog.get_logger("homeroom.secrets")


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


class StoreSecrets:
    """``SecretSource`` over the secret store, as a service identity (``homeroom-web``)."""

    def __init__(
        self,
        store: SecretStore,
        environment: str,
        service: str = WEB,
        identity: str = WEB,
        autocreate: bool | None = None,
    ) -> None:
        self.store = store
        self.environment = environment
        self.service = service
        self.identity = identity
        self.autocreate = environment == "development" if autocreate is None else autocreate
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def ref(self, name: str) -> str:
        return SecretPath.parse(f"{self.environment}/{self.service}/{name}").ref

    def missing(self, ref: str, size: int) -> None:
        """Create ``ref`` in development; elsewhere say how to store it."""
        if not self.autocreate:
            raise ConfigError(
                f"secrets: {ref} does not exist; store it with "
                f"`homeroom secrets put {ref} --generate {size}` (or from stdin)"
            )
        if self.store.create_if_missing(BOOTSTRAP, ref, size):
            log.info("secret_created", ref=ref, bytes=size, reason="first start in development")

    def get_or_create(self, name: str, size: int = 32) -> bytes:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
            ref = self.ref(name)
            try:
                value = self.store.get(self.identity, ref).value
            except NotFound:
                self.missing(ref, size)
                value = self.store.get(self.identity, ref).value
            self._cache[name] = value
            return value

    def put(self, name: str, value: bytes) -> None:
        """An operator's write (CLI commands such as ``homeroom upstream add``), audited as
        ``admin``; the web service's own identity can only read."""
        with self._lock:
            self.store.put(ADMIN, self.ref(name), value)
            self._cache[name] = value

    def delete(self, name: str) -> None:
        """Soft-delete every version of ``name`` (an operator's action); absent is fine."""
        with self._lock:
            self._cache.pop(name, None)
            with contextlib.suppress(NotFound):
                self.store.delete(ADMIN, self.ref(name))

    def versions(self, name: str, size: int = 32) -> list[SecretValue]:
        """Versions labeled pending, current and previous, newest first, with their labels.

        The key-material API for rotation: sign with ``current``, publish ``pending`` before
        it signs, keep accepting ``previous`` until what it signed has expired.
        """
        ref = self.ref(name)
        try:
            return self.store.keyring(self.identity, ref)
        except NotFound:
            self.missing(ref, size)
            return self.store.keyring(self.identity, ref)

    def current_and_previous(self, name: str, size: int = 32) -> list[bytes]:
        """Values labeled current, then previous: the session cookie's key list."""
        ring = self.versions(name, size)
        ordered = [v for v in ring if "current" in v.labels]
        ordered += [v for v in ring if "previous" in v.labels and "current" not in v.labels]
        return [v.value for v in ordered]


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
