"""Structured logs (structlog): JSON lines with a request id, one event per request."""

from __future__ import annotations

import logging
import sys

import structlog

from homeroom.secrets.redaction import (
    RedactingFilter,
    install_record_redaction,
    redact_processor,
)

__all__ = ["configure_logging"]


def configure_logging(level: str = "info", json: bool = True) -> None:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,  # after format_exc_info: tracebacks are redacted too
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    install_record_redaction()  # records of every stdlib logger, propagated or not
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        stdlib = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in stdlib.filters):
            stdlib.addFilter(RedactingFilter())
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
