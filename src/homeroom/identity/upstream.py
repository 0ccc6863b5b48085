"""Sign-in through a district's own OpenID Provider (Google, Microsoft, another Homeroom...).

Homeroom is the relying party here (OIDC Core §3.1, authorization code flow) with Authlib's
HTTPX client: ``state`` (bound to the browser by a cookie, RFC 6749 §10.12), ``nonce``
(OIDC Core §3.1.2.1) and PKCE S256 (RFC 7636). The ID token is validated per OIDC Core
§3.1.3.7: signature against the upstream's JWKS, ``iss`` equal to the configured issuer,
``aud`` containing our client_id, ``exp`` in the future, ``nonce`` equal to the one sent.

The upstream subject becomes a roster user of *that* district only, by one configured claim:
``email`` (refused when the upstream says ``email_verified: false``) or ``sis_id`` (the
user's SIS ``sourced_id``). No match, or more than one, refuses the sign-in.

Every HTTP call goes through one :class:`UpstreamGuard` per upstream (timeouts, circuit
breaker, bounded retries): a hanging IdP fails fast with 503 instead of holding a worker per
sign-in. Configuration lives in the district settings (``upstream_idps``); the client secret
lives in the secret store under a name derived from the district and IdP ids, never in the
settings, logs or audit.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from homeroom.audit.models import AuditEvent
from homeroom.errors import InvalidInput, NotFound
from homeroom.identity.sessions import Session, SessionStore
from homeroom.ops.upstream import UpstreamGuard
from homeroom.portal.errors import SignInFailed
from homeroom.roster.models import District, User
from homeroom.secrets import SecretSource
from homeroom.storage.kv import KV
from homeroom.storage.sql import Database
from homeroom.storage.sql.repos_upstream import SqlUpstreamUsers
from homeroom.tenancy import TenantScope

__all__ = [
    "UpstreamDirectory",
    "UpstreamIdp",
    "UpstreamLogin",
    "UpstreamProtocolError",
    "UpstreamUnmatched",
    "district_idps",
]

Match = Literal["email", "sis_id"]
_SETTINGS_KEY = "upstream_idps"
_STATE_PREFIX = "upst:"
STATE_TTL_S = 600
METADATA_TTL_S = 300
ID_TOKEN_ALGS = ["ES256", "RS256", "PS256", "EdDSA"]


class UpstreamUnmatched(SignInFailed):
    """The upstream signed someone in who is not (exactly one) active user of the district."""


class UpstreamProtocolError(SignInFailed):
    """The upstream's answer was not a valid OpenID Connect response (bad state, ID token...)."""


@dataclass(frozen=True, slots=True)
class UpstreamIdp:
    id: str
    name: str  # shown on the button: "Sign in with <name>"
    issuer: str
    client_id: str
    match: Match
    claim: str  # the upstream claim holding the email or SIS id

    @property
    def secret_name(self) -> str:
        return f"upstream-{self.id}-client-secret"


def district_idps(district: District) -> list[UpstreamIdp]:
    raw = district.settings.get(_SETTINGS_KEY) or []
    return [UpstreamIdp(**item) for item in raw if isinstance(item, dict)]


