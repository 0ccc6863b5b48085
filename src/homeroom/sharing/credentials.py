"""Client secrets: 256 random bits, stored as HMAC-SHA256 under a server key.

A slow password hash is the wrong tool here: the secret already has full entropy, so a keyed
hash makes a stolen table useless without the key while keeping client authentication on the
token endpoint's hot path to a microsecond.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["generate_client_secret", "hash_client_secret", "verify_client_secret"]

_SCHEME = "hmac-sha256"


def generate_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_client_secret(key: bytes, secret: str) -> str:
    digest = hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
    return f"{_SCHEME}${digest}"


def verify_client_secret(key: bytes, secret: str, stored: str | None) -> bool:
    if not stored or not stored.startswith(_SCHEME + "$"):
        return False
    return hmac.compare_digest(hash_client_secret(key, secret), stored)
