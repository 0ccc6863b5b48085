"""Redact every resolved secret value from logs and error reports.

The store registers each value it decrypts; ``redact_processor`` (a structlog processor,
installed by ``homeroom.ops.logging``) and ``RedactingFilter`` (stdlib logging, for
uvicorn and library loggers) replace any occurrence — raw text, hex, base64 or
URL-safe base64 — with ``[REDACTED]``. Values shorter than 8 bytes are not registered:
they would redact ordinary words and are too weak to be secrets anyway.

The forms are found with an Aho–Corasick automaton (``pyahocorasick``): one pass over a
log line whatever the number of secrets, and a rebuild in C when one is added. A regular
expression alternating every form cost a slow recompile per new secret and a match
attempt per form at every position of every line: fine with tens of secrets, minutes once
a process had resolved thousands (a test process did, and hung).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
from collections.abc import MutableMapping
from typing import Any

import ahocorasick

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


def _automaton(words: set[str]) -> ahocorasick.Automaton | None:
    if not words:
        return None
    automaton = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
    for word in words:
        automaton.add_word(word)
    automaton.make_automaton()
    return automaton


def _spans(automaton: ahocorasick.Automaton | None, text: str) -> list[tuple[int, int]]:
    """Where the words occur in ``text``, overlapping occurrences merged: (start, end)."""
    if automaton is None:
        return []
    found = sorted((end + 1 - length, end + 1) for end, length in automaton.iter(text))
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _replace(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts.append(text[at:start])
        parts.append(mark)
        at = end
    parts.append(text[at:])
    return "".join(parts)


class Redactor:
    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._raw: set[str] = set()  # raw values as latin-1 text: one character per byte
        self._text: ahocorasick.Automaton | None = None
        self._bytes: ahocorasick.Automaton | None = None
        self._stale = False
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
        raw = value.decode("latin-1")
        with self._lock:
            if forms <= self._forms and raw in self._raw:
                return
            self._forms |= forms
            self._raw.add(raw)
            self._stale = True

    def _automata(self) -> tuple[ahocorasick.Automaton | None, ahocorasick.Automaton | None]:
        if self._stale:
            with self._lock:
                if self._stale:  # built once per batch of registrations, by one thread
                    self._text = _automaton(self._forms)
                    self._bytes = _automaton(self._raw)
                    self._stale = False
        return self._text, self._bytes

    def redact(self, text: str) -> str:
        spans = _spans(self._automata()[0], text)
        return _replace(text, spans, REDACTED) if spans else text

    def redact_any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bytes):
            latin = value.decode("latin-1")
            spans = _spans(self._automata()[1], latin)
            if spans:
                value = _replace(latin, spans, REDACTED).encode("latin-1")
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
            self._stale = True


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
