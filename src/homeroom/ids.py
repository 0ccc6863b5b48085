"""Typed opaque identifiers: ``usr_…``, ``sec_…``. Never SIS ids, never sequential.

Prefixes make a leaked id self-describing in logs and let validation reject an id of the
wrong kind before it reaches the database.
"""

from __future__ import annotations

import base64
import os
import re
import secrets

__all__ = ["PREFIXES", "is_id", "new_id", "new_ids"]

PREFIXES = {
    "district": "dst",
    "school": "sch",
    "term": "trm",
    "course": "crs",
    "section": "sec",
    "enrollment": "enr",
    "user": "usr",
    "app": "app",
    "connection": "con",
    "audit": "aud",
    "event": "evt",
    "badge": "bdg",
    "goal": "gol",
    "secret": "scr",
    "key": "key",
    "org": "org",
    "import": "imp",
}

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_ID_RE = re.compile(r"^[a-z]{3}_[0-9a-hjkmnp-tv-z]{20}$")


def new_id(kind: str) -> str:
    """Return a fresh id for ``kind`` with 100 bits of randomness."""
    prefix = PREFIXES[kind]
    body = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    return f"{prefix}_{body}"


_B32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def new_ids(kind: str, count: int) -> list[str]:
    """``count`` fresh ids at once (bulk imports): the same shape and randomness as
    :func:`new_id`, from one ``os.urandom`` call instead of 20 ``secrets.choice`` calls each."""
    prefix = PREFIXES[kind] + "_"
    pool = os.urandom(15 * count)
    return [
        prefix + base64.b32encode(pool[i : i + 15]).decode().translate(_B32)[:20]
        for i in range(0, 15 * count, 15)
    ]


def is_id(value: str, kind: str | None = None) -> bool:
    """True when ``value`` has the shape of an id (of ``kind`` when given)."""
    if not _ID_RE.match(value):
        return False
    return kind is None or value.startswith(PREFIXES[kind] + "_")
