"""The authorization endpoint: RFC 6749 §4.1.1-4.1.2, OIDC Core §3.1.2, RFC 9207.

Order matters. Until the client and its redirect URI are verified, an error is shown to the
user and never redirected (RFC 6749 §4.1.2.1: "the authorization server SHOULD inform the
resource owner of the error and MUST NOT automatically redirect the user-agent to the
invalid redirection URI"). After that, every error is redirected with its code, ``state``
and ``iss``.

District hint: the optional ``district`` parameter (a district slug) names the district the
user signs in to. ``login_hint`` (OIDC Core §3.1.2.1, §4) is either a username, which
pre-fills the sign-in page, or a user id (``usr_…``, what the portal sends on a tile click):
a session of another user is then not used ("a different End-User is signed in" must not
slip into the app); the user signs in again, or ``prompt=none`` gets ``login_required``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from homeroom.identity.sessions import Session
from homeroom.ids import is_id
from homeroom.oidc import pkce
from homeroom.oidc.claims import USER_SCOPES, user_claims
from homeroom.oidc.codes import AuthorizationCode, CodeStore
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import (
    AccessDenied,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    LoginRequired,
    OAuthError,
    UnsupportedResponseType,
)
from homeroom.oidc.errors import add_query as _add_query
from homeroom.roster.models import User
from homeroom.sharing.models import App
from homeroom.storage.sql.types import utcnow

__all__ = [
    "AuthorizationRequest",
    "CodeRedirect",
    "LoginNeeded",
    "authorize",
    "parse_authorization_request",
    "session_sid",
]

PROMPTS = ("none", "login", "consent")
_SINGLE = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "district",
    "response_mode",
)


@dataclass(frozen=True)
class AuthorizationRequest:
    client: App
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    district_slug: str | None
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LoginNeeded:
    """Send the user to the sign-in page, then back to ``return_to``."""

    district_slug: str | None
    login_hint: str | None
    return_to: str

    def login_url(self) -> str:
        query: dict[str, str] = {"next": self.return_to}
        if self.district_slug:
            query["district"] = self.district_slug
        if self.login_hint:
            query["username"] = self.login_hint
        return "/login?" + urlencode(query)


@dataclass(frozen=True)
class CodeRedirect:
    url: str


def session_sid(session_id: str) -> str:
    """The ``sid`` claim (Back-Channel Logout §2.1): derived from, never equal to, the
    session id, which is a bearer secret held in the browser's cookie."""
    return hashlib.sha256(b"sid:" + session_id.encode()).hexdigest()[:32]


def parse_authorization_request(
    ctx: OidcContext, pairs: Sequence[tuple[str, str]]
) -> AuthorizationRequest:
    seen: dict[str, str] = {}
    duplicated: set[str] = set()
    for name, value in pairs:
        if name in seen:
            duplicated.add(name)
        seen[name] = value
    # RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
    if duplicated & {"client_id", "redirect_uri"}:
        raise InvalidRequest("client_id and redirect_uri must appear once", redirectable=False)
    client = ctx.clients.app(seen.get("client_id", ""))
    if client is None:
        raise InvalidClient("unknown client_id", redirectable=False)
    redirect_uri = seen.get("redirect_uri")
    # OIDC Core §3.1.2.1: redirect_uri is REQUIRED and MUST exactly match a registered one
    # (Security BCP §4.1.3: exact string matching).
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        raise InvalidRequest("redirect_uri is not registered for this client", redirectable=False)
    state = seen.get("state")
    try:
        return _parse_rest(ctx, client, redirect_uri, seen, duplicated, pairs)
    except OAuthError as error:
        error.redirect_to, error.state = redirect_uri, state
        raise


