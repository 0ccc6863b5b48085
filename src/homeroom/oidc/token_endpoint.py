"""The token endpoint: RFC 6749 §3.2, §4.1.3, §4.4, §5, §6.

Framework-free: ``token_request(ctx, form, authorization)`` returns the JSON body of a
successful response (RFC 6749 §5.1) or raises an :class:`OAuthError` (§5.2). Grants,
one module each:

* ``authorization_code`` — ``grant_authorization_code`` (§4.1.3, PKCE per RFC 7636 §4.6)
* ``refresh_token`` — ``grant_refresh_token`` (§6; rotation and reuse detection)
* ``client_credentials`` — ``grant_client_credentials`` (§4.4; one connected district)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeroom.oidc.client_auth import authenticate_client
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidRequest, UnsupportedGrantType
from homeroom.oidc.grant_authorization_code import authorization_code_grant
from homeroom.oidc.grant_client_credentials import SERVICE_SCOPES, client_credentials_grant
from homeroom.oidc.grant_refresh_token import refresh_token_grant
from homeroom.ops.metrics import TOKENS_ISSUED
from homeroom.sharing.models import App

__all__ = ["GRANTS", "GRANT_TYPES", "SERVICE_SCOPES", "token_request"]

Grant = Callable[[OidcContext, App, Mapping[str, str]], dict[str, Any]]
GRANTS: dict[str, Grant] = {
    "authorization_code": authorization_code_grant,
    "refresh_token": refresh_token_grant,
    "client_credentials": client_credentials_grant,
}
GRANT_TYPES = tuple(GRANTS)
CLIENT_LIMITED_GRANTS = frozenset({"refresh_token", "client_credentials"})
"""The grants an app's own code can repeat in a loop, limited per client
(``rate_limit_client``). An authorization code is exchanged once per sign-in, so its
exchanges are bounded by sign-ins: a limit per app would refuse a popular app's students on
a school morning (every student of a district signs in to the same few apps at once)."""


def token_request(
    ctx: OidcContext, form: Mapping[str, str], authorization: str | None
) -> dict[str, Any]:
    """Authenticate the client (RFC 6749 §3.2.1), then run the grant it asks for."""
    app, _method = authenticate_client(ctx, form, authorization, ctx.endpoints.token)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"unsupported grant_type {grant_type[:40]!r}")
    if ctx.limiter is not None and grant_type in CLIENT_LIMITED_GRANTS:
        # Counted after authentication, so nobody can spend another client's budget.
        ctx.limiter.admit("client", app.id)  # RateLimited: 429 + Retry-After
    body = grant(ctx, app, form)
    TOKENS_ISSUED.labels(grant=grant_type).inc()
    return body
