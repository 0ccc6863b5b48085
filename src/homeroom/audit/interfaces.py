"""Storage interface for audit events: append and read, never update or delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from homeroom.audit.models import AuditEvent

__all__ = ["AuditLog"]


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> AuditEvent: ...
    def append_many(self, events: Sequence[AuditEvent]) -> None: ...
    def list(
        self, *, since: dt.datetime | None = None, limit: int = 1000, action: str | None = None
    ) -> Sequence[AuditEvent]: ...
