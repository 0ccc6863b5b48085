"""The signing key ring: ``next`` → ``current`` → ``retired`` keys for ES256 and RS256.

RFC 7517 (JWK) for the published set; OpenID Connect Core §10.1.1 for rotation: "The
signer can begin using a new key at its discretion and signals the change to the verifier
using the kid value. [...] The JWK Set document at the jwks_uri SHOULD retain recently
decommissioned signing keys for a reasonable period of time."

The private keys are versions of one secret per algorithm in the secret store
(``secret://<environment>/homeroom-web/signing-key-es256``, ``…-rs256``; the value is the
private JWK), so they are envelope-encrypted, audited and rotated like every other secret.
The store's labels are the ring's states:

* ``pending`` = ``next``: published in JWKS before it signs anything; ``homeroom keys
  rotate`` finishes it only after it has been published for longer than relying parties
  may cache the JWKS (``min_publish_s``), so no client sees a token whose key it cannot fetch.
* ``current``: signs.
* ``previous`` = ``retired``: published until every token it signed has expired
  (``retain_s`` after it stopped signing), then dropped; a rotation that would push out a
  still-needed ``previous`` is refused.

Rotation is the store's create → set → test → finish: the pending key is tested (parsed,
a probe token signed and verified) before it is finished, and the new one before it is
published; a failing test rolls the pending version back.

Each process parses keys once (``secrets.live.LiveKeys``): the hot path is a clock
comparison; every ``refresh_s`` seconds it compares label numbers, and re-reads and parses
only when a label moved.

``decode`` verifies a token of ours (RFC 7515 §5.2) and remembers the result by the token's
exact text, as do tokens this process has just signed (``remember``): an instant login's
userinfo call, or an app paging the roster API, presents the same access token again
within seconds, and its ECDSA verification was the largest single cost of those requests.
A remembered token is byte for byte one whose signature a key of the ring made or
verified; the memory is dropped whenever the published set changes, so a key that leaves
the ring takes its tokens' acceptance with it. Expiry, issuer, audience and revocation are
checked on every use by the callers, as before.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, KeySet, RSAKey, import_key

from homeroom.errors import Conflict, InvalidInput
from homeroom.secrets.live import KeyVersions, LiveKeys, previous_is_live
from homeroom.secrets.models import CURRENT, PENDING, PREVIOUS, SecretValue
from homeroom.secrets.policy import ADMIN
from homeroom.secrets.redaction import Redactor
from homeroom.secrets.source import StoreSecrets
from homeroom.storage.sql.types import utcnow

__all__ = [
    "ALGORITHMS",
    "KeyInfo",
    "KeyRing",
    "SigningKey",
    "SigningKeyRotator",
    "VerifiedToken",
    "key_name",
]

ALGORITHMS = ("ES256", "RS256")
AnyKey = ECKey | RSAKey
REMEMBERED_TOKENS = 16_384
"""Verified tokens kept per process: at 1,000 sign-ins a second, the last 16 seconds' worth,
far longer than a token response takes to reach userinfo. About 1 KiB each (measured with
tracemalloc: token text, claims and entry), so at most about 17 MiB."""
_PRIVATE_PARAMS = ("d", "p", "q", "dp", "dq", "qi")


def key_name(alg: str) -> str:
    """The secret name (under ``homeroom-web``) holding ``alg``'s key versions."""
    return f"signing-key-{alg.lower()}"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    key: AnyKey


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A compact JWS of ours whose signature verified: its protected header and claims.
    Shared between callers: read, never modify."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What ``homeroom keys list`` shows: never key material."""

    kid: str
    alg: str
    state: str  # next | current | retired | expired (kept in the store, no longer published)
    created_at: dt.datetime
    activated_at: dt.datetime | None
    retired_at: dt.datetime | None
    ref: str = ""
    version: int = 0


def _generate(alg: str) -> AnyKey:
    kid = f"{alg.lower()}-{utcnow().strftime('%Y%m%d')}-{secrets.token_hex(4)}"
    params: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    raise InvalidInput(f"unsupported signing algorithm {alg!r}")


def _parse(value: bytes, where: str) -> AnyKey:
    try:
        key = import_key(json.loads(value))
    except Exception:  # any parse failure is the same operator error
        raise InvalidInput(f"{where}: not a private JWK") from None
    if not isinstance(key, ECKey | RSAKey) or not key.is_private or not key.kid:
        raise InvalidInput(f"{where}: not a private EC or RSA JWK with a kid")
    return key


class SigningKeyRotator:
    """The ``Rotator`` steps of a signing key: a new JWK; publishing needs no install step
    (every process's JWKS picks the pending version up); the test signs and verifies."""

    def __init__(self, alg: str) -> None:
        self.alg = alg

    def generate(self, path: str) -> bytes:
        return json.dumps(_generate(self.alg).as_dict(private=True)).encode()

    def set(self, path: str, value: bytes) -> None:
        return None

    def test(self, path: str, value: bytes) -> None:
        key = _parse(value, path)
        if key.alg not in (None, self.alg):
            raise InvalidInput(f"{path}: the key is for {key.alg}, not {self.alg}")
        public = import_key(key.as_dict(private=False))
        probe = jwt.encode({"alg": self.alg, "kid": key.kid}, {"probe": True}, key)
        jwt.decode(probe, public, algorithms=[self.alg])  # raises if the pair does not match


