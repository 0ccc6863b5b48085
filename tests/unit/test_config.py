"""Settings load from defaults, a TOML file, then HOMEROOM_* variables, and name bad keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeroom.config import load_settings
from homeroom.errors import ConfigError


def test_defaults_are_embedded() -> None:
    s = load_settings(env={})
    assert s.sql_url == "sqlite:///var/homeroom.db"
    assert s.redis_url == "" and s.port == 8000 and not s.is_postgres


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    f = tmp_path / "h.toml"
    f.write_text('[homeroom]\nport = 9000\nissuer = "https://sso.example.org"\n')
    s = load_settings(file=f, env={"HOMEROOM_PORT": "9100"})
    assert s.port == 9100 and s.issuer == "https://sso.example.org"
    assert load_settings(file=f, env={}, port=9200).port == 9200


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="HOMEROOM_PORT"):
        load_settings(env={"HOMEROOM_PORT": "eighty"})


def test_unknown_env_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="HOMEROOM_PROT: unknown setting"):
        load_settings(env={"HOMEROOM_PROT": "1"})


def test_bad_file_key_names_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "h.toml"
    f.write_text('issuer = "ftp://x/"\n')
    with pytest.raises(ConfigError, match=r"h\.toml:issuer"):
        load_settings(file=f, env={})


def test_unknown_file_key(tmp_path: Path) -> None:
    f = tmp_path / "h.toml"
    f.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings(file=f, env={})


def test_missing_and_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(file=tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings(file=bad, env={})


def test_school_networks_are_cidrs() -> None:
    s = load_settings(env={"HOMEROOM_SCHOOL_NETWORKS": "203.0.113.0/24, 2001:db8::/48"})
    assert [str(n) for n in s.school_network_list] == ["203.0.113.0/24", "2001:db8::/48"]
    with pytest.raises(ConfigError, match=r"HOMEROOM_SCHOOL_NETWORKS.*not a network.*'10\.0\.0'"):
        load_settings(env={"HOMEROOM_SCHOOL_NETWORKS": "10.0.0.0/8,10.0.0"})
