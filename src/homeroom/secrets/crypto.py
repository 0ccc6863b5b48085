"""Envelope encryption of one secret version (AES-256-GCM, NIST SP 800-38D).

Each version gets a fresh 256-bit data key; the value is sealed under it with a 96-bit
random nonce and associated data binding the path and version, so a ciphertext copied to
another path or version fails authentication. The data key is then wrapped by the
key-encryption key provider with the same associated data.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from homeroom.secrets.errors import SecretIntegrityError, WrongKeyError
from homeroom.secrets.providers import KeyProvider

__all__ = ["Sealed", "aad_for", "keyed_hash", "open_sealed", "seal"]

_AAD_PREFIX = b"homeroom.secret.v1\x00"
NONCE_BYTES = 12


def aad_for(path: str, version: int) -> bytes:
    """Associated data for ``path`` at ``version`` (unambiguous: NUL-separated)."""
    return _AAD_PREFIX + path.encode() + b"\x00" + str(version).encode()


def keyed_hash(key: bytes, value: bytes) -> str:
    """HMAC-SHA-256 of a value: comparable for equality, useless without the key."""
    return hmac.new(key, value, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Sealed:
    kek_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


def seal(provider: KeyProvider, path: str, version: int, value: bytes) -> Sealed:
    aad = aad_for(path, version)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, value, aad)
    kek_id, wrapped = provider.wrap(data_key, aad)
    return Sealed(kek_id, wrapped, nonce, ciphertext)


def open_sealed(provider: KeyProvider, path: str, version: int, sealed: Sealed) -> bytes:
    """Unwrap the data key and decrypt; any mismatch is a one-line ``SecretIntegrityError``."""
    aad = aad_for(path, version)
    try:
        data_key = provider.unwrap(sealed.kek_id, sealed.wrapped_key, aad)
    except WrongKeyError as exc:
        raise WrongKeyError(f"secret {path} v{version}: {exc}") from None
    if len(sealed.nonce) != NONCE_BYTES:
        raise SecretIntegrityError(f"secret {path} v{version}: bad nonce (altered record)")
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except (InvalidTag, ValueError):
        raise SecretIntegrityError(
            f"secret {path} v{version}: ciphertext failed authentication "
            "(altered, truncated or moved from another path)"
        ) from None
