"""The pool budget rule, and ``homeroom serve`` refusing a pool the database cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeroom.cli.main import app
from homeroom.config import load_settings
from homeroom.errors import ConfigError
from homeroom.ops.capacity import check_pool_budget, server_max_connections
from homeroom.storage.sql import Database
from tests.conftest import SqlTarget


def test_pools_that_fit_pass_and_name_the_headroom() -> None:
    settings = load_settings(env={}, db_pool_size=10, db_reserved_connections=10)
    budget = check_pool_budget(settings, workers=4, server_max=100)
    assert budget.needed == 40 and budget.largest_pool == 22


def test_pools_that_do_not_fit_are_refused_with_the_fix() -> None:
    settings = load_settings(env={}, db_pool_size=20, db_pool_max_overflow=5, db_app_hosts=2)
    with pytest.raises(ConfigError, match=r"= 200 connections.*<= 11$"):
        check_pool_budget(settings, workers=4, server_max=100)


@pytest.mark.parametrize("sql_backend", ["postgres"])
def test_max_connections_is_asked_of_the_server(sql_target: SqlTarget) -> None:
    db = Database(sql_target.url, pool_size=1)
    try:
        assert (server_max_connections(load_settings(env={}), db) or 0) > 0
        pinned = load_settings(env={}, db_server_max_connections=42)
        assert server_max_connections(pinned, db) == 42
    finally:
        db.dispose()


def test_serve_refuses_an_oversized_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("HOMEROOM_")]:
        if not key.startswith("HOMEROOM_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOMEROOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOMEROOM_DB_SERVER_MAX_CONNECTIONS", "20")
    monkeypatch.setenv("HOMEROOM_DB_POOL_SIZE", "10")
    from homeroom.cli import main as cli_main

    monkeypatch.setattr(cli_main.state, "_settings", None)
    monkeypatch.setattr(cli_main.state, "_container", None)
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert isinstance(result.exception, ConfigError)
    assert "database pool too large" in str(result.exception)


def test_serve_warns_and_goes_on_when_the_database_cannot_be_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from homeroom.cli.main import _preflight_pool_budget
    from tests.services import free_port

    settings = load_settings(
        env={},
        data_dir=str(tmp_path),
        database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/x",
        db_connect_timeout_s=1,
    )
    _preflight_pool_budget(settings, workers=2)  # no exception: /readyz gates traffic
    assert "connection budget not checked" in capsys.readouterr().err
