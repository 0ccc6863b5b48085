"""What every protocol module needs: the issuer, storage, keys, caches and lifetimes."""

from __future__ import annotations

from dataclasses import dataclass, field

from homeroom.identity.sessions import SessionStore
from homeroom.oidc.clients import ClientDirectory
from homeroom.oidc.keys import KeyRing
from homeroom.ops.ratelimit import RateLimiter
from homeroom.storage.kv import KV
from homeroom.storage.sql import Database

__all__ = ["Endpoints", "Lifetimes", "OidcContext"]


@dataclass(frozen=True)
class Lifetimes:
    """Seconds. Codes: RFC 6749 §4.1.2 ("A maximum authorization code lifetime of 10
    minutes is RECOMMENDED"; we use 60 s). Access tokens short-lived (RFC 9068, BCP §4.14)."""

    code: int = 60
    access_token: int = 600
    id_token: int = 600
    refresh_token: int = 30 * 24 * 3600
    logout_token: int = 120

    @property
    def longest_signed(self) -> int:
        """How long a signing key must stay published after it last signed."""
        return max(self.access_token, self.id_token, self.logout_token)


@dataclass(frozen=True)
class Endpoints:
    issuer: str

    @property
    def authorization(self) -> str:
        return f"{self.issuer}/authorize"

    @property
    def token(self) -> str:
        return f"{self.issuer}/token"

    @property
    def userinfo(self) -> str:
        return f"{self.issuer}/userinfo"

    @property
    def jwks(self) -> str:
        return f"{self.issuer}/jwks.json"

    @property
    def introspection(self) -> str:
        return f"{self.issuer}/introspect"

    @property
    def revocation(self) -> str:
        return f"{self.issuer}/revoke"

    @property
    def end_session(self) -> str:
        return f"{self.issuer}/logout"

    @property
    def login(self) -> str:
        return f"{self.issuer}/login"


@dataclass
class OidcContext:
    issuer: str
    db: Database
    kv: KV
    keys: KeyRing
    clients: ClientDirectory
    sessions: SessionStore
    client_secret_key: bytes
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    limiter: RateLimiter | None = None  # per-client limits at the token endpoint

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.issuer)