def _parse_rest(
    ctx: OidcContext,
    client: App,
    redirect_uri: str,
    seen: dict[str, str],
    duplicated: set[str],
    pairs: Sequence[tuple[str, str]],
) -> AuthorizationRequest:
    if duplicated & set(_SINGLE):
        raise InvalidRequest(f"repeated parameter: {sorted(duplicated)[0]}")
    if "request" in seen or "request_uri" in seen:
        raise InvalidRequest("request objects are not supported")
    if seen.get("response_type") != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    if seen.get("response_mode", "query") != "query":
        raise InvalidRequest("only response_mode=query is supported")
    scopes = tuple(dict.fromkeys(seen.get("scope", "").split()))
    if not scopes:
        raise InvalidScope("scope is required")
    unknown = [s for s in scopes if s not in USER_SCOPES]
    if unknown:
        raise InvalidScope(f"unknown scope: {unknown[0]}")
    challenge = pkce.check_challenge(
        seen.get("code_challenge"), seen.get("code_challenge_method"), required=client.public
    )
    prompt = frozenset(seen.get("prompt", "").split())
    if not prompt <= set(PROMPTS):
        raise InvalidRequest("prompt supports none, login and consent")
    if "none" in prompt and len(prompt) > 1:
        # OIDC Core §3.1.2.1: "If this parameter contains none with any other value, an
        # error is returned."
        raise InvalidRequest("prompt=none cannot be combined with other values")
    max_age: int | None = None
    if "max_age" in seen:
        try:
            max_age = int(seen["max_age"])
        except ValueError:
            raise InvalidRequest("max_age must be a non-negative integer") from None
        if max_age < 0:
            raise InvalidRequest("max_age must be a non-negative integer")
    nonce = seen.get("nonce")
    if nonce is not None and len(nonce) > 512:
        raise InvalidRequest("nonce is too long")
    state = seen.get("state")
    if state is not None and len(state) > 2048:
        raise InvalidRequest("state is too long")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        state=state,
        scopes=scopes,
        nonce=nonce,
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        login_hint=(seen.get("login_hint") or None),
        district_slug=(seen.get("district") or None),
        params=tuple(pairs),
    )


def _return_to(request: AuthorizationRequest) -> str:
    """The authorization URL to come back to after sign-in, without ``prompt=login`` (the
    sign-in just happened) so that the user is not asked twice."""
    params: list[tuple[str, str]] = []
    for name, value in request.params:
        if name == "prompt":
            rest = " ".join(v for v in value.split() if v != "login")
            if rest:
                params.append((name, rest))
        else:
            params.append((name, value))
    return "/authorize?" + urlencode(params)


def authorize(
    ctx: OidcContext, request: AuthorizationRequest, session: Session | None
) -> LoginNeeded | CodeRedirect:
    """Decide: sign in first, or issue a code. Raises redirectable ``OAuthError``s."""
    try:
        return _authorize(ctx, request, session)
    except OAuthError as error:
        error.redirect_to, error.state = request.redirect_uri, request.state
        raise


def _authorize(
    ctx: OidcContext, request: AuthorizationRequest, session: Session | None
) -> LoginNeeded | CodeRedirect:
    now = int(time.time())
    district_id: str | None = None
    if request.district_slug is not None:
        district = ctx.clients.district_by_slug(request.district_slug)
        if district is None:
            raise InvalidRequest("unknown district")
        district_id = district.id
    hinted_user = (
        request.login_hint if request.login_hint and is_id(request.login_hint, "user") else None
    )
    user: User | None = None
    shared = False
    connection = None
    if (
        session is not None
        and (district_id is None or session.district_id == district_id)
        and (hinted_user is None or hinted_user == session.user_id)
    ):
        # Cached per (district, app): no database read once warm.
        connection = ctx.clients.connection(session.district_id, request.client.id)
        # The one database read of an instant login (shared with userinfo for a moment).
        user, shared = ctx.sign_in_check.active_shared(
            session.district_id, session.user_id, request.client.id, connection
        )
    fresh_enough = (
        session is not None
        and user is not None
        and "login" not in request.prompt
        and (request.max_age is None or now - session.auth_time <= request.max_age)
    )
    if not fresh_enough:
        if "none" in request.prompt:
            raise LoginRequired("the user must sign in")
        username_hint = None if hinted_user else request.login_hint
        return LoginNeeded(request.district_slug, username_hint, _return_to(request))
    assert session is not None and user is not None
    # A user may only sign in to an app their district has connected, for their role, and
    # only if the connection shares them (its schools, sections or rules).
    if (
        connection is None
        or not connection.active(utcnow())
        or user.role.value not in connection.roles_allowed
        or not shared
    ):
        raise AccessDenied("this app is not available to you in your district")
    grant = AuthorizationCode(
        client_id=request.client.id,
        redirect_uri=request.redirect_uri,
        scope=" ".join(request.scopes),
        district_id=session.district_id,
        user_id=user.id,
        sid=session_sid(session.id),
        auth_time=session.auth_time,
        code_challenge=request.code_challenge,
        nonce=request.nonce,
        claims=user_claims(user, connection, request.scopes),
    )
    code = CodeStore(ctx.kv, ctx.lifetimes.code).issue(grant)
    ctx.sessions.add_app(session, request.client.id)  # for back-channel logout fan-out
    params: dict[str, str] = {"code": code}
    if request.state is not None:
        params["state"] = request.state
    params["iss"] = ctx.issuer  # RFC 9207 §2
    return CodeRedirect(_add_query(request.redirect_uri, params))
