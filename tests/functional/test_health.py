"""Health endpoints, request ids, JSON logs and the 500 safety net, through the real app."""

from __future__ import annotations

from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from homeroom.errors import ServiceUnavailable
from homeroom.web.app import create_app
from homeroom.wiring import Container


def test_healthz_and_readyz(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        r = client.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert len(r.headers["x-request-id"]) == 16
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "kv": "ok"}


def test_readyz_is_503_when_a_dependency_is_down(container: Container) -> None:
    def down() -> None:
        raise ServiceUnavailable("kv store unavailable")

    container.kv.ping = down  # type: ignore[method-assign]
    with TestClient(create_app(container)) as client:
        r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json()["checks"]["kv"] == "unavailable"


def test_unhandled_error_is_a_counted_500_without_details(container: Container) -> None:
    from prometheus_client import REGISTRY

    app = create_app(container)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    before = REGISTRY.get_sample_value("homeroom_server_errors_total", {"kind": "unhandled"}) or 0
    with capture_logs() as logged, TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == 500
    assert "secret internals" not in r.text and r.json()["error"] == "server_error"
    after = REGISTRY.get_sample_value("homeroom_server_errors_total", {"kind": "unhandled"})
    assert after == before + 1
    assert any(e.get("event") == "unhandled_error" for e in logged)
