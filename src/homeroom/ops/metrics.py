"""Prometheus metrics. Names follow ``homeroom_<what>_<unit>``.

Multi-worker: when ``PROMETHEUS_MULTIPROC_DIR`` is set (``homeroom serve --workers N`` sets
it), prometheus-client writes per-process files and ``/metrics`` aggregates them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["HTTP_REQUESTS", "HTTP_SECONDS", "SERVER_ERRORS"]

HTTP_REQUESTS = Counter(
    "homeroom_http_requests_total", "HTTP requests by route and status", ["route", "status"]
)
HTTP_SECONDS = Histogram(
    "homeroom_http_request_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SERVER_ERRORS = Counter(
    "homeroom_server_errors_total", "Server-side failures (5xx) by kind", ["kind"]
)
