"""Settings hold secret references, never values; a value is refused with how to store it."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeroom.config import load_settings
from homeroom.errors import ConfigError
from homeroom.secrets import ADMIN
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings


def test_inline_database_password_is_refused_with_instructions() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"HOMEROOM_DATABASE_URL": "postgresql://app:hunter2@db/homeroom"})
    message = str(info.value)
    assert message.startswith("config: HOMEROOM_DATABASE_URL: holds a password in plain text")
    assert "homeroom secrets put --bootstrap" in message
    assert "HOMEROOM_DATABASE_PASSWORD=secret://" in message
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HOMEROOM_MIGRATE_DATABASE_URL", "postgresql://owner:pw@db/homeroom"),
        ("HOMEROOM_REDIS_URL", "redis://:s3cret@cache:6379/0"),
    ],
)
def test_other_urls_with_passwords_are_refused(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^config: {key}: holds a password"):
        load_settings(env={key: value})


def test_password_settings_accept_only_references() -> None:
    with pytest.raises(ConfigError, match="HOMEROOM_DATABASE_PASSWORD: must be a secret reference"):
        load_settings(env={"HOMEROOM_DATABASE_PASSWORD": "hunter2"})
    settings = load_settings(
        env={
            "HOMEROOM_DATABASE_URL": "postgresql://app@db/homeroom",
            "HOMEROOM_DATABASE_PASSWORD": "secret://production/homeroom-web/database-password",
            "HOMEROOM_SECRETS_KEK": "not-a-setting-but-key-material",  # the env provider's
        }
    )
    assert settings.database_password.startswith("secret://")


def test_kek_provider_is_validated() -> None:
    with pytest.raises(ConfigError, match="HOMEROOM_SECRETS_KEK_PROVIDER"):
        load_settings(env={"HOMEROOM_SECRETS_KEK_PROVIDER": "rot13"})


def test_metrics_token_is_a_reference_resolved_from_the_store(
    sql_target: SqlTarget, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"HOMEROOM_METRICS_TOKEN": "plain-token-value"})
    message = str(info.value)
    assert message.startswith("config: HOMEROOM_METRICS_TOKEN: must be a secret reference")
    assert "homeroom secrets put secret://<environment>/homeroom-web/metrics-token" in message
    assert "plain-token-value" not in message and "\n" not in message
    ref = "secret://development/homeroom-web/metrics-token"
    container = build(make_settings(sql_target, tmp_path, metrics_token=ref))
    try:
        with pytest.raises(ConfigError, match=r"is not stored; store it with `homeroom secrets"):
            _ = container.metrics_token
        container.secret_store.put(ADMIN, ref, b"token-from-the-store")
        assert container.metrics_token == "token-from-the-store"
        assert "token-from-the-store" not in repr(container.settings)
    finally:
        container.close()
