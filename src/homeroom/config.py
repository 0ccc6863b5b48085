"""Settings: defaults, then an optional TOML file, then ``HOMEROOM_*`` environment variables.

Validated once at start. A bad value stops the process with one line naming the key, e.g.
``config: HOMEROOM_PORT: Input should be a valid integer``. Secret *values* never live here,
only references (``secret://…``); see ``homeroom.secrets``.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from homeroom.errors import ConfigError

__all__ = ["Settings", "load_settings"]

ENV_PREFIX = "HOMEROOM_"
KEK_ENV = "HOMEROOM_SECRETS_KEK"
"""Default variable of the ``env`` key provider: key material, not a setting."""
SECRET_FIELDS = ("database_password", "migrate_database_password", "redis_password")
"""Settings that name a secret: they accept only ``secret://`` references."""


def _url_password(url: str) -> bool:
    """True when a DSN carries a password (``scheme://user:password@host``)."""
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs; ``ValueError`` naming the first that is not one."""
    found = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not a network (CIDR): {part!r}") from None
    return tuple(found)


class Settings(BaseModel):
    """Every knob Homeroom has; names match ``HOMEROOM_<UPPER_NAME>`` and TOML keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: str = Field("development", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    data_dir: Path = Path("var")
    database_url: str = ""
    """The application's DSN. On PostgreSQL this role must own nothing and lack BYPASSRLS."""
    migrate_database_url: str = ""
    """The owner's DSN used by ``homeroom migrate``; defaults to ``database_url``."""
    app_db_role: str = Field("homeroom_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """PostgreSQL role the application connects as; ``homeroom migrate`` grants it DML."""
    redis_url: str = ""
    """Empty means the in-process KV store (single process only)."""
    issuer: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    log_level: str = Field("info", pattern=r"^(debug|info|warning|error)$")
    log_json: bool = True
    db_pool_size: int = Field(10, ge=1, le=200)
    db_pool_max_overflow: int = Field(0, ge=0, le=200)
    db_pool_timeout_s: float = Field(2.0, gt=0)
    db_statement_timeout_ms: int = Field(5000, ge=0)
    db_connect_timeout_s: int = Field(3, ge=1, le=60)
    db_server_max_connections: int = Field(0, ge=0)
    """The database's ``max_connections``; 0 = ask the server at start (see ops/capacity)."""
    db_reserved_connections: int = Field(10, ge=0)
    """Connections kept free for migrations, admins and monitoring."""
    db_app_hosts: int = Field(1, ge=1)
    """How many hosts run Homeroom workers against this database (for the pool budget)."""
    kv_timeout_s: float = Field(0.5, gt=0)
    max_in_flight: int = Field(256, ge=1)
    """Requests in flight per worker; beyond it, 503 + Retry-After before any work."""
    shed_retry_after_s: int = Field(1, ge=1, le=120)
    metrics_token: str = ""
    """Reference (``secret://<env>/homeroom-web/metrics-token``) to the bearer token for
    ``/metrics``; empty disables the endpoint (404). A plain value is refused."""
    rate_limits_enabled: bool = True
    rate_limit_ip: str = "300/minute"
    rate_limit_account: str = "10/minute;50/hour"
    rate_limit_client: str = "3000/minute"
    school_networks: str = ""
    """The districts' school networks, comma-separated CIDRs (``203.0.113.0/24,
    2001:db8::/48``). Failed sign-ins from their addresses count against
    ``rate_limit_school`` instead of ``rate_limit_ip``: one NAT address there can carry a
    district's students, whose typos alone at 08:00 pass 300 a minute. The per-account
    lockout applies everywhere."""
    rate_limit_school: str = "6000/minute"
    session_idle_timeout_s: int = Field(3600, ge=60)
    password_threads: int = Field(0, ge=0, le=256)
    """argon2id verifications at once per worker (0: one per core the worker may run on)."""
    sign_in_check_ttl_s: float = Field(5.0, ge=0, le=60)
    """How long a worker reuses "this user is active and shared with this app" between
    authorize and userinfo (0: read the database every time)."""
    session_absolute_timeout_s: int = Field(12 * 3600, ge=300)
    # secrets (see homeroom.secrets and docs/secrets.md)
    database_password: str = ""
    """Reference (``secret://…``) to the password of ``database_url``'s user."""
    migrate_database_password: str = ""
    """Reference to the password of ``migrate_database_url``'s user."""
    redis_password: str = ""
    """Reference to the Redis password."""
    secrets_kek_provider: str = Field("file", pattern=r"^(file|env|aws-kms|vault-transit)$")
    """Who holds the key-encryption key: a local key file, an env var, AWS KMS, Vault."""
    secrets_kek_file: Path | None = None
    """Key ring file for the ``file`` provider; default ``<data_dir>/secrets/kek.json``."""
    secrets_kek_env: str = Field(KEK_ENV, pattern=r"^[A-Z_][A-Z0-9_]*$")
    """Environment variable holding base64 keys (newest first) for the ``env`` provider."""
    secrets_aws_kms_key_id: str = ""
    secrets_aws_region: str = ""
    secrets_aws_endpoint_url: str = ""
    secrets_vault_url: str = ""
    """Vault/OpenBao address; the token comes from ``VAULT_TOKEN``, never from settings."""
    secrets_vault_mount: str = "transit"
    secrets_vault_key: str = "homeroom"
    secrets_max_versions: int = Field(10, ge=2, le=100)
    # usage (see homeroom.usage and docs/usage.md)
    usage_retention_days: int = Field(365, ge=1, le=3650)
    """Raw usage events (and rollups) older than this are purged by ``homeroom data retention``."""
    usage_future_skew_s: int = Field(300, ge=0, le=86400)
    """How far ahead of the server clock an event's ``occurred_at`` may be (clock skew)."""
    usage_freshness_hours: int = Field(26, ge=1, le=24 * 30)
    """``homeroom data check``: an app whose latest event is older than this is stale."""

    @field_validator("issuer")
    @classmethod
    def _issuer_is_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or value.endswith("/"):
            raise ValueError("must be an http(s) URL without a trailing slash")
        return value

    @field_validator("school_networks")
    @classmethod
    def _networks_syntax(cls, value: str) -> str:
        networks(value)
        return value

    @property
    def school_network_list(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return networks(self.school_networks)

    @field_validator(
        "rate_limit_ip", "rate_limit_account", "rate_limit_client", "rate_limit_school"
    )
    @classmethod
    def _rate_limit_syntax(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must look like '10/minute' or '10/minute;50/hour'") from None
        return value

    @field_validator("database_url", "migrate_database_url", "redis_url")
    @classmethod
    def _no_inline_password(cls, value: str, info: ValidationInfo) -> str:
        if _url_password(value):
            key = str(info.field_name)
            pw_key = {"redis_url": "redis_password"}.get(key, key.replace("_url", "_password"))
            ref = f"secret://<environment>/homeroom-web/{pw_key.replace('_', '-')}"
            raise ValueError(
                "holds a password in plain text; remove it from the URL, store it with "
                f"`homeroom secrets put --bootstrap {ref}` (value on stdin) and set "
                f"HOMEROOM_{pw_key.upper()}={ref}"
            )
        return value

    @field_validator(*SECRET_FIELDS)
    @classmethod
    def _reference_only(cls, value: str, info: ValidationInfo) -> str:
        if value and not value.startswith("secret://"):
            name = str(info.field_name).replace("_", "-")
            raise ValueError(
                "must be a secret reference, not a value; store the value with "
                f"`homeroom secrets put --bootstrap secret://<environment>/homeroom-web/{name}` "
                "(value on stdin) and set this to that secret:// reference"
            )
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_reference(cls, value: str) -> str:
        if value and not value.startswith("secret://"):
            raise ValueError(
                "must be a secret reference, not a value; store the token with "
                "`homeroom secrets put secret://<environment>/homeroom-web/metrics-token` "
                "(value on stdin) and set this to that secret:// reference"
            )
        return value

    @property
    def sql_url(self) -> str:
        """The effective application DSN (SQLite under ``data_dir`` by default)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'homeroom.db'}"

    @property
    def sql_owner_url(self) -> str:
        """The DSN that migrations run as."""
        return self.migrate_database_url or self.sql_url

    @property
    def is_postgres(self) -> bool:
        return self.sql_url.startswith("postgresql")


def _fields() -> dict[str, str]:
    return {name.upper(): name for name in Settings.model_fields}


def load_settings(
    file: Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults → TOML file → environment → explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    file = file or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config: file not found: {file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {file}: {exc}") from None
        table = data.get("homeroom", data)
        for key, value in table.items():
            values[key] = value
            origin[key] = f"{file}:{key}"
    names = _fields()
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key not in (ENV_PREFIX + "CONFIG", KEK_ENV):
            suffix = key[len(ENV_PREFIX) :]
            if suffix.startswith("TEST_"):
                continue  # test-only knobs, read by the test suite
            if suffix not in names:
                raise ConfigError(f"config: {key}: unknown setting")
            values[names[suffix]] = value
            origin[names[suffix]] = key
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
            origin[key] = key
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = str(first["loc"][0]) if first["loc"] else "?"
        where = origin.get(loc, ENV_PREFIX + loc.upper())
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"config: {where}: {message}") from None