@dataclass
class UpstreamDirectory:
    """District admins' view: add, list and remove a district's upstream IdPs."""

    db: Database
    secrets: SecretSource

    def all(self, district: District) -> list[UpstreamIdp]:
        return district_idps(district)

    def get(self, district: District, idp_id: str) -> UpstreamIdp:
        for idp in district_idps(district):
            if idp.id == idp_id:
                return idp
        raise NotFound("upstream identity provider not found")

    def add(
        self,
        district: District,
        *,
        name: str,
        issuer: str,
        client_id: str,
        client_secret: str,
        match: str,
        claim: str | None = None,
        actor: str = "cli",
    ) -> UpstreamIdp:
        issuer = issuer.strip().rstrip("/")
        if not name.strip() or len(name) > 64:
            raise InvalidInput("name must be 1-64 characters")
        if not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise InvalidInput("issuer must be an https:// URL")
        if match not in ("email", "sis_id"):
            raise InvalidInput("match must be email or sis_id")
        if not client_id or not client_secret:
            raise InvalidInput("client_id and client secret are required")
        idp = UpstreamIdp(
            id=f"idp_{secrets.token_hex(10)}",
            name=name.strip(),
            issuer=issuer,
            client_id=client_id,
            match=match,  # type: ignore[arg-type]
            claim=(claim or match).strip(),
        )
        self.secrets.put(idp.secret_name, client_secret.encode())
        self._save(district, [*district_idps(district), idp], actor, "upstream.add", idp)
        return idp

    def remove(self, district: District, idp_id: str, actor: str = "cli") -> None:
        with self.db.platform() as uow:
            district = uow.districts.get(district.id)  # the settings as stored now
        idp = self.get(district, idp_id)
        self._save(
            district,
            [i for i in district_idps(district) if i.id != idp_id],
            actor,
            "upstream.remove",
            idp,
        )
        self.secrets.delete(idp.secret_name)

    def _save(
        self, district: District, idps: list[UpstreamIdp], actor: str, action: str, idp: UpstreamIdp
    ) -> None:
        with self.db.platform() as uow:
            settings = dict(uow.districts.get(district.id).settings)
            settings[_SETTINGS_KEY] = [asdict(i) for i in idps]
            methods = [m for m in settings.get("login_methods") or [] if m != "upstream"]
            settings["login_methods"] = [*methods, "upstream"] if idps else methods
            uow.districts.update_settings(district.id, settings)
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            uow.audit.append(
                AuditEvent(
                    actor=actor,
                    action=action,
                    target_type="upstream_idp",
                    target_id=idp.id,
                    detail={"issuer": idp.issuer, "match": idp.match, "name": idp.name},
                )
            )


@dataclass
class _Cached:
    value: dict[str, Any]
    until: float


