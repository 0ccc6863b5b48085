"""Key-encryption-key (KEK) providers: wrap and unwrap data keys, never see values.

Every provider implements :class:`KeyProvider`. ``wrap`` returns the id of the KEK it used,
stored beside the wrapped key, so that after a KEK rotation old data keys still unwrap and
``SecretStore.rewrap`` can move them to the current KEK without touching any value.

- ``LocalFileKEK`` (default): a key ring in a JSON file created with mode 0600.
- ``EnvKEK``: base64 keys in an environment variable (newest first).
- ``AwsKmsKEK``: AWS KMS ``Encrypt``/``Decrypt`` with the AAD as encryption context.
- ``VaultTransitKEK``: Vault/OpenBao transit engine with the AAD as derivation context.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from homeroom.errors import ConfigError, InvalidInput, ServiceUnavailable
from homeroom.secrets.errors import WrongKeyError
from homeroom.secrets.redaction import REDACTOR

__all__ = [
    "AwsKmsKEK",
    "EnvKEK",
    "KeyProvider",
    "LocalFileKEK",
    "VaultTransitKEK",
]


class KeyProvider(Protocol):
    """Wraps data keys under a key-encryption key it holds (or a service holds)."""

    def current_id(self) -> str:
        """The id of the KEK new data keys are wrapped under."""
        ...

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        """Wrap ``data_key`` bound to ``aad``; returns ``(kek_id, wrapped)``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Unwrap or raise ``WrongKeyError`` (one line, no key material)."""
        ...

    def rotate(self) -> str:
        """Make a new KEK current (old ones still unwrap); returns its id."""
        ...


# ------------------------------------------------------------------ local AES-GCM key rings


def _fingerprint(kind: str, key: bytes) -> str:
    digest = hashlib.sha256(b"homeroom.kek.id\x00" + key).hexdigest()
    return f"{kind}:{digest[:16]}"


class _AesRing:
    """AES-256-GCM key wrapping under a ring of KEKs (newest first)."""

    kind = "aes"

    def __init__(self, keys: list[bytes]) -> None:
        self._set(keys)

    def _set(self, keys: list[bytes]) -> None:
        for key in keys:
            if len(key) != 32:
                raise ConfigError(f"secrets: {self.kind} key-encryption key must be 32 bytes")
        for key in keys:
            REDACTOR.register(key)  # a KEK must never reach a log, in any encoding
        self._keys = {_fingerprint(self.kind, k): k for k in keys}
        self._current = _fingerprint(self.kind, keys[0])

    def current_id(self) -> str:
        return self._current

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(12)
        return self._current, nonce + AESGCM(self._keys[self._current]).encrypt(
            nonce, data_key, aad
        )

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        key = self._keys.get(kek_id)
        if key is None:
            raise WrongKeyError(
                f"data key is wrapped by key-encryption key {kek_id}, which this "
                f"{self.kind} provider does not hold (wrong key?)"
            )
        try:
            return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], aad)
        except (InvalidTag, ValueError):
            raise WrongKeyError(
                f"data key failed to unwrap under {kek_id} (wrong key-encryption key or "
                "altered record)"
            ) from None


class LocalFileKEK(_AesRing):
    """The default: a key ring file ``{"keys": [b64, ...]}`` (newest first), mode 0600.

    Created on first use; refuses to load a file readable by group or others.
    """

    kind = "local"

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        if not path.exists():
            if not create:
                raise ConfigError(f"secrets: key file {path} does not exist")
            self._write([AESGCM.generate_key(bit_length=256)], new=True)
            structlog.get_logger("homeroom.secrets").info(
                "kek_file_created", path=str(path), hint="back it up apart from the database"
            )
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"secrets: key file {path} has mode {mode:o}; it must be owner-only "
                f"(chmod 600 {path})"
            )
        super().__init__(self._read())

    def _read(self) -> list[bytes]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [base64.b64decode(k, validate=True) for k in data["keys"]]
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"secrets: key file {self.path} is not a key ring") from None

    def _write(self, keys: list[bytes], new: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = json.dumps({"keys": [base64.b64encode(k).decode() for k in keys]}, indent=1)
        tmp = self.path.with_suffix(".tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        if new and self.path.exists():  # another process won the race: keep theirs
            tmp.unlink()
            return
        os.replace(tmp, self.path)

    def rotate(self) -> str:
        with self._lock:
            keys = [AESGCM.generate_key(bit_length=256), *self._read()]
            self._write(keys)
            self._set(keys)
            return self._current


class EnvKEK(_AesRing):
    """Keys from an environment variable: comma-separated base64, newest first."""

    kind = "env"

    def __init__(self, variable: str, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        raw = environ.get(variable, "")
        if not raw:
            raise ConfigError(
                f"secrets: {variable} is empty; set it to a base64 32-byte key "
                "(python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')"
            )
        try:
            keys = [base64.b64decode(k.strip(), validate=True) for k in raw.split(",")]
        except ValueError:
            raise ConfigError(f"secrets: {variable} is not base64") from None
        self.variable = variable
        super().__init__(keys)

    def rotate(self) -> str:
        raise InvalidInput(
            f"secrets: the env provider cannot rotate itself; prepend a new key to "
            f"{self.variable} (comma-separated, newest first), restart, then run "
            "`homeroom secrets rewrap`"
        )


# ------------------------------------------------------------------ AWS KMS


class AwsKmsKEK:
    """AWS KMS symmetric key; the AAD travels as the encryption context (bound by KMS)."""

    def __init__(self, key_id: str, client: Any = None, **client_args: Any) -> None:
        if not key_id:
            raise ConfigError("secrets: HOMEROOM_SECRETS_AWS_KMS_KEY_ID is required")
        if client is None:
            import boto3

            client = boto3.client("kms", **{k: v for k, v in client_args.items() if v})
        self.client = client
        self.key_id = key_id
        self._arn: str | None = None

    def current_id(self) -> str:
        if self._arn is None:
            meta = self._call("DescribeKey", KeyId=self.key_id)
            self._arn = str(meta["KeyMetadata"]["Arn"])
        return self._arn

    @staticmethod
    def _context(aad: bytes) -> dict[str, str]:
        return {"homeroom-aad": base64.b64encode(aad).decode()}

    def _call(self, op: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        method = {"DescribeKey": "describe_key", "Encrypt": "encrypt", "Decrypt": "decrypt"}[op]
        try:
            return getattr(self.client, method)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("InvalidCiphertextException", "IncorrectKeyException"):
                raise WrongKeyError(
                    "AWS KMS refused to unwrap the data key (wrong key or altered record)"
                ) from None
            if code in ("NotFoundException", "DisabledException", "AccessDeniedException"):
                raise ConfigError(f"secrets: AWS KMS {op}: {code}") from None
            raise ServiceUnavailable(f"AWS KMS {op} failed: {code}") from None
        except BotoCoreError as exc:
            raise ServiceUnavailable(f"AWS KMS unreachable: {type(exc).__name__}") from None

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        out = self._call(
            "Encrypt",
            KeyId=self.current_id(),
            Plaintext=data_key,
            EncryptionContext=self._context(aad),
        )
        return str(out["KeyId"]), bytes(out["CiphertextBlob"])

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        out = self._call(
            "Decrypt", KeyId=kek_id, CiphertextBlob=wrapped, EncryptionContext=self._context(aad)
        )
        return bytes(out["Plaintext"])

    def rotate(self) -> str:
        raise InvalidInput(
            "secrets: with AWS KMS, create a new key, set HOMEROOM_SECRETS_AWS_KMS_KEY_ID to "
            "it and run `homeroom secrets rewrap` (the old key must stay enabled until then)"
        )


# ------------------------------------------------------------------ Vault / OpenBao transit


class VaultTransitKEK:
    """Vault/OpenBao transit engine: a derived ``aes256-gcm96`` key, context = AAD.

    The KEK id records mount, key and key version (``vault-transit:transit/homeroom:v2``);
    ``rotate`` calls the transit rotate endpoint, and old versions keep decrypting.
    """

    def __init__(
        self, url: str, key: str = "homeroom", mount: str = "transit", client: Any = None
    ) -> None:
        if client is None:
            import hvac

            client = hvac.Client(url=url, timeout=5)  # token from VAULT_TOKEN / ~/.vault-token
        self.client = client
        self.key = key
        self.mount = mount
        self._ensured = False

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        import hvac.exceptions
        import requests

        try:
            return fn(mount_point=self.mount, **kwargs)
        except hvac.exceptions.InvalidRequest as exc:
            raise WrongKeyError(
                f"transit refused to unwrap the data key ({_first_line(exc)})"
            ) from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise ConfigError("secrets: Vault transit: permission denied (token?)") from None
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise ServiceUnavailable(f"Vault transit unavailable: {type(exc).__name__}") from None

    def _ensure_key(self) -> None:
        if self._ensured:
            return
        import hvac.exceptions

        transit = self.client.secrets.transit
        try:
            transit.read_key(name=self.key, mount_point=self.mount)
        except hvac.exceptions.InvalidPath:
            self._call(transit.create_key, name=self.key, key_type="aes256-gcm96", derived=True)
        self._ensured = True

    def current_id(self) -> str:
        self._ensure_key()
        data = self._call(self.client.secrets.transit.read_key, name=self.key)
        return f"vault-transit:{self.mount}/{self.key}:v{data['data']['latest_version']}"

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        self._ensure_key()
        out = self._call(
            self.client.secrets.transit.encrypt_data,
            name=self.key,
            plaintext=base64.b64encode(data_key).decode(),
            context=base64.b64encode(aad).decode(),
        )
        ciphertext = str(out["data"]["ciphertext"])
        version = ciphertext.split(":")[1]  # "vault:v3:..."
        return f"vault-transit:{self.mount}/{self.key}:{version}", ciphertext.encode()

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        try:
            key = kek_id.split("/", 1)[1].rsplit(":", 1)[0]
        except IndexError:
            raise WrongKeyError(f"{kek_id} is not a transit key id") from None
        out = self._call(
            self.client.secrets.transit.decrypt_data,
            name=key,
            ciphertext=wrapped.decode("ascii", "replace"),
            context=base64.b64encode(aad).decode(),
        )
        try:
            return base64.b64decode(out["data"]["plaintext"])
        except (KeyError, ValueError):
            raise WrongKeyError("transit returned no data key") from None

    def rotate(self) -> str:
        self._ensure_key()
        self._call(self.client.secrets.transit.rotate_key, name=self.key)
        return self.current_id()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
