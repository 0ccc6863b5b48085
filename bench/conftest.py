"""Micro benchmarks (pytest-benchmark). Not part of the test suite: run them on purpose,

    .venv/bin/pytest bench -p no:cacheprovider --benchmark-enable --benchmark-only

and compare runs with ``--benchmark-autosave`` / ``--benchmark-compare``. Never assert times.
Fixtures: a real container on SQLite with the in-process KV store, seeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.oidc.conftest import seed

from homeroom.config import load_settings
from homeroom.storage.sql.migrate import upgrade
from homeroom.wiring import Container, build


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, dict[str, Any]]]:
    tmp: Path = tmp_path_factory.mktemp("bench")
    url = f"sqlite:///{tmp / 'homeroom.db'}"
    upgrade(url)
    settings = load_settings(
        env={},
        data_dir=str(tmp / "data"),
        database_url=url,
        # The limiter runs (its cost is part of the hot path), but never refuses a benchmark.
        rate_limit_ip="100000000/minute",
        rate_limit_client="100000000/minute",
    )
    container = build(settings)
    data = seed(container)
    container.key_ring.reload()
    yield container, data
    container.close()
