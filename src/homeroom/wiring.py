"""Composition root: builds every service from the settings. CLI and web both use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from homeroom.audit.trail import AuditTrail
from homeroom.config import Settings
from homeroom.errors import ConfigError, NotFound
from homeroom.identity.badges import BadgeService
from homeroom.identity.lockout import SignInLockout
from homeroom.identity.password_login import PasswordLogin
from homeroom.identity.passwords import PasswordHasher
from homeroom.identity.sessions import SessionStore
from homeroom.identity.upstream import UpstreamDirectory, UpstreamLogin
from homeroom.oidc.clients import ClientDirectory
from homeroom.oidc.context import OidcContext
from homeroom.oidc.keys import KeyRing
from homeroom.ops.ratelimit import RateLimiter
from homeroom.portal.printing import BadgePrinting
from homeroom.portal.service import PortalService
from homeroom.roster.admin import RosterAdmin
from homeroom.roster.importer import RosterImporter
from homeroom.secrets import WEB, SecretSource, SecretStore, StoreSecrets, open_provider
from homeroom.secrets.live import LiveKeys
from homeroom.secrets.setup import resolved_url
from homeroom.sharing.registry import AppRegistry
from homeroom.sharing.service import SharingService
from homeroom.storage.kv import KV, open_kv
from homeroom.storage.sql import Database
from homeroom.usage.goals import UsageGoals
from homeroom.usage.ingest import UsageIngest
from homeroom.usage.retention import UsageData
from homeroom.web.session_cookie import SessionCookie

__all__ = ["Container", "build"]


@dataclass
class Container:
    settings: Settings
    db: Database
    kv: KV
    secrets: SecretSource
    secret_store: SecretStore
    passwords: PasswordHasher = field(default_factory=PasswordHasher)
    redis_url: str | None = None
    """``settings.redis_url`` with its password resolved (None: use the setting as is)."""

    @cached_property
    def roster_admin(self) -> RosterAdmin:
        return RosterAdmin(self.db, self.passwords)

    @cached_property
    def roster_importer(self) -> RosterImporter:
        return RosterImporter(self.db)

    @cached_property
    def sharing(self) -> SharingService:
        return SharingService(self.db)

    @cached_property
    def client_secret_key(self) -> bytes:
        return self.secrets.get_or_create("client-secret-hmac-key")

    @cached_property
    def apps(self) -> AppRegistry:
        return AppRegistry(self.db, self.client_secret_key)

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(
            self.kv,
            idle_timeout_s=self.settings.session_idle_timeout_s,
            absolute_timeout_s=self.settings.session_absolute_timeout_s,
        )

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        # The resolved URL: a Redis that needs a password refuses the bare setting.
        return RateLimiter.from_settings(self.settings, redis_url=self.redis_url)

    @cached_property
    def session_keys(self) -> LiveKeys:
        """The session-cookie key's current and previous versions, followed as they rotate;
        previous counts until the cookies it signed have expired."""
        if not isinstance(self.secrets, StoreSecrets):
            raise ConfigError("config: the session-cookie key lives in the secret store")
        live = LiveKeys(
            self.secrets, "session-cookie-key", retain_s=self.settings.session_absolute_timeout_s
        )
        live.get()  # resolve at start: a missing key stops the process here
        return live

    @cached_property
    def session_cookie(self) -> SessionCookie:
        insecure_ok = self.settings.issuer.startswith(("http://127.0.0.1", "http://localhost"))
        # Current + previous versions (newest first): rotating the key signs nobody out.
        return SessionCookie(
            self.session_keys.accepted_values,
            secure=not insecure_ok,
            max_age_s=self.settings.session_absolute_timeout_s,
        )

    @cached_property
    def metrics_token(self) -> str:
        """The ``/metrics`` bearer token, resolved from its reference once ("" = disabled)."""
        ref = self.settings.metrics_token
        if not ref:
            return ""
        try:
            return self.secret_store.get(WEB, ref).text()
        except NotFound:
            raise ConfigError(
                f"config: HOMEROOM_METRICS_TOKEN: {ref} is not stored; store it with "
                f"`homeroom secrets put {ref}` (value on stdin)"
            ) from None

    # OpenID Provider ---------------------------------------------------------------
    @cached_property
    def key_ring(self) -> KeyRing:
        """Signing keys: versions in the secret store, parsed once per process and followed
        as ``homeroom keys rotate`` moves their labels."""
        if not isinstance(self.secrets, StoreSecrets):
            raise ConfigError("config: signing keys live in the secret store")
        return KeyRing(self.secrets)

    @cached_property
    def oidc(self) -> OidcContext:
        return OidcContext(
            issuer=self.settings.issuer,
            db=self.db,
            kv=self.kv,
            keys=self.key_ring,
            clients=ClientDirectory(self.db),
            sessions=self.sessions,
            client_secret_key=self.client_secret_key,
            limiter=self.rate_limiter,
            sign_in_check_ttl_s=self.settings.sign_in_check_ttl_s,
        )

    @cached_property
    def password_login(self) -> PasswordLogin:
        return PasswordLogin(self.db, self.passwords)

    @cached_property
    def badges(self) -> BadgeService:
        return BadgeService(
            self.db, self.secrets.get_or_create("badge-hmac-key"), self.settings.issuer
        )

    @cached_property
    def badge_printing(self) -> BadgePrinting:
        return BadgePrinting(self.db, self.badges)

    @cached_property
    def audit_trail(self) -> AuditTrail:
        return AuditTrail(self.db)

    @cached_property
    def sign_in_lockout(self) -> SignInLockout:
        """The one sign-in guard (address limit + account lockout) of every sign-in method:
        the provider's ``/login`` and the portal's password and badge sign-in."""
        return SignInLockout(self.rate_limiter, school_networks=self.settings.school_network_list)

    @cached_property
    def portal(self) -> PortalService:
        return PortalService(
            self.db,
            self.passwords,
            self.sessions,
            self.sign_in_lockout,
            self.badges,
            self.settings.issuer,
            self.oidc.clients,
        )

    @cached_property
    def upstream_idps(self) -> UpstreamDirectory:
        return UpstreamDirectory(self.db, self.secrets)

    @cached_property
    def upstream_login(self) -> UpstreamLogin:
        """Per-process: its circuit breakers and metadata cache live here."""
        return UpstreamLogin(self.db, self.kv, self.secrets, self.sessions)

    # usage -----------------------------------------------------------------------
    @cached_property
    def usage_ingest(self) -> UsageIngest:
        return UsageIngest(
            self.db, self.settings.usage_retention_days, self.settings.usage_future_skew_s
        )

    @cached_property
    def usage_goals(self) -> UsageGoals:
        return UsageGoals(self.db)

    @cached_property
    def usage_data(self) -> UsageData:
        return UsageData(self.db, self.settings.usage_retention_days)

    def close(self) -> None:
        self.passwords.close()
        self.db.dispose()
        self.kv.close()
        if "rate_limiter" in self.__dict__:  # made on first use (a cached property)
            self.rate_limiter.close()


def build(settings: Settings) -> Container:
    provider = open_provider(settings)
    sql_url = resolved_url(settings, "sql", provider)
    redis_url = resolved_url(settings, "redis", provider)
    db = Database(
        sql_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    store = SecretStore(db, provider, max_versions=settings.secrets_max_versions)
    return Container(
        settings=settings,
        db=db,
        kv=open_kv(redis_url, settings.kv_timeout_s),
        secrets=StoreSecrets(store, settings.environment),
        secret_store=store,
        redis_url=redis_url,
        passwords=PasswordHasher(concurrency=settings.password_threads or None),
    )
