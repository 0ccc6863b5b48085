"""Build the key provider from settings, and the bootstrap secrets needed before the DB.

The database password cannot live in the database it unlocks. Such *bootstrap* secrets are
sealed exactly like store versions (own data key, AES-256-GCM, AAD = path and version,
data key wrapped by the same key-encryption key) but kept one per file under
``<data_dir>/secrets/bootstrap/`` with mode 0600; ``homeroom secrets put --bootstrap``
writes them and the process resolves them by reference at start.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from homeroom.config import Settings
from homeroom.errors import ConfigError
from homeroom.secrets.crypto import Sealed, open_sealed, seal
from homeroom.secrets.paths import SecretPath
from homeroom.secrets.providers import (
    AwsKmsKEK,
    EnvKEK,
    KeyProvider,
    LocalFileKEK,
    VaultTransitKEK,
)
from homeroom.secrets.redaction import REDACTOR

__all__ = [
    "kek_file",
    "open_provider",
    "read_bootstrap",
    "resolved_url",
    "with_password",
    "write_bootstrap",
]


def kek_file(settings: Settings) -> Path:
    return settings.secrets_kek_file or settings.data_dir / "secrets" / "kek.json"


def open_provider(settings: Settings) -> KeyProvider:
    kind = settings.secrets_kek_provider
    if kind == "file":
        return LocalFileKEK(kek_file(settings))
    if kind == "env":
        return EnvKEK(settings.secrets_kek_env)
    if kind == "aws-kms":
        return AwsKmsKEK(
            settings.secrets_aws_kms_key_id,
            region_name=settings.secrets_aws_region,
            endpoint_url=settings.secrets_aws_endpoint_url,
        )
    if kind == "vault-transit":
        return VaultTransitKEK(
            settings.secrets_vault_url, settings.secrets_vault_key, settings.secrets_vault_mount
        )
    raise ConfigError(f"config: HOMEROOM_SECRETS_KEK_PROVIDER: unknown provider {kind!r}")


def _bootstrap_file(settings: Settings, path: SecretPath) -> Path:
    return (
        settings.data_dir
        / "secrets"
        / "bootstrap"
        / f"{path.environment}.{path.service}.{path.name}.json"
    )


def write_bootstrap(settings: Settings, provider: KeyProvider, ref: str, value: bytes) -> int:
    """Seal ``value`` as the next version of the bootstrap secret ``ref``; returns it."""
    path = SecretPath.parse(ref)
    target = _bootstrap_file(settings, path)
    version = 1
    if target.exists():
        version = int(json.loads(target.read_text())["version"]) + 1
    sealed = seal(provider, str(path), version, value)
    body = {
        "path": str(path),
        "version": version,
        "kek_id": sealed.kek_id,
        "wrapped_key": base64.b64encode(sealed.wrapped_key).decode(),
        "nonce": base64.b64encode(sealed.nonce).decode(),
        "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
    }
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(body, fh)
    os.replace(tmp, target)
    return version


def read_bootstrap(settings: Settings, provider: KeyProvider, ref: str, key: str) -> str:
    """The text value of bootstrap secret ``ref`` named by setting ``key``."""
    path = SecretPath.parse(ref)
    target = _bootstrap_file(settings, path)
    if not target.exists():
        raise ConfigError(
            f"config: {key}: {ref} is not stored; store it with "
            f"`homeroom secrets put --bootstrap {ref}` (value on stdin)"
        )
    data = json.loads(target.read_text())
    sealed = Sealed(
        data["kek_id"],
        base64.b64decode(data["wrapped_key"]),
        base64.b64decode(data["nonce"]),
        base64.b64decode(data["ciphertext"]),
    )
    value = open_sealed(provider, str(path), int(data["version"]), sealed)
    REDACTOR.register(value)
    return value.decode("utf-8")


def with_password(url: str, password: str) -> str:
    """Put a resolved password into a DSN (kept out of settings, logs and errors)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    user = quote(parts.username or "", safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def resolved_url(settings: Settings, which: str, provider: KeyProvider | None = None) -> str:
    """``sql``, ``owner`` or ``redis`` URL with its password reference resolved, if any."""
    url, ref, key = {
        "sql": (settings.sql_url, settings.database_password, "HOMEROOM_DATABASE_PASSWORD"),
        "owner": (
            settings.sql_owner_url,
            settings.migrate_database_password
            or (settings.database_password if not settings.migrate_database_url else ""),
            "HOMEROOM_MIGRATE_DATABASE_PASSWORD",
        ),
        "redis": (settings.redis_url, settings.redis_password, "HOMEROOM_REDIS_PASSWORD"),
    }[which]
    if not ref or not url or url.startswith("sqlite"):
        return url  # SQLite has no password
    password = read_bootstrap(settings, provider or open_provider(settings), ref, key)
    return with_password(url, password)
