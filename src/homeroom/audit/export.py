"""Audit events as JSON objects and CSV (for a district admin's export).

CSV cells that a spreadsheet would run as a formula (leading ``= + - @`` or a tab/CR) are
prefixed with ``'`` (OWASP "CSV injection"): actors and targets can contain user input.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from homeroom.audit.models import AuditEvent

__all__ = ["CSV_COLUMNS", "event_dict", "to_csv"]

CSV_COLUMNS = (
    "id",
    "at",
    "district_id",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "ip",
    "detail",
)


def event_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat() if event.at else None,
        "district_id": event.district_id,
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "ip": event.ip,
        "detail": event.detail,
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(events: Iterable[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 §2: CRLF line breaks
    writer.writerow(CSV_COLUMNS)
    for event in events:
        row = event_dict(event)
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()
