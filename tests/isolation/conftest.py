"""Fixtures of the isolation suite: the two-district ``world`` on each SQL backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeroom.web.demo_app import DEMO_FILE
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings
from tests.isolation.world import ISSUER, METRICS_TOKEN, World, build_world


@pytest.fixture
def world(sql_target: SqlTarget, tmp_path: Path) -> Iterator[World]:
    settings = make_settings(sql_target, tmp_path, issuer=ISSUER, metrics_token=METRICS_TOKEN)
    # The demo app is mounted only when its file exists: write one so that the route
    # table the suite enumerates is the full one.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / DEMO_FILE).write_text(
        json.dumps({"app_client_id": "app_demo", "app_client_secret": "x"})
    )
    container = build(settings)
    try:
        yield from build_world(container)
    finally:
        container.close()
