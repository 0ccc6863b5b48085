"""Signed tokens: ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).

Keys come pre-parsed from the key ring; signing is one ``joserfc.jws.serialize_compact``
call on the compact-JSON payload (the JOSE work stays the library's, never hand-rolled).
Access tokens are always ES256 (our own resource servers verify them); ID tokens use the
algorithm the client registered (``id_token_signed_response_alg``, ES256 by default).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

import orjson
from joserfc import jws

from homeroom.oidc.keys import KeyRing
from homeroom.storage.kv import KV

__all__ = ["RevocationList", "TokenSigner", "at_hash", "new_jti"]

ACCESS_TOKEN_ALG = "ES256"  # noqa: S105 (an algorithm name)


def new_jti() -> str:
    return secrets.token_urlsafe(16)


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: the base64url of the left half of the hash of the access token
    (SHA-256 for ES256 and RS256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _header(alg: str, kid: str, typ: str) -> dict[str, str]:
    """RFC 7515 §4.1: the protected header; one dict per (key, typ), made once."""
    header = _HEADERS.get((alg, kid, typ))
    if header is None:
        header = _HEADERS[(alg, kid, typ)] = {"alg": alg, "kid": kid, "typ": typ}
    return header


_HEADERS: dict[tuple[str, str, str], dict[str, str]] = {}


class TokenSigner:
    def __init__(self, issuer: str, keys: KeyRing) -> None:
        self.issuer = issuer
        self.keys = keys

    def sign(self, claims: dict[str, Any], alg: str, typ: str) -> str:
        """JWS compact serialization (RFC 7515 §7.1) by joserfc. The payload is serialized
        once here (compact UTF-8 JSON, by orjson) and handed over as bytes, which skips
        joserfc's JWT claim handling but none of its JWS or JWA work: the signature, its
        R || S encoding (RFC 7518 §3.4) and the serialization stay the library's."""
        key = self.keys.signing_key(alg)
        header = _header(alg, key.kid, typ)
        payload = orjson.dumps(claims)
        token = jws.serialize_compact(header, payload, key.key, algorithms=[alg])
        if typ == "at+jwt":
            # Comes back within seconds (userinfo, the roster API): no need to verify our
            # own signature then (``KeyRing.decode``).
            self.keys.remember(token, header, claims)
        return token

    def access_token(
        self,
        *,
        client_id: str,
        district_id: str,
        subject: str | None,
        scope: str,
        ttl_s: int,
        auth_time: int | None = None,
        jti: str | None = None,
        now: int | None = None,
    ) -> tuple[str, str, int]:
        """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti (+ scope, auth_time), with
        Homeroom's ``district``. §2.1: "typ" is "at+jwt". Returns (token, jti, exp).

        For client_credentials there is no user: §2.2 says sub "SHOULD correspond to an
        identifier the authorization server uses to indicate the client application"."""
        now = int(time.time()) if now is None else now
        jti = jti or new_jti()
        exp = now + ttl_s
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject or client_id,
            "aud": self.issuer,
            "client_id": client_id,
            "iat": now,
            "exp": exp,
            "jti": jti,
            "scope": scope,
            "district": district_id,
        }
        if auth_time is not None:
            claims["auth_time"] = auth_time
        return self.sign(claims, ACCESS_TOKEN_ALG, "at+jwt"), jti, exp

    def id_token(
        self,
        *,
        client_id: str,
        alg: str,
        claims: dict[str, Any],
        ttl_s: int,
        auth_time: int,
        nonce: str | None,
        sid: str | None,
        access_token: str | None,
        now: int | None = None,
    ) -> str:
        """OIDC Core §2: iss, sub, aud, exp, iat, auth_time, nonce (echoed exactly as sent
        in the authorization request), plus ``sid`` (Back-Channel Logout §2.1) and
        ``at_hash``."""
        now = int(time.time()) if now is None else now
        body: dict[str, Any] = {
            **claims,
            "iss": self.issuer,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + ttl_s,
            "auth_time": auth_time,
        }
        if nonce is not None:
            body["nonce"] = nonce
        if sid is not None:
            body["sid"] = sid
        if access_token is not None:
            body["at_hash"] = at_hash(access_token)
        return self.sign(body, alg, "JWT")


class RevocationList:
    """Revoked access tokens by ``jti``, kept in the KV store until they would expire."""

    def __init__(self, kv: KV, ttl_s: int) -> None:
        self.kv = kv
        self.ttl_s = ttl_s

    def revoke(self, jti: str, ttl_s: float | None = None) -> None:
        self.kv.set("revoked:" + jti, b"1", ttl_s=max(1.0, ttl_s or self.ttl_s))

    def is_revoked(self, jti: str) -> bool:
        return self.kv.get("revoked:" + jti) is not None
