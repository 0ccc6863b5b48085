"""Key material held in memory and kept in step with the store: ``LiveKeys``.

Homeroom's own keys (the OIDC signing keys, the session-cookie key) are secret versions
labeled ``pending`` (published, not yet used), ``current`` (signs) and ``previous``
(still accepted until what it signed has expired: ``retain_s`` after it stopped being
current). A process resolves them once and then, at most every ``refresh_s`` seconds,
compares only the label numbers (``SecretStore.labels``, no value read); values are read
again (an audited read) only when a label moved. The hot path is one clock comparison.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import structlog

from homeroom.errors import ConfigError, Conflict
from homeroom.secrets.models import CURRENT, PENDING, PREVIOUS, SecretInfo, SecretValue
from homeroom.secrets.policy import BOOTSTRAP
from homeroom.secrets.source import StoreSecrets
from homeroom.storage.sql.types import utcnow

__all__ = ["KeyVersions", "LiveKeys"]

log = structlog.get_logger("homeroom.secrets")


@dataclass(frozen=True)
class KeyVersions:
    """One consistent view of a key: what signs, what is published early, what still counts."""

    current: SecretValue
    pending: SecretValue | None
    previous: SecretValue | None  # None once its retention has passed
    rotated_at: dt.datetime | None

    def accepted(self) -> list[SecretValue]:
        """Current first, then previous: the keys a verifier tries."""
        return [self.current, *([self.previous] if self.previous is not None else [])]

    @cached_property
    def accepted_values(self) -> tuple[bytes, ...]:
        """``accepted()`` as values, computed once per view (the same object until it moves)."""
        return tuple(v.value for v in self.accepted())

    def published(self) -> list[SecretValue]:
        """Pending, current, previous: what a JWK Set shows."""
        return [v for v in (self.pending, self.current, self.previous) if v is not None]


def previous_is_live(info: SecretInfo, retain_s: float, now: dt.datetime | None = None) -> bool:
    """Is ``previous`` still within its retention (what it signed may not have expired)?"""
    if info.previous_version is None:
        return False
    if info.rotated_at is None:
        return True  # retired before the store recorded when: keep accepting it
    return ((now or utcnow()) - info.rotated_at).total_seconds() < retain_s


class LiveKeys:
    """One secret of ``homeroom-web`` (``name``) as ``KeyVersions``, refreshed on rotation."""

    def __init__(
        self,
        source: StoreSecrets,
        name: str,
        *,
        retain_s: float,
        refresh_s: float = 30.0,
        create: Callable[[], tuple[bytes, bytes | None]] | None = None,
        create_hint: str = "",
    ) -> None:
        self.source = source
        self.name = name
        self.ref = source.ref(name)
        self.retain_s = retain_s
        self.refresh_s = refresh_s
        self._create = create
        self._hint = create_hint
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._versions: KeyVersions | None = None
        self._stamp: tuple[object, ...] | None = None
        self._checked_at = -1e18

    # ------------------------------------------------------------------ hot path

    def get(self) -> KeyVersions:
        """The key's versions; re-checked against the store at most every ``refresh_s``."""
        versions = self._versions
        if versions is not None and time.monotonic() - self._checked_at < self.refresh_s:
            return versions
        if versions is None:
            self.reload()  # first use: every caller waits for keys
        elif self._refreshing.acquire(blocking=False):
            # One thread checks; the others keep using the keys they have.
            try:
                self.reload()
            finally:
                self._refreshing.release()
        assert self._versions is not None
        return self._versions

    def accepted_values(self) -> tuple[bytes, ...]:
        """Current then previous values: the session cookie's key list."""
        return self.get().accepted_values

    # ------------------------------------------------------------------ loading

    def expire(self) -> None:
        """Check the store on the next use (after this process rotated the key itself)."""
        self._checked_at = -1e18

    def reload(self) -> None:
        """Compare label numbers; read values again only if a label moved (or retention ran out)."""
        with self._lock:
            info = self._info()
            stamp = (
                info.current_version,
                info.pending_version,
                info.previous_version if previous_is_live(info, self.retain_s) else None,
                info.rotated_at,
            )
            if stamp != self._stamp or self._versions is None:
                self._versions = self._read(info)
                self._stamp = stamp
            self._checked_at = time.monotonic()

    def _info(self) -> SecretInfo:
        store, identity = self.source.store, self.source.identity
        info = store.labels(identity, [self.ref])[self.ref.removeprefix("secret://")]
        if info is not None and info.current_version is not None:
            return info
        self._make()
        info = store.labels(identity, [self.ref])[self.ref.removeprefix("secret://")]
        if info is None or info.current_version is None:
            raise ConfigError(f"secrets: {self.ref} has no current version")
        return info

    def _make(self) -> None:
        """First start in development: create the key (and its pending successor)."""
        if self._create is None:
            self.source.missing(self.ref, 32)  # random bytes in development, else how-to
            return
        if not self.source.autocreate:
            raise ConfigError(f"secrets: {self.ref} does not exist; create it with {self._hint}")
        store = self.source.store
        current, pending = self._create()
        try:
            store.put(BOOTSTRAP, self.ref, current, cas=0)
        except Conflict:
            return  # another process created it first
        log.info("secret_created", ref=self.ref, reason="first start in development")
        if pending is not None:
            try:
                store.rotate_begin(BOOTSTRAP, self.ref, pending)
            except Conflict:
                return

    def _read(self, info: SecretInfo) -> KeyVersions:
        ring = self.source.store.keyring(self.source.identity, self.ref)
        by_label = {label: v for v in ring for label in v.labels}
        if CURRENT not in by_label:
            raise ConfigError(f"secrets: {self.ref} has no current version")
        live = previous_is_live(info, self.retain_s)
        return KeyVersions(
            current=by_label[CURRENT],
            pending=by_label.get(PENDING),
            previous=by_label.get(PREVIOUS) if live else None,
            rotated_at=info.rotated_at,
        )
