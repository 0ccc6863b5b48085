"""Secrets: an envelope-encrypted, versioned store with rotation, policies and audit.

Configuration names secrets by reference (``secret://<environment>/<service>/<name>``);
only the process that needs a value resolves it, as its service identity, and every read is
audited. ``SecretSource`` is the small interface the rest of Homeroom uses for its own keys.
See docs/secrets.md for the operator's workflow.
"""

from homeroom.secrets.errors import AuditUnavailable, SecretIntegrityError, WrongKeyError
from homeroom.secrets.models import SecretInfo, SecretValue, VersionInfo
from homeroom.secrets.paths import REF_PREFIX, SecretPath, is_reference
from homeroom.secrets.policy import ADMIN, BOOTSTRAP, WEB, Capability, Grant, PolicySet
from homeroom.secrets.providers import (
    AwsKmsKEK,
    EnvKEK,
    KeyProvider,
    LocalFileKEK,
    VaultTransitKEK,
)
from homeroom.secrets.redaction import REDACTOR, RedactingFilter, redact_processor
from homeroom.secrets.rotation import RandomKeyRotator, Rotator
from homeroom.secrets.setup import open_provider
from homeroom.secrets.source import DataDirSecrets, SecretSource, StoreSecrets
from homeroom.secrets.store import SecretStore

__all__ = [
    "ADMIN",
    "BOOTSTRAP",
    "REDACTOR",
    "REF_PREFIX",
    "WEB",
    "AuditUnavailable",
    "AwsKmsKEK",
    "Capability",
    "DataDirSecrets",
    "EnvKEK",
    "Grant",
    "KeyProvider",
    "LocalFileKEK",
    "PolicySet",
    "RandomKeyRotator",
    "RedactingFilter",
    "Rotator",
    "SecretInfo",
    "SecretIntegrityError",
    "SecretPath",
    "SecretSource",
    "SecretStore",
    "SecretValue",
    "StoreSecrets",
    "VaultTransitKEK",
    "VersionInfo",
    "WrongKeyError",
    "is_reference",
    "open_provider",
    "redact_processor",
]
