"""Errors of the secret store. Each is a one-line message that never contains a value.

::

    HomeroomError
    ├── NotFound / Conflict / InvalidInput / PermissionDenied   (reused from homeroom.errors)
    └── SecretIntegrityError     a ciphertext or wrapped key failed authentication
        └── WrongKeyError        the key-encryption key cannot unwrap this data key
    ServiceUnavailable
    └── AuditUnavailable         the audit log could not be written: operation refused
"""

from __future__ import annotations

from homeroom.errors import HomeroomError, ServiceUnavailable

__all__ = ["AuditUnavailable", "SecretIntegrityError", "WrongKeyError"]


class SecretIntegrityError(HomeroomError):
    """AES-GCM authentication failed: altered, truncated or moved (AAD mismatch) data."""


class WrongKeyError(SecretIntegrityError):
    """The data key could not be unwrapped: wrong or missing key-encryption key."""


class AuditUnavailable(ServiceUnavailable):
    """The audit record could not be appended, so the operation was not performed."""
