"""Prometheus metrics: every series Homeroom exports, declared once, imported by the domains.

Names follow ``homeroom_<what>_<unit>``. Label values are always from small, closed sets
(routes as templates, methods, error codes, grant types): never ids, usernames or URLs.

Multi-worker: when ``PROMETHEUS_MULTIPROC_DIR`` is set (``homeroom serve --workers N`` sets
it), prometheus-client writes per-process files and :func:`render` aggregates them with a
``MultiProcessCollector``. Gauges therefore declare how workers combine: ``livesum`` for
quantities that add up across workers (requests in flight, pool connections in use),
``livemax`` for states where the worst worker matters (breaker state).

Exposure (``/metrics``) is guarded by a bearer token, see ``homeroom.web.metrics``.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _mp

__all__ = [
    "BACKCHANNEL_LOGOUTS",
    "BREAKER_REJECTED",
    "BREAKER_STATE",
    "BREAKER_TRANSITIONS",
    "CONTENT_TYPE",
    "DB_POOL_IN_USE",
    "DB_POOL_SIZE",
    "DB_POOL_TIMEOUTS",
    "DB_POOL_WAIT_SECONDS",
    "HTTP_IN_FLIGHT",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "KV_ERRORS",
    "KV_SECONDS",
    "LOGINS",
    "OIDC_ERRORS",
    "RATE_LIMITED",
    "RETRIES",
    "SERVER_ERRORS",
    "SHED_REQUESTS",
    "TOKENS_ISSUED",
    "UPSTREAM_SECONDS",
    "USAGE_EVENTS_ACCEPTED",
    "USAGE_EVENTS_DUPLICATE",
    "USAGE_EVENTS_REJECTED",
    "mark_worker_dead",
    "render",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# ------------------------------------------------------------------ HTTP

HTTP_REQUESTS = Counter(
    "homeroom_http_requests_total", "HTTP requests by route and status", ["route", "status"]
)
HTTP_SECONDS = Histogram(
    "homeroom_http_request_seconds",
    "HTTP request latency by route and status",
    ["route", "status"],
    buckets=_FAST,
)
HTTP_IN_FLIGHT = Gauge(
    "homeroom_http_in_flight_requests",
    "Requests being served now (summed over workers); compare with max_in_flight x workers",
    multiprocess_mode="livesum",
)
SERVER_ERRORS = Counter(
    "homeroom_server_errors_total", "Server-side failures (5xx) by kind", ["kind"]
)
SHED_REQUESTS = Counter(
    "homeroom_shed_requests_total",
    "Requests refused with 503 before any work because the worker was at capacity",
    ["reason"],
)
RATE_LIMITED = Counter(
    "homeroom_rate_limited_total",
    "Requests refused with 429 by rate-limit category (ip, account, client)",
    ["category"],
)

# ------------------------------------------------------------------ sign-in and OIDC

LOGINS = Counter(
    "homeroom_logins_total",
    "Sign-in attempts by method (password, badge, upstream) and outcome "
    "(success, bad_credentials, locked, rate_limited, csrf, error)",
    ["method", "outcome"],
)
OIDC_ERRORS = Counter(
    "homeroom_oidc_errors_total",
    "OAuth 2.0 / OIDC error responses by endpoint and wire error code (invalid_grant, ...)",
    ["endpoint", "error"],
)
TOKENS_ISSUED = Counter(
    "homeroom_tokens_issued_total",
    "Token responses issued by grant type (authorization_code, refresh_token, ...)",
    ["grant"],
)
BACKCHANNEL_LOGOUTS = Counter(
    "homeroom_oidc_backchannel_logouts_total",
    "Back-channel logout deliveries to relying parties by outcome (ok, failed)",
    ["outcome"],
)

# ------------------------------------------------------------------ storage

DB_POOL_SIZE = Gauge(
    "homeroom_db_pool_size",
    "Configured connections per worker pool (pool_size + max_overflow), summed over workers",
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "homeroom_db_pool_in_use",
    "Database connections checked out of the pool now, summed over workers",
    multiprocess_mode="livesum",
)
DB_POOL_WAIT_SECONDS = Histogram(
    "homeroom_db_pool_wait_seconds",
    "Time to obtain a database connection (pool wait plus connect when the pool grows)",
    buckets=_FAST,
)
DB_POOL_TIMEOUTS = Counter(
    "homeroom_db_pool_timeouts_total",
    "Requests that gave up waiting for a database connection (answered 503)",
)
AUDIT_BATCH_EVENTS = Histogram(
    "homeroom_audit_batch_events",
    "Audit events written per group commit (audit.group_commit): one transaction per "
    "district of a batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
KV_SECONDS = Histogram(
    "homeroom_kv_seconds",
    "KV store call latency by backend (memory, redis) and operation",
    ["backend", "op"],
    buckets=_FAST,
)
KV_ERRORS = Counter(
    "homeroom_kv_errors_total",
    "KV store calls that failed (unreachable or timed out) by operation",
    ["backend", "op"],
)

# ------------------------------------------------------------------ upstream calls

UPSTREAM_SECONDS = Histogram(
    "homeroom_upstream_seconds",
    "Calls to upstream services (district IdPs) by upstream and outcome (ok, error)",
    ["upstream", "outcome"],
    buckets=_SLOW,
)
BREAKER_STATE = Gauge(
    "homeroom_breaker_state",
    "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open (worst worker)",
    ["breaker"],
    multiprocess_mode="livemax",
)
BREAKER_TRANSITIONS = Counter(
    "homeroom_breaker_transitions_total",
    "Circuit breaker state changes by breaker and new state",
    ["breaker", "state"],
)
BREAKER_REJECTED = Counter(
    "homeroom_breaker_rejected_total",
    "Calls refused without trying because the breaker was open",
    ["breaker"],
)
RETRIES = Counter(
    "homeroom_retries_total",
    "Retry decisions by operation and outcome (retried, budget_exhausted, gave_up)",
    ["operation", "outcome"],
)

# ------------------------------------------------------------------ usage

USAGE_EVENTS_ACCEPTED = Counter(
    "homeroom_usage_events_accepted_total",
    "Usage and progress events accepted (durably stored) by kind",
    ["kind"],
)
USAGE_EVENTS_REJECTED = Counter(
    "homeroom_usage_events_rejected_total",
    "Usage events refused by reason (invalid, unknown_user, in_future, too_old, id_reused)",
    ["reason"],
)
USAGE_EVENTS_DUPLICATE = Counter(
    "homeroom_usage_events_duplicate_total",
    "Replayed usage events (same app and event id): acknowledged, not counted again",
)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> bytes:
    """The exposition text: aggregated over workers in multi-process mode, else this process."""
    if _multiprocess_dir():
        registry = CollectorRegistry()
        _mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_worker_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges so that in-flight and pool sums stay true."""
    if _multiprocess_dir():
        _mp.mark_process_dead(pid)  # type: ignore[no-untyped-call]
