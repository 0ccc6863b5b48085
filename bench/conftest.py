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
import redis
from tests.oidc.conftest import seed

from homeroom.config import load_settings
from homeroom.storage.sql.migrate import upgrade
from homeroom.wiring import Container, build


class ManualClock:
    """A clock the benchmark moves by hand (``clock.now += 0.001``): expiry on a schedule,
    not on how fast this machine happens to be."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def seeded_container(
    tmp: Path, log_level: str = "info", redis_url: str = ""
) -> tuple[Container, dict[str, Any]]:
    """A real container on a SQLite file with the in-process KV store (or Redis at
    ``redis_url``, flushed first), seeded as the OIDC tests seed it, signing keys loaded.
    The limiter runs (its cost is part of the hot path) but never refuses a benchmark."""
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    url = f"sqlite:///{tmp / 'homeroom.db'}"
    upgrade(url)
    settings = load_settings(
        env={},
        data_dir=str(tmp / "data"),
        database_url=url,
        log_level=log_level,
        redis_url=redis_url,
        rate_limit_ip="100000000/minute",
        rate_limit_client="100000000/minute",
    )
    container = build(settings)
    data = seed(container)
    container.key_ring.reload()
    return container, data


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, dict[str, Any]]]:
    container, data = seeded_container(tmp_path_factory.mktemp("bench"))
    yield container, data
    container.close()
