"""Identity records as plain dataclasses (no storage imports: repositories import these)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Badge"]


@dataclass(frozen=True, slots=True)
class Badge:
    """A QR badge: only the keyed hash of its credential is ever stored."""

    district_id: str
    id: str
    user_id: str
    credential_hash: str
    status: str  # "active" | "voided"
    created_by: str
    created_at: dt.datetime
    voided_at: dt.datetime | None = None
