"""Recording audit events from services that are not already in a unit of work.

District events go to the district's append-only ``audit_events`` (inside its
``TenantScope``: RLS holds for the audit log too); events with no district (a sign-in
attempt naming an unknown district) go to the platform log.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeroom.audit.group_commit import appender_for
from homeroom.audit.models import AuditEvent
from homeroom.storage.sql import Database

__all__ = ["AuditTrail"]


@dataclass
class AuditTrail:
    db: Database

    def record(self, district_id: str | None, event: AuditEvent) -> None:
        if district_id is None:
            with self.db.platform(write=True) as uow:
                uow.platform_audit.append(event)
            return
        # Group-committed (``audit.group_commit``): on the event loop with the loop turn's
        # batch, from threads with the threads' batch; either way the response waits for it.
        appender_for(self.db).append(district_id, event)