@dataclass
class UpstreamLogin:
    """The relying-party side: start a sign-in, finish it, make a portal session."""

    db: Database
    kv: KV
    secrets: SecretSource
    sessions: SessionStore
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 3.0
    failure_threshold: int = 5
    reset_timeout_s: float = 30.0
    attempts: int = 2
    _guards: dict[str, UpstreamGuard] = field(default_factory=dict)
    _cache: dict[str, _Cached] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---------------------------------------------------------------- plumbing

    def guard(self, idp: UpstreamIdp) -> UpstreamGuard:
        """One breaker per upstream issuer, kept for the process's life."""
        with self._lock:
            guard = self._guards.get(idp.issuer)
            if guard is None:
                guard = UpstreamGuard.for_upstream(
                    f"idp:{idp.issuer}",
                    failure_threshold=self.failure_threshold,
                    reset_timeout_s=self.reset_timeout_s,
                    attempts=self.attempts,
                    deadline_s=2 * (self.connect_timeout_s + self.read_timeout_s),
                )
                self._guards[idp.issuer] = guard
            return guard

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)

    def _get_json(self, idp: UpstreamIdp, url: str) -> dict[str, Any]:
        cached = self._cache.get(url)
        if cached is not None and cached.until > time.monotonic():
            return cached.value

        def fetch() -> dict[str, Any]:
            with httpx.Client(timeout=self._timeout(), follow_redirects=False) as http:
                response = http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                body = response.json()
            if not isinstance(body, dict):
                raise UpstreamProtocolError(f"{url} did not return a JSON object")
            return body

        value = self.guard(idp).call(fetch)
        self._cache[url] = _Cached(value, time.monotonic() + METADATA_TTL_S)
        return value

    def _metadata(self, idp: UpstreamIdp) -> dict[str, Any]:
        """OIDC Discovery 1.0 §4; §4.3: the ``issuer`` returned MUST be identical."""
        meta = self._get_json(idp, f"{idp.issuer}/.well-known/openid-configuration")
        if meta.get("issuer") != idp.issuer:
            raise UpstreamProtocolError("discovery issuer does not match the configured issuer")
        return meta

    def _client(self, idp: UpstreamIdp, redirect_uri: str) -> OAuth2Client:
        secret = self.secrets.get_or_create(idp.secret_name).decode()
        return OAuth2Client(
            client_id=idp.client_id,
            client_secret=secret,
            scope="openid email profile",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.read_timeout_s,
        )

    # ---------------------------------------------------------------- the flow

    def start(self, district: District, idp: UpstreamIdp, redirect_uri: str) -> tuple[str, str]:
        """(authorization URL, state). The state names the pending sign-in in the KV store."""
        meta = self._metadata(idp)
        nonce = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        with self._client(idp, redirect_uri) as client:
            url, state = client.create_authorization_url(
                meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
        pending = {"district_id": district.id, "idp": idp.id, "nonce": nonce, "verifier": verifier}
        self.kv.set(_STATE_PREFIX + state, json.dumps(pending).encode(), ttl_s=STATE_TTL_S)
        return str(url), str(state)

    def finish(
        self,
        district: District,
        idps: list[UpstreamIdp],
        state: str,
        code: str,
        redirect_uri: str,
        ip: str,
    ) -> Session:
        raw = self.kv.pop(_STATE_PREFIX + state) if state and len(state) <= 256 else None
        pending = json.loads(raw) if raw else None
        if pending is None or pending["district_id"] != district.id:
            raise UpstreamProtocolError("unknown or used state")
        idp = next((i for i in idps if i.id == pending["idp"]), None)
        if idp is None:
            raise UpstreamProtocolError("this identity provider was removed")
        meta = self._metadata(idp)

        def exchange() -> dict[str, Any]:
            with self._client(idp, redirect_uri) as client:
                token = client.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending["verifier"],
                )
            return dict(token)

        try:
            token = self.guard(idp).call(exchange)
        except httpx.HTTPStatusError as exc:  # 4xx: the upstream refused the code
            raise UpstreamProtocolError(
                f"token endpoint answered {exc.response.status_code}"
            ) from None
        except Exception as exc:
            if type(exc).__module__.startswith("authlib"):
                raise UpstreamProtocolError(f"token request refused: {exc}") from None
            raise
        claims = self._verify_id_token(idp, meta, token.get("id_token"), pending["nonce"])
        user = self._match(district, idp, claims, ip)
        self._audit(district, idp, "success", ip, user, {})
        return self.sessions.start(district.id, user.id, "upstream")

    def _verify_id_token(
        self, idp: UpstreamIdp, meta: dict[str, Any], id_token: Any, nonce: str
    ) -> dict[str, Any]:
        """OIDC Core §3.1.3.7 (ID Token Validation)."""
        if not isinstance(id_token, str):
            raise UpstreamProtocolError("no id_token in the token response")
        keys = KeySet.import_key_set(self._get_json(idp, str(meta["jwks_uri"])))  # type: ignore[arg-type]
        try:
            decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGS)
            jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": idp.issuer},
                aud={"essential": True, "value": idp.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise UpstreamProtocolError(f"invalid ID token: {exc}") from None
        return dict(decoded.claims)

    def _match(self, district: District, idp: UpstreamIdp, claims: dict[str, Any], ip: str) -> User:
        value = claims.get(idp.claim)
        found: list[User] = []
        if isinstance(value, str) and value and len(value) <= 255:
            if idp.match == "email" and claims.get("email_verified") is False:
                value = ""
            with TenantScope(district.id), self.db.scoped() as uow:
                users = SqlUpstreamUsers(uow.conn, district.id)
                if value:
                    found = (
                        users.by_email(value)
                        if idp.match == "email"
                        else users.by_sourced_id(value)
                    )
        active = [u for u in found if u.status == "active"]
        if len(active) != 1:
            reason = "no_match" if not active else "ambiguous"
            self._audit(district, idp, "failure", ip, None, {"reason": reason})
            raise UpstreamUnmatched(reason)
        return active[0]

    def _audit(
        self,
        district: District,
        idp: UpstreamIdp,
        outcome: str,
        ip: str,
        user: User | None,
        detail: dict[str, Any],
    ) -> None:
        with TenantScope(district.id), self.db.scoped(write=True) as uow:
            uow.audit.append(
                AuditEvent(
                    actor=f"user:{user.id}" if user else "anonymous",
                    action="signin.upstream",
                    target_type="user" if user else None,
                    target_id=user.id if user else None,
                    outcome=outcome,
                    ip=ip,
                    detail={"idp": idp.id, **detail},
                )
            )
