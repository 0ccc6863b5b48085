"""``/metrics``: protected, and showing the series the runbook relies on."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from homeroom.secrets import ADMIN
from homeroom.web.app import create_app
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings

FAMILIES = [
    "homeroom_http_requests_total",
    "homeroom_http_request_seconds",
    "homeroom_http_in_flight_requests",
    "homeroom_logins_total",
    "homeroom_oidc_errors_total",
    "homeroom_tokens_issued_total",
    "homeroom_db_pool_size",
    "homeroom_db_pool_in_use",
    "homeroom_db_pool_wait_seconds",
    "homeroom_db_pool_timeouts_total",
    "homeroom_kv_seconds",
    "homeroom_audit_batch_events",
    "homeroom_upstream_seconds",
    "homeroom_breaker_state",
    "homeroom_shed_requests_total",
    "homeroom_rate_limited_total",
    "homeroom_usage_events_accepted_total",
]


def test_metrics_are_hidden_without_a_token(sql_target: SqlTarget, tmp_path: Path) -> None:
    container = build(make_settings(sql_target, tmp_path))
    try:
        with TestClient(create_app(container)) as client:
            assert client.get("/metrics").status_code == 404
    finally:
        container.close()


def test_metrics_need_the_bearer_token(sql_target: SqlTarget, tmp_path: Path) -> None:
    ref = "secret://development/homeroom-web/metrics-token"
    container = build(make_settings(sql_target, tmp_path, metrics_token=ref))
    container.secret_store.put(ADMIN, ref, b"s3cret-token")  # settings hold the reference
    try:
        with TestClient(create_app(container)) as client:
            assert client.get("/metrics").status_code == 401
            wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            before_wait = REGISTRY.get_sample_value("homeroom_db_pool_wait_seconds_count") or 0
            assert client.get("/api/v1/status").status_code == 200
            r = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            for family in FAMILIES:
                assert f"# TYPE {family}" in r.text, family
            assert 'route="/api/v1/status",status="200"' in r.text
            assert 'homeroom_kv_seconds_count{backend="memory",op="ping"}' in r.text
            after_wait = REGISTRY.get_sample_value("homeroom_db_pool_wait_seconds_count")
            assert after_wait is not None and after_wait > before_wait
    finally:
        container.close()


def test_pool_in_use_returns_to_zero_after_work(sql_target: SqlTarget, tmp_path: Path) -> None:
    container = build(make_settings(sql_target, tmp_path))
    try:
        baseline = REGISTRY.get_sample_value("homeroom_db_pool_in_use") or 0
        with container.db.platform():
            during = REGISTRY.get_sample_value("homeroom_db_pool_in_use")
            assert during == baseline + 1
        assert REGISTRY.get_sample_value("homeroom_db_pool_in_use") == baseline
    finally:
        container.close()
