"""Authorization codes (RFC 6749 §4.1.2, §10.5) in the KV store.

"The authorization code MUST expire shortly after it is issued [...] The client MUST NOT use
the authorization code more than once. If an authorization code is used more than once, the
authorization server MUST deny the request and SHOULD revoke (when possible) all tokens
previously issued based on that authorization code."

A code is ``<district_id>.<256 random bits>``; the KV key is ``code:<district>:`` plus the
SHA-256 of the code (a KV dump reveals no usable code, and every key carries its district);
a grant is returned only if it names the district its key does.
Redemption is an atomic ``pop``: of two concurrent redemptions exactly one wins. In the same
step (``KV.pop_and_set``, one round trip) the winner leaves a ``code-spent:`` marker naming
what it is about to issue (its access token's ``jti`` and refresh family, chosen before the
pop), so that a replay can revoke it, even one that arrives while the tokens are being made.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson

from homeroom.storage.kv import KV

__all__ = ["AuthorizationCode", "CodeStore", "SpentCode"]

_CODE = "code:"
_SPENT = "code-spent:"


@dataclass(frozen=True)
class AuthorizationCode:
    """Everything the token endpoint needs, so that redeeming a code reads no database."""

    client_id: str
    redirect_uri: str
    scope: str
    district_id: str
    user_id: str
    sid: str
    auth_time: int
    code_challenge: str | None
    nonce: str | None
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SpentCode:
    district_id: str
    access_jti: str
    family_id: str | None


def _key(prefix: str, code: str) -> str:
    district = code.partition(".")[0]
    return f"{prefix}{district}:{hashlib.sha256(code.encode()).hexdigest()}"


class CodeStore:
    def __init__(self, kv: KV, ttl_s: int = 60) -> None:
        self.kv = kv
        self.ttl_s = ttl_s

    def issue(self, grant: AuthorizationCode) -> str:
        code = f"{grant.district_id}.{secrets.token_urlsafe(32)}"
        # orjson serializes the dataclass itself: no ``asdict`` deep copy on the way.
        self.kv.set(_key(_CODE, code), orjson.dumps(grant), ttl_s=self.ttl_s)
        return code

    def redeem(
        self, code: str, spent: SpentCode | None = None, spent_ttl_s: float = 0
    ) -> AuthorizationCode | None:
        """Single use: the first caller gets the grant, every later caller None.

        With ``spent``, the winner's redemption also leaves that marker (``spent_ttl_s``
        seconds), atomically; a code that was not there leaves none."""
        if not code or len(code) > 128:
            return None
        if spent is None:
            raw = self.kv.pop(_key(_CODE, code))
        else:
            raw = self.kv.pop_and_set(
                _key(_CODE, code),
                _key(_SPENT, code),
                orjson.dumps(spent),
                ttl_s=spent_ttl_s,
            )
        if raw is None:
            return None
        grant = AuthorizationCode(**orjson.loads(raw))
        return grant if code.partition(".")[0] == grant.district_id else None

    def spent(self, code: str) -> SpentCode | None:
        """What a redeemed code issued (to revoke it on replay), or None."""
        if not code or len(code) > 128:
            return None
        raw = self.kv.pop(_key(_SPENT, code))
        return None if raw is None else SpentCode(**orjson.loads(raw))
