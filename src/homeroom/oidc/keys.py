"""The signing key ring: ``next`` → ``current`` → ``retired`` keys for ES256 and RS256.

RFC 7517 (JWK) for the published set; OpenID Connect Core §10.1.1 for rotation: "The
signer can begin using a new key at its discretion and signals the change to the verifier
using the kid value. [...] The JWK Set document at the jwks_uri SHOULD retain recently
decommissioned signing keys for a reasonable period of time."

* A ``next`` key is published in JWKS before it signs anything; ``homeroom keys rotate``
  promotes it only after it has been published for longer than relying parties may cache
  the JWKS (``min_publish_s``), so no client ever sees a token whose key it cannot fetch.
* A ``retired`` key stays published until every token it signed has expired
  (``retain_s``), then rotation deletes it.
* Private keys are stored encrypted (AES-256-GCM, AAD = kid) under a key-encryption key.
* Each process parses keys once and re-reads only the small ring table every
  ``refresh_s`` seconds: nothing is parsed per request.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey, KeyParameters, KeySet, RSAKey, import_key

from homeroom.errors import Conflict, InvalidInput
from homeroom.storage.sql import Database
from homeroom.storage.sql.repos_oidc import SigningKeyRow
from homeroom.storage.sql.types import utcnow

__all__ = ["ALGORITHMS", "KeyInfo", "KeyRing", "SigningKey"]

ALGORITHMS = ("ES256", "RS256")
AnyKey = ECKey | RSAKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    key: AnyKey


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What ``homeroom keys list`` shows: never key material."""

    kid: str
    alg: str
    state: str
    created_at: dt.datetime
    activated_at: dt.datetime | None
    retired_at: dt.datetime | None


def _generate(alg: str, kid: str) -> AnyKey:
    params: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    raise InvalidInput(f"unsupported signing algorithm {alg!r}")