class KeyRing:
    def __init__(
        self,
        source: StoreSecrets,
        *,
        refresh_s: float = 30.0,
        min_publish_s: float = 3600.0,
        retain_s: float = 24 * 3600.0,
    ) -> None:
        self.source = source
        self.store = source.store
        self.redactor: Redactor = source.store.redactor
        self.refresh_s = refresh_s
        self.min_publish_s = min_publish_s
        self.retain_s = retain_s
        self._live = {
            alg: LiveKeys(
                source,
                key_name(alg),
                retain_s=retain_s,
                refresh_s=refresh_s,
                create=self._creator(alg),
                create_hint="`homeroom keys rotate`",
            )
            for alg in ALGORITHMS
        }
        self._lock = threading.Lock()
        self._seen: dict[str, KeyVersions] = {}
        self._parsed: dict[tuple[str, int], AnyKey] = {}
        self._current: dict[str, SigningKey] = {}
        self._public = KeySet([])
        self._jwks_json = b'{"keys":[]}'
        self._fresh_until = -1e18
        # An OrderedDict, not a dict: evicting a plain dict's oldest entry skips the holes
        # earlier evictions left at its front, 7.9 against 0.6 µs per token with the memory
        # full (bench/RESULTS-load.md, session 19).
        self._verified: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._kids: frozenset[str] = frozenset()  # of the published set the memo vouches for
        self._verified_lock = threading.Lock()

    def ref(self, alg: str) -> str:
        return self.source.ref(key_name(alg))

    def _creator(self, alg: str) -> Any:
        rotator = SigningKeyRotator(alg)
        return lambda: (rotator.generate(""), rotator.generate(""))

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

    def decode(self, token: str, algorithms: Collection[str]) -> VerifiedToken:
        """Verify ``token`` (compact JWS, RFC 7515 §5.2) with a published key and one of
        ``algorithms``; raises joserfc's ``JoseError`` (or ``ValueError``) when it does not.
        Remembered: the same text again costs a dictionary lookup."""
        self._maybe_refresh()
        known = self._verified.get(token)
        if known is not None and known.header.get("alg") in algorithms:
            return known
        decoded = jwt.decode(token, self._public, algorithms=list(algorithms))
        verified = VerifiedToken(decoded.header, decoded.claims)
        self._keep(token, verified)
        return verified

    def remember(self, token: str, header: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
        """``token`` was just signed by a key of this ring (``signing_key``): its
        verification need not be repeated when it comes back."""
        self._keep(token, VerifiedToken(header, dict(claims)))

    def _keep(self, token: str, verified: VerifiedToken) -> None:
        with self._verified_lock:
            if verified.header.get("kid") not in self._kids:
                return  # its key left the ring while it was being verified or signed
            memo = self._verified
            if len(memo) >= REMEMBERED_TOKENS:
                memo.popitem(last=False)  # the oldest: insertion order
            memo[token] = verified

    def jwks_json(self) -> bytes:
        """The JWK Set document (RFC 7517 §5), serialized once per ring change."""
        self._maybe_refresh()
        return self._jwks_json

    def _maybe_refresh(self) -> None:
        if time.monotonic() < self._fresh_until:
            return  # the hot path: one clock read
        views = {alg: live.get() for alg, live in self._live.items()}
        if any(views[alg] is not self._seen.get(alg) for alg in ALGORITHMS):
            self._rebuild(views)
        self._fresh_until = time.monotonic() + self.refresh_s

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        """Check the store now (not waiting for ``refresh_s``) and rebuild if a label moved."""
        for live in self._live.values():
            live.reload()
        self._fresh_until = -1e18
        self._maybe_refresh()

    def _key(self, value: SecretValue) -> AnyKey:
        cached = self._parsed.get((value.path, value.version))
        if cached is not None:
            return cached
        key = _parse(value.value, f"secret://{value.path} v{value.version}")
        self._protect(key)
        return key

    def _protect(self, key: AnyKey) -> None:
        """Teach the log redactor the private parts of ``key`` in the forms they travel in."""
        data = key.as_dict(private=True)
        for name in _PRIVATE_PARAMS:
            text = data.get(name)
            if isinstance(text, str):
                self.redactor.register(text.encode())
                self.redactor.register(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        pem = key.as_pem(private=True)
        self.redactor.register(pem)
        for line in pem.splitlines():
            if not line.startswith(b"-----"):
                self.redactor.register(line)

    def _rebuild(self, views: dict[str, KeyVersions]) -> None:
        with self._lock:
            parsed: dict[tuple[str, int], AnyKey] = {}
            current: dict[str, SigningKey] = {}
            public: list[AnyKey] = []
            for alg in ALGORITHMS:
                view = views[alg]
                for value in view.published():
                    key = self._key(value)
                    parsed[(value.path, value.version)] = key
                    public.append(import_key(key.as_dict(private=False)))  # type: ignore[arg-type]
                key = parsed[(view.current.path, view.current.version)]
                current[alg] = SigningKey(str(key.kid), alg, key)
            self._parsed = parsed
            self._current = current
            self._public = KeySet(public)  # type: ignore[arg-type]
            self._jwks_json = json.dumps(
                {"keys": [k.as_dict(private=False) for k in public]}, separators=(",", ":")
            ).encode()
            self._seen = dict(views)
            with self._verified_lock:
                # A key that left the ring must stop vouching for its tokens at once.
                self._verified = OrderedDict()
                self._kids = frozenset(str(k.kid) for k in public)

    # ------------------------------------------------------------------ administration

    def _ring(self, alg: str) -> dict[str, SecretValue]:
        return {label: v for v in self.store.keyring(ADMIN, self.ref(alg)) for label in v.labels}

    def describe(self) -> list[KeyInfo]:
        """Every key of the ring with its state, read as the operator (no key material)."""
        self.reload()
        infos = self.store.labels(ADMIN, [self.ref(alg) for alg in ALGORITHMS])
        out: list[KeyInfo] = []
        for alg in ALGORITHMS:
            info = infos[self.ref(alg).removeprefix("secret://")]
            assert info is not None  # reload() created it or refused
            live = previous_is_live(info, self.retain_s)
            for label, value in self._ring(alg).items():
                key = _parse(value.value, f"secret://{value.path} v{value.version}")
                state = {PENDING: "next", CURRENT: "current", PREVIOUS: "retired"}[label]
                if label == PREVIOUS and not live:
                    state = "expired"
                out.append(
                    KeyInfo(
                        kid=str(key.kid),
                        alg=alg,
                        state=state,
                        created_at=value.created_at,
                        activated_at=info.rotated_at if label == CURRENT else None,
                        retired_at=info.rotated_at if label == PREVIOUS else None,
                        ref=self.ref(alg),
                        version=value.version,
                    )
                )
        return out

    def rotate(self, *, force: bool = False, algs: Sequence[str] = ALGORITHMS) -> list[KeyInfo]:
        """Per algorithm: test and finish the pending key (next → current, current →
        retired), then create, publish and test a new pending key; a missing ring is
        created. Refused (``Conflict``, nothing changed) while a next key has been published
        for less than ``min_publish_s``, or while the retired key it would push out may
        still verify live tokens (``retain_s``), unless ``force``."""
        for alg in algs:
            if alg not in ALGORITHMS:
                raise InvalidInput(f"unsupported signing algorithm {alg!r}")
        refs = {alg: self.ref(alg) for alg in algs}
        infos = self.store.labels(ADMIN, list(refs.values()))
        now = utcnow()
        rings: dict[str, dict[str, SecretValue]] = {}
        for alg, ref in refs.items():
            info = infos[ref.removeprefix("secret://")]
            if info is None or info.current_version is None:
                continue
            rings[alg] = ring = self._ring(alg)
            if PENDING not in ring or force:
                continue
            age = (now - ring[PENDING].created_at).total_seconds()
            if age < self.min_publish_s:
                raise Conflict(
                    f"the next {alg} key has been published for {int(age)} s only; "
                    f"relying parties may cache JWKS for {int(self.min_publish_s)} s "
                    "(wait, or use --force)"
                )
            if PREVIOUS in ring and previous_is_live(info, self.retain_s, now):
                assert info.rotated_at is not None
                left = self.retain_s - (now - info.rotated_at).total_seconds()
                raise Conflict(
                    f"the retired {alg} key may still verify unexpired tokens for {int(left)} s; "
                    "rotating now would unpublish it (wait, or use --force)"
                )
        for alg, ref in refs.items():
            self._rotate_one(alg, ref, rings.get(alg))
        for alg in algs:
            self._live[alg].expire()
        self._fresh_until = -1e18
        return self.describe()

    def _rotate_one(self, alg: str, ref: str, ring: dict[str, SecretValue] | None) -> None:
        rotator = SigningKeyRotator(alg)
        path = ref.removeprefix("secret://")
        if ring is None:  # no ring yet: a current key, then its published successor
            self.store.put(ADMIN, ref, rotator.generate(path))
        elif PENDING in ring:
            self._tested(ref, rotator, ring[PENDING].value)
            self.store.rotate_finish(ADMIN, ref)
        value = rotator.generate(path)
        self.store.rotate_begin(ADMIN, ref, value)  # create (published from here on)
        rotator.set(path, value)
        self._tested(ref, rotator, value)

    def _tested(self, ref: str, rotator: SigningKeyRotator, value: bytes) -> None:
        """testSecret: a pending key that cannot sign and verify is rolled back."""
        try:
            rotator.test(ref, value)
        except Exception as exc:
            self.store.rollback(ADMIN, ref)
            reason = str(exc) if isinstance(exc, InvalidInput) else type(exc).__name__
            raise InvalidInput(
                f"rotation of {ref} failed its test ({reason}); the pending key was rolled back"
            ) from None
