"""Fixtures of the isolation suite: the two-district ``world`` on each SQL backend.

Every isolation test also fails if tenant data was touched outside a scope while it ran
(``homeroom_server_errors_total{kind="tenant_scope"}`` grew): a 500 that a probe happened to
accept is still a bug. A test that provokes one on purpose requests
``allow_tenant_scope_errors``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeroom.ops.metrics import SERVER_ERRORS
from homeroom.secrets import ADMIN
from homeroom.secrets.policy import DEMO_APP_IDENTITY
from homeroom.web.demo_app import DEMO_FILE
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings
from tests.isolation.world import ISSUER, METRICS_TOKEN, World, build_world


@pytest.fixture
def world(sql_target: SqlTarget, tmp_path: Path) -> Iterator[World]:
    metrics_ref = "secret://development/homeroom-web/metrics-token"
    settings = make_settings(sql_target, tmp_path, issuer=ISSUER, metrics_token=metrics_ref)
    # The demo app is mounted only when its file exists: write one so that the route
    # table the suite enumerates is the full one.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    container = build(settings)
    ref = f"secret://{settings.environment}/{DEMO_APP_IDENTITY}/client-secret"
    container.secret_store.put(ADMIN, ref, b"x" * 32)
    container.secret_store.put(ADMIN, metrics_ref, METRICS_TOKEN.encode())
    (settings.data_dir / DEMO_FILE).write_text(
        json.dumps({"app_client_id": "app_demo", "app_secret_ref": ref})
    )
    try:
        yield from build_world(container)
    finally:
        container.close()


def _tenant_scope_errors() -> float:
    return float(SERVER_ERRORS.labels(kind="tenant_scope")._value.get())


@pytest.fixture
def allow_tenant_scope_errors() -> None:
    """Request this in a test that provokes ``TenantScopeError`` on purpose."""


@pytest.fixture(autouse=True)
def no_tenant_scope_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    before = _tenant_scope_errors()
    yield
    if "allow_tenant_scope_errors" not in request.fixturenames:
        assert _tenant_scope_errors() == before, "tenant data was touched outside a TenantScope"
