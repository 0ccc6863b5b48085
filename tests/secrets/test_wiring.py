"""Homeroom's own keys come from the store by reference; rotation signs nobody out."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response
from structlog.testing import capture_logs

from homeroom.config import load_settings
from homeroom.errors import ConfigError
from homeroom.secrets import ADMIN, RandomKeyRotator, StoreSecrets
from homeroom.secrets.setup import open_provider, resolved_url, write_bootstrap
from homeroom.web.session_cookie import COOKIE_NAME
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings

COOKIE_REF = "secret://development/homeroom-web/session-cookie-key"


def _cookie(container_cookie: object, session_id: str) -> str:
    response = Response()
    container_cookie.write(response, session_id)  # type: ignore[attr-defined]
    return response.headers["set-cookie"].split(";")[0].split("=", 1)[1]


def _request(value: str) -> Request:
    return Request({"type": "http", "headers": [(b"cookie", f"{COOKIE_NAME}={value}".encode())]})


def test_first_start_in_development_creates_keys_with_a_log_line(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    container = build(make_settings(sql_target, tmp_path))
    try:
        with capture_logs() as logs:
            key = container.client_secret_key
        assert len(key) == 32
        created = [e for e in logs if e["event"] == "secret_created"]
        assert created == [
            {
                "event": "secret_created",
                "log_level": "info",
                "ref": "secret://development/homeroom-web/client-secret-hmac-key",
                "bytes": 32,
                "reason": "first start in development",
            }
        ]
        assert key.hex() not in repr(logs)
        again = build(make_settings(sql_target, tmp_path))
        try:
            with capture_logs() as logs:
                assert again.client_secret_key == key  # stable across restarts
            assert not logs
        finally:
            again.close()
        assert (tmp_path / "data" / "secrets" / "kek.json").stat().st_mode & 0o077 == 0
    finally:
        container.close()


def test_outside_development_a_missing_key_says_how_to_store_it(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    container = build(make_settings(sql_target, tmp_path, environment="production"))
    try:
        with pytest.raises(ConfigError) as info:
            _ = container.session_cookie
        assert str(info.value) == (
            "secrets: secret://production/homeroom-web/session-cookie-key does not exist; store "
            "it with `homeroom secrets put secret://production/homeroom-web/session-cookie-key "
            "--generate 32` (or from stdin)"
        )
        container.secret_store.put(
            ADMIN, "secret://production/homeroom-web/session-cookie-key", b"k" * 32
        )
        assert container.session_cookie is not None
    finally:
        container.close()


def test_session_key_rotation_signs_nobody_out(sql_target: SqlTarget, tmp_path: Path) -> None:
    before = build(make_settings(sql_target, tmp_path))
    try:
        old_cookie = _cookie(before.session_cookie, "sess-1")
        before.secret_store.rotate(ADMIN, COOKIE_REF, RandomKeyRotator(32))
    finally:
        before.close()
    after = build(make_settings(sql_target, tmp_path))  # a restarted (or another) worker
    try:
        assert isinstance(after.secrets, StoreSecrets)
        ring = after.secrets.versions("session-cookie-key")
        assert [v.labels for v in ring] == [("current",), ("previous",)]
        assert after.session_cookie.read(_request(old_cookie)) == "sess-1"  # still signed in
        new_cookie = _cookie(after.session_cookie, "sess-2")
        assert new_cookie.rsplit(".", 1)[1] != old_cookie.rsplit(".", 1)[1]
        # Rolling back keeps both keys accepted as well.
        after.secret_store.rollback(ADMIN, COOKIE_REF)
    finally:
        after.close()
    rolled = build(make_settings(sql_target, tmp_path))
    try:
        assert rolled.session_cookie.read(_request(old_cookie)) == "sess-1"
        assert rolled.session_cookie.read(_request(new_cookie)) == "sess-2"
        # Two more rotations retire the first key: its cookies are no longer accepted.
        rolled.secret_store.rotate(ADMIN, COOKIE_REF, RandomKeyRotator(32))
        rolled.secret_store.rotate(ADMIN, COOKIE_REF, RandomKeyRotator(32))
    finally:
        rolled.close()
    retired = build(make_settings(sql_target, tmp_path))
    try:
        assert retired.session_cookie.read(_request(old_cookie)) is None
    finally:
        retired.close()


def test_database_password_is_resolved_from_a_bootstrap_reference(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    if sql_target.backend == "sqlite":
        pytest.skip("SQLite has no password")
    ref = "secret://development/homeroom-web/database-password"
    settings = make_settings(sql_target, tmp_path, database_password=ref)
    with pytest.raises(ConfigError, match="is not stored; store it with `homeroom secrets put"):
        build(settings)
    write_bootstrap(settings, open_provider(settings), ref, b"db-pass-from-ref")
    container = build(settings)
    try:
        assert container.db.engine.url.password == "db-pass-from-ref"
        container.db.ping()  # trust auth on the test server: the password is carried
        assert "db-pass-from-ref" not in repr(container.settings)
    finally:
        container.close()
    files = list((tmp_path / "data" / "secrets" / "bootstrap").iterdir())
    assert [f.stat().st_mode & 0o777 for f in files] == [0o600]
    assert b"db-pass-from-ref" not in files[0].read_bytes()


def test_password_references_resolve_into_each_url(tmp_path: Path) -> None:
    settings = load_settings(
        env={},
        data_dir=str(tmp_path),
        database_url="postgresql://homeroom_app@db:5432/homeroom",
        migrate_database_url="postgresql://homeroom_owner@db:5432/homeroom",
        redis_url="redis://cache:6379/0",
        database_password="secret://production/homeroom-web/database-password",
        migrate_database_password="secret://production/homeroom-web/migrate-database-password",
        redis_password="secret://production/homeroom-web/redis-password",
    )
    provider = open_provider(settings)
    for name, value in (
        ("database-password", b"app-pw-1234"),
        ("migrate-database-password", b"owner-pw-1234"),
        ("redis-password", b"redis-pw-1234"),
    ):
        write_bootstrap(settings, provider, f"secret://production/homeroom-web/{name}", value)
    assert resolved_url(settings, "sql") == "postgresql://homeroom_app:app-pw-1234@db:5432/homeroom"
    assert resolved_url(settings, "owner") == (
        "postgresql://homeroom_owner:owner-pw-1234@db:5432/homeroom"
    )
    assert resolved_url(settings, "redis") == "redis://:redis-pw-1234@cache:6379/0"
    assert "pw-1234" not in repr(settings)


def test_the_embedded_server_creates_its_page_secrets_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick-start server creates the development secrets a sign-in page needs when it
    starts, not during the first visitor's request (which took seconds on a loaded machine)."""
    from homeroom.storage.sql.migrate import upgrade
    from homeroom.web import app as web_app
    from homeroom.web.app import from_env

    # Not the process-wide logging setup: in the suite's one process it would install the
    # redaction processor over every secret earlier tests resolved, for all later tests.
    monkeypatch.setattr(web_app, "configure_logging", lambda *_a, **_k: None)

    url = f"sqlite:///{tmp_path / 'homeroom.db'}"
    upgrade(url)
    settings = load_settings(env={}, data_dir=str(tmp_path / "data"), database_url=url)
    app = from_env(settings)
    container = app.state.container
    try:
        stored = {s.path for s in container.secret_store.list_secrets(ADMIN)}
        for name in ("csrf-key", "badge-hmac-key", "client-secret-hmac-key", "session-cookie-key"):
            assert f"development/homeroom-web/{name}" in stored, stored
    finally:
        gc.unfreeze()  # the factory froze this test process's heap (see web.app)
        container.close()
