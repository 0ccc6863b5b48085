"""The successful token response: RFC 6749 §5.1."""

from __future__ import annotations

from typing import Any

__all__ = ["bearer_response"]


def bearer_response(access_token: str, expires_in: int, scope: str) -> dict[str, Any]:
    """RFC 6749 §5.1 and RFC 6750 §4: ``token_type`` "Bearer", ``expires_in``, ``scope``."""
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope,
    }
