"""Signed tokens: ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).

Keys come pre-parsed from the key ring. Signing is JWS compact serialization (RFC 7515
§7.1) done here rather than by ``joserfc.jwt.encode``: the protected header of each
(key, typ) is serialized and base64url-encoded once, and the payload goes straight to
``cryptography`` (ECDSA P-256 / SHA-256, R || S per RFC 7518 §3.4; RSASSA-PKCS1-v1_5 /
SHA-256 per §3.3). That halved the cost of a signature outside OpenSSL's own work.
Access tokens are always ES256 (our own resource servers verify them); ID tokens use the
algorithm the client registered (``id_token_signed_response_alg``, ES256 by default).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256

from homeroom.oidc.keys import KeyRing, SigningKey
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


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_ECDSA_SHA256 = ec.ECDSA(SHA256())
_PKCS1V15 = padding.PKCS1v15()


def _signature_function(key: SigningKey) -> Callable[[bytes], bytes]:
    private = key.key.private_key
    if key.alg == "ES256" and isinstance(private, ec.EllipticCurvePrivateKey):
        size = (private.curve.key_size + 7) // 8

        def es256(data: bytes) -> bytes:
            r, s = decode_dss_signature(private.sign(data, _ECDSA_SHA256))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

        return es256
    if key.alg == "RS256" and isinstance(private, rsa.RSAPrivateKey):
        return lambda data: private.sign(data, _PKCS1V15, SHA256())
    raise LookupError(f"signing key {key.kid} cannot sign {key.alg}")


class _CompactSigner:
    """One (key, typ): the encoded protected header and the signature function, made once."""

    __slots__ = ("key", "prefix", "signature")

    def __init__(self, key: SigningKey, typ: str) -> None:
        self.key = key
        header = {"alg": key.alg, "kid": key.kid, "typ": typ}
        self.prefix = _b64(json.dumps(header, separators=(",", ":")).encode()) + b"."
        self.signature = _signature_function(key)

    def sign(self, claims: dict[str, Any]) -> str:
        payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
        signing_input = self.prefix + _b64(payload)
        return (signing_input + b"." + _b64(self.signature(signing_input))).decode("ascii")


_SIGNERS: dict[tuple[str, str], _CompactSigner] = {}


class TokenSigner:
    def __init__(self, issuer: str, keys: KeyRing) -> None:
        self.issuer = issuer
        self.keys = keys

    def sign(self, claims: dict[str, Any], alg: str, typ: str) -> str:
        key = self.keys.signing_key(alg)
        signer = _SIGNERS.get((alg, typ))
        if signer is None or signer.key is not key:  # first use, or the ring rotated
            signer = _SIGNERS[(alg, typ)] = _CompactSigner(key, typ)
        return signer.sign(claims)

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
