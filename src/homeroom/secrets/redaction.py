"""Redact every resolved secret value from logs and error reports.

The store registers each value it decrypts; ``redact_processor`` (a structlog processor,
installed by ``homeroom.ops.logging``) and ``RedactingFilter`` (stdlib logging, for
uvicorn and library loggers) replace any occurrence — raw text, hex, base64 or
URL-safe base64 — with ``[REDACTED]``. Values shorter than 8 bytes are not registered:
they would redact ordinary words and are too weak to be secrets anyway.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import threading
from collections.abc import MutableMapping
from typing import Any

__all__ = [
    "REDACTED",
    "REDACTOR",
    "RedactingFilter",
    "Redactor",
    "install_record_redaction",
    "redact_processor",
]

REDACTED = "[REDACTED]"
MIN_LENGTH = 8


class Redactor:
    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._raw: set[bytes] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, value: bytes) -> None:
        if len(value) < MIN_LENGTH:
            return
        forms = {
            value.hex(),
            base64.b64encode(value).decode(),
            base64.urlsafe_b64encode(value).decode(),
            base64.urlsafe_b64encode(value).decode().rstrip("="),
            base64.b64encode(value).decode().rstrip("="),
        }
        with contextlib.suppress(UnicodeDecodeError):
            forms.add(value.decode("utf-8"))
        forms = {f for f in forms if len(f) >= MIN_LENGTH}
        with self._lock:
            self._raw.add(value)
            if forms <= self._forms:
                return
            self._forms |= forms
            self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        pattern = self._pattern
        if pattern is None and self._forms:
            with self._lock:
                ordered = sorted(self._forms, key=len, reverse=True)  # longest match first
                pattern = self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return pattern

    def redact(self, text: str) -> str:
        pattern = self._compiled()
        return text if pattern is None else pattern.sub(REDACTED, text)

    def redact_any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bytes):
            for raw in list(self._raw):
                value = value.replace(raw, REDACTED.encode())
            return self.redact(value.decode("utf-8", "replace"))
        if isinstance(value, dict):
            return {k: self.redact_any(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_any(v) for v in value)
        if isinstance(value, BaseException):
            return self.redact(repr(value))
        return value

    def clear(self) -> None:
        with self._lock:
            self._forms.clear()
            self._raw.clear()
            self._pattern = None


REDACTOR = Redactor()
"""The process-wide redactor the store feeds and the log pipeline reads."""


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: place it after ``format_exc_info`` so tracebacks are covered."""
    for key, value in list(event_dict.items()):
        event_dict[key] = REDACTOR.redact_any(value)
    return event_dict


class RedactingFilter(logging.Filter):
    """stdlib logging filter: renders the message, then redacts it (and the traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = REDACTOR.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = REDACTOR.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_record_redaction() -> None:
    """Redact every stdlib log record as it is created, whichever logger made it.

    A filter on a logger does not see records that *propagate* to it from child loggers
    (``sqlalchemy.engine``, ``httpx``, ``homeroom.anything``), so the filter alone would
    miss them; the record factory sees them all. Idempotent.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "homeroom_redacting", False):
        return
    redacting = RedactingFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redacting.filter(record)
        return record

    factory.homeroom_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
