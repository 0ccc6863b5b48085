"""The server factory (``homeroom serve``'s app) leaves its start-up heap frozen.

Why: a full collection walked every object built at start (modules, the app, the
container), pausing the worker for 70-90 ms at a time under load (``web.app``)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from homeroom.config import load_settings
from homeroom.storage.sql.migrate import upgrade
from homeroom.web import app as web_app


def test_the_server_factory_freezes_what_it_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not the process-wide logging setup (it would apply to every later test).
    monkeypatch.setattr(web_app, "configure_logging", lambda *_a, **_k: None)
    url = f"sqlite:///{tmp_path / 'homeroom.db'}"
    upgrade(url)
    settings = load_settings(env={}, data_dir=str(tmp_path / "data"), database_url=url)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = web_app.from_env(settings)
    try:
        # The app itself is among the frozen objects: gc.freeze moved it out of the
        # generations the collector walks.
        assert gc.get_freeze_count() > 0
        assert not any(app is obj for obj in gc.get_objects())
    finally:
        gc.unfreeze()
        app.state.container.close()
