"""What the store hands out: metadata and values. ``repr`` never shows a value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["SecretInfo", "SecretValue", "VersionInfo"]

CURRENT, PREVIOUS, PENDING = "current", "previous", "pending"


@dataclass(frozen=True)
class SecretValue:
    path: str
    version: int
    labels: tuple[str, ...]
    created_at: dt.datetime
    value: bytes = field(repr=False)

    def text(self) -> str:
        return self.value.decode("utf-8")


@dataclass(frozen=True)
class VersionInfo:
    path: str
    version: int
    state: str  # active | deleted | destroyed
    labels: tuple[str, ...]
    kek_id: str | None
    created_by: str
    created_at: dt.datetime
    deleted_at: dt.datetime | None
    destroyed_at: dt.datetime | None


@dataclass(frozen=True)
class SecretInfo:
    path: str
    latest_version: int
    current_version: int | None
    previous_version: int | None
    pending_version: int | None
    max_versions: int
    updated_at: dt.datetime
    rotated_at: dt.datetime | None = None
    """When ``current`` last moved (put, finish, rollback): ``previous`` retired then."""
