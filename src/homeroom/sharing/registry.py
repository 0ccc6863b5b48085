"""Registering apps (OAuth clients) and connecting them to districts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from homeroom.audit.models import AuditEvent
from homeroom.errors import InvalidInput, NotFound
from homeroom.ids import new_id
from homeroom.roster.models import District
from homeroom.sharing.credentials import generate_client_secret, hash_client_secret
from homeroom.sharing.models import App, Connection, FieldGroup, ScopeMode
from homeroom.storage.sql import Database
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["AppRegistry", "NewApp", "validate_redirect_uri"]


def validate_redirect_uri(uri: str) -> str:
    """OAuth 2.0 Security BCP §4.1: exact, absolute URIs without fragments; plain http only
    for loopback (RFC 8252 §7.3)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"redirect URI {uri!r} must be an absolute http(s) URL")
    if parts.fragment:
        raise InvalidInput(f"redirect URI {uri!r} must not contain a fragment")
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and not loopback:
        raise InvalidInput(f"redirect URI {uri!r} must use https (http only for loopback)")
    return uri


def _validate_jwks(jwks: dict[str, Any]) -> None:
    """RFC 7517 §5: a JWK Set of public signing keys (private members are refused)."""
    from joserfc.jwk import KeySet

    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidInput('jwks must be a JWK Set: {"keys": [...]}')
    if any(isinstance(k, dict) and ("d" in k or "k" in k) for k in keys):
        raise InvalidInput("jwks must contain public keys only")
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except Exception as exc:
        raise InvalidInput(f"jwks is not a valid JWK Set: {exc}") from None


@dataclass(frozen=True)
class NewApp:
    """A freshly registered app and, only this once, its client secret."""

    app: App
    client_secret: str | None


@dataclass
class AppRegistry:
    db: Database
    secret_key: bytes

    def create_app(
        self,
        name: str,
        redirect_uris: list[str],
        *,
        public: bool = False,
        post_logout_redirect_uris: list[str] | None = None,
        initiate_login_uri: str | None = None,
        backchannel_logout_uri: str | None = None,
        id_token_alg: str = "ES256",  # noqa: S107 (an algorithm name)
        jwks: dict[str, Any] | None = None,
        actor: str = "cli",
    ) -> NewApp:
        """Register an app. With ``jwks`` (public keys) the client authenticates with
        ``private_key_jwt`` and gets no secret."""
        if not name.strip():
            raise InvalidInput("app name must not be empty")
        if not redirect_uris:
            raise InvalidInput("at least one redirect URI is required")
        if id_token_alg not in ("ES256", "RS256"):
            raise InvalidInput("id token alg must be ES256 or RS256")
        uris = [validate_redirect_uri(u) for u in redirect_uris]
        logout_uris = [validate_redirect_uri(u) for u in post_logout_redirect_uris or []]
        for extra in (initiate_login_uri, backchannel_logout_uri):
            if extra is not None:
                validate_redirect_uri(extra)
        if jwks is not None:
            if public:
                raise InvalidInput("a public client cannot register keys")
            _validate_jwks(jwks)
        secret = None if public or jwks is not None else generate_client_secret()
        method = "none" if public else "private_key_jwt" if jwks else "client_secret_basic"
        app = App(
            id=new_id("app"),
            name=name.strip(),
            public=public,
            token_endpoint_auth_method=method,
            redirect_uris=tuple(uris),
            client_secret_hash=None
            if secret is None
            else hash_client_secret(self.secret_key, secret),
            post_logout_redirect_uris=tuple(logout_uris),
            initiate_login_uri=initiate_login_uri,
            backchannel_logout_uri=backchannel_logout_uri,
            id_token_signed_response_alg=id_token_alg,
            jwks=jwks,
            created_at=utcnow(),
        )
        with self.db.platform() as uow:
            uow.apps.add(app)
            uow.platform_audit.append(
                AuditEvent(
                    actor=actor,
                    action="app.create",
                    target_type="app",
                    target_id=app.id,
                    detail={"name": app.name, "public": public},
                )
            )
        return NewApp(app=app, client_secret=secret)

    def reset_secret(self, app_id: str, actor: str = "cli") -> str:
        secret = generate_client_secret()
        with self.db.platform() as uow:
            uow.apps.set_secret_hash(app_id, hash_client_secret(self.secret_key, secret))
            uow.platform_audit.append(
                AuditEvent(
                    actor=actor, action="app.secret.reset", target_type="app", target_id=app_id
                )
            )
        return secret

    def connect(
        self,
        district: District,
        app_id: str,
        *,
        field_groups: tuple[FieldGroup, ...] = (FieldGroup.BASIC,),
        roles_allowed: tuple[str, ...] = ("student", "teacher"),
        actor: str = "cli",
    ) -> Connection:
        with self.db.platform() as uow:
            if uow.apps.find(app_id) is None:
                raise NotFound(f"app {app_id!r} not found")
        connection = Connection(
            district_id=district.id,
            app_id=app_id,
            scope_mode=ScopeMode.DISTRICT,
            field_groups=field_groups,
            roles_allowed=roles_allowed,
        )
        with TenantScope(district.id), self.db.scoped() as uow:
            uow.connections.put(connection)
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action="connection.put",
                    target_type="app",
                    target_id=app_id,
                    detail={
                        "scope_mode": connection.scope_mode.value,
                        "field_groups": [g.value for g in field_groups],
                    },
                )
            )
        return connection
