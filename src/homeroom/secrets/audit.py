"""The secret audit log: append-only and hash-chained under a keyed hash.

Each record's ``hash`` is HMAC-SHA-256 (under the store's audit key, itself wrapped by the
key-encryption key) over the previous record's hash and the record's own fields. Editing,
deleting or reordering a record breaks the chain at that record; recomputing the chain
requires the audit key, which a database-only attacker does not hold. Values appear only
as keyed hashes (``value_hmac``). Truncating the *end* of the log is detectable only
against a head recorded elsewhere: ``verify`` prints the head for operators to keep.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GENESIS", "AuditEntry", "ChainReport", "chain_hash", "verify_chain"]

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    outcome: str  # ok | denied | failed
    path: str | None = None
    version: int | None = None
    value_hmac: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _canonical(seq: int, at: dt.datetime, e: Mapping[str, Any]) -> bytes:
    body = [
        seq,
        at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        e["actor"],
        e["action"],
        e["path"],
        e["version"],
        e["outcome"],
        e["value_hmac"],
        e["detail"],
    ]
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def chain_hash(key: bytes, prev_hash: str, seq: int, at: dt.datetime, e: Mapping[str, Any]) -> str:
    return hmac.new(
        key, prev_hash.encode() + b"\n" + _canonical(seq, at, e), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    head_seq: int
    head_hash: str
    problem: str = ""


def verify_chain(key: bytes, rows: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk the log in ``seq`` order; the first broken link is reported."""
    prev, expected_seq, count = GENESIS, 1, 0
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            return ChainReport(
                False, count, seq, prev, f"record {expected_seq} is missing (next is {seq})"
            )
        if row["prev_hash"] != prev:
            return ChainReport(False, count, seq, prev, f"record {seq} does not follow {seq - 1}")
        if not hmac.compare_digest(chain_hash(key, prev, seq, row["at"], row), row["hash"]):
            return ChainReport(False, count, seq, prev, f"record {seq} was altered")
        prev, expected_seq, count = row["hash"], seq + 1, count + 1
    return ChainReport(True, count, expected_seq - 1, prev)