class KeyRing:
    def __init__(
        self,
        db: Database,
        kek: bytes,
        *,
        refresh_s: float = 60.0,
        min_publish_s: float = 3600.0,
        retain_s: float = 24 * 3600.0,
    ) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self.db = db
        self._aead = AESGCM(kek)
        self.refresh_s = refresh_s
        self.min_publish_s = min_publish_s
        self.retain_s = retain_s
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._parsed: dict[str, AnyKey] = {}
        self._current: dict[str, SigningKey] = {}
        self._public = KeySet([])
        self._jwks_json = b'{"keys":[]}'
        self._loaded_at = -1e18

    # ------------------------------------------------------------------ hot path

    def signing_key(self, alg: str) -> SigningKey:
        """The current key for ``alg`` (ES256 or RS256)."""
        self._maybe_refresh()
        try:
            return self._current[alg]
        except KeyError:
            # A server-side failure (500 + metric), never a client's mistake.
            raise LookupError(f"no current signing key for {alg}") from None

    def verification_keys(self) -> KeySet:
        """Every published public key (next, current, retired), to verify our own tokens."""
        self._maybe_refresh()
        return self._public

    def jwks_json(self) -> bytes:
        """The JWK Set document (RFC 7517 §5), serialized once per ring change."""
        self._maybe_refresh()
        return self._jwks_json

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._loaded_at < self.refresh_s:
            return
        if not self._current:
            self.reload()  # first use: every caller must wait for keys
            return
        # One thread refreshes; the others keep signing with the keys they have.
        if self._refreshing.acquire(blocking=False):
            try:
                self.reload()
            finally:
                self._refreshing.release()

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        """Re-read the ring; parse only keys not seen before. Creates the ring if empty."""
        with self._lock:
            with self.db.platform() as uow:
                rows = uow.signing_keys.list()
            if not any(r.state == "current" for r in rows):
                self._bootstrap()
                with self.db.platform() as uow:
                    rows = uow.signing_keys.list()
            current: dict[str, SigningKey] = {}
            public: list[AnyKey] = []
            parsed: dict[str, AnyKey] = {}
            # Of two current keys (two processes bootstrapping at once), all processes pick
            # the same one: the earliest created. The other is merely published.
            for row in sorted(rows, key=lambda r: (r.created_at, r.kid)):
                key = self._parsed.get(row.kid) or self._decrypt(row)
                parsed[row.kid] = key
                public.append(import_key(key.as_dict(private=False)))  # type: ignore[arg-type]
                if row.state == "current" and row.alg not in current:
                    current[row.alg] = SigningKey(row.kid, row.alg, key)
            self._parsed = parsed
            self._current = current
            self._public = KeySet(public)  # type: ignore[arg-type]
            self._jwks_json = json.dumps(
                {"keys": [k.as_dict(private=False) for k in public]}, separators=(",", ":")
            ).encode()
            self._loaded_at = time.monotonic()

    def _bootstrap(self) -> None:
        """A new deployment: a current and a next key per algorithm."""
        now = utcnow()
        with self.db.platform() as uow:
            for alg in ALGORITHMS:
                uow.signing_keys.add(self._new_row(alg, "current", now))
                uow.signing_keys.add(self._new_row(alg, "next", now))

    def _new_row(self, alg: str, state: str, now: dt.datetime) -> SigningKeyRow:
        kid = f"{alg.lower()}-{now.strftime('%Y%m%d')}-{secrets.token_hex(4)}"
        key = _generate(alg, kid)
        return SigningKeyRow(
            kid=kid,
            alg=alg,
            state=state,
            private_jwk=self._encrypt(kid, key),
            created_at=now,
            activated_at=now if state == "current" else None,
            retired_at=None,
        )

    def _encrypt(self, kid: str, key: AnyKey) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(key.as_dict(private=True)).encode()
        sealed = self._aead.encrypt(nonce, plain, kid.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def _decrypt(self, row: SigningKeyRow) -> AnyKey:
        raw = base64.urlsafe_b64decode(row.private_jwk)
        plain = self._aead.decrypt(raw[:12], raw[12:], row.kid.encode())
        data: dict[str, Any] = json.loads(plain)
        key = import_key(data)
        assert isinstance(key, ECKey | RSAKey)
        return key

    # ------------------------------------------------------------------ administration

    def describe(self) -> list[KeyInfo]:
        self.reload()
        with self.db.platform() as uow:
            rows = uow.signing_keys.list()
        return [
            KeyInfo(r.kid, r.alg, r.state, r.created_at, r.activated_at, r.retired_at) for r in rows
        ]

    def rotate(self, *, force: bool = False) -> list[KeyInfo]:
        """Per algorithm: next → current, current → retired, a new next; retired keys past
        their retention are deleted. Refused (``Conflict``) while a next key has been
        published for less than ``min_publish_s``, unless ``force``."""
        self.reload()
        now = utcnow()
        with self._lock, self.db.platform() as uow:
            rows = uow.signing_keys.list()
            for alg in ALGORITHMS:
                nexts = [r for r in rows if r.alg == alg and r.state == "next"]
                if nexts and not force:
                    age = (now - nexts[0].created_at).total_seconds()
                    if age < self.min_publish_s:
                        raise Conflict(
                            f"the next {alg} key has been published for {int(age)} s only; "
                            f"relying parties may cache JWKS for {int(self.min_publish_s)} s "
                            "(wait, or use --force)"
                        )
            for alg in ALGORITHMS:
                mine = [r for r in rows if r.alg == alg]
                nexts = [r for r in mine if r.state == "next"]
                if nexts:
                    for r in mine:
                        if r.state == "current":
                            uow.signing_keys.set_state(r.kid, "retired", now)
                    uow.signing_keys.set_state(nexts[0].kid, "current", now)
                uow.signing_keys.add(self._new_row(alg, "next", now))
                for r in mine:
                    expired = r.retired_at is not None and (
                        (now - r.retired_at).total_seconds() > self.retain_s
                    )
                    if r.state == "retired" and expired:
                        uow.signing_keys.delete(r.kid)
        self._loaded_at = -1e18
        return self.describe()
