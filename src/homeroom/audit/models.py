"""Audit records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuditEvent"]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One action. ``district_id`` None means a platform event (app registration...)."""

    actor: str
    action: str
    district_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str = "success"
    ip: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    at: dt.datetime | None = None
