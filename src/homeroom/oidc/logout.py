"""Logout: OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.

RP-initiated (§2, §3): the RP sends the browser to ``end_session_endpoint`` with
``id_token_hint``, ``post_logout_redirect_uri`` and ``state``. The hint is verified with our
keys (an expired hint is accepted: "the OP [...] SHOULD accept ID Tokens when the RP
identified by the ID Token's aud claim [...] has a current session"). A
``post_logout_redirect_uri`` is honoured only if it is registered, exactly, for the client
named by the hint or ``client_id`` — never an open redirect. Without a hint matching the
signed-in user, the user is asked to confirm (§2: the OP "SHOULD ask the End-User whether
to log out").

Back-channel (§2.4-2.6): every app that received tokens in the session and registered a
``backchannel_logout_uri`` gets a Logout Token: a JWT with ``typ`` "logout+jwt", ``iss``,
``aud``, ``iat``, ``exp``, ``jti``, ``sub``, ``sid`` and the back-channel ``events`` claim,
and no ``nonce``. Delivery is a form POST with a short timeout, off the request path.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from joserfc.errors import JoseError

from homeroom.identity.sessions import Session
from homeroom.oidc.authorize import session_sid
from homeroom.oidc.bearer import ALLOWED_ALGS
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidRequest, add_query
from homeroom.oidc.tokens import TokenSigner, new_jti
from homeroom.ops.metrics import BACKCHANNEL_LOGOUTS
from homeroom.sharing.models import App

__all__ = ["BACKCHANNEL_EVENT", "LogoutRequest", "parse_logout_request", "send_backchannel"]

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
log = structlog.get_logger("homeroom.oidc.logout")


@dataclass(frozen=True)
class LogoutRequest:
    client: App | None
    hint_sub: str | None
    hint_sid: str | None
    post_logout_redirect_uri: str | None
    state: str | None

    def confirmed_by_hint(self, session: Session | None) -> bool:
        """True when the hint names the signed-in user: log out without asking."""
        if session is None:
            return True  # nothing to end; just continue the redirect
        return self.hint_sub == session.user_id

    def redirect_url(self) -> str | None:
        if self.post_logout_redirect_uri is None:
            return None
        params = {} if self.state is None else {"state": self.state}
        return (
            add_query(self.post_logout_redirect_uri, params)
            if params
            else (self.post_logout_redirect_uri)
        )


def parse_logout_request(ctx: OidcContext, pairs: Sequence[tuple[str, str]]) -> LogoutRequest:
    """Validate a logout request; errors are shown as a page, never redirected."""
    params = dict(pairs)
    client: App | None = None
    hint_sub = hint_sid = None
    hint = params.get("id_token_hint")
    if hint:
        claims = _verify_hint(ctx, hint)
        aud = claims.get("aud")
        aud_id = aud[0] if isinstance(aud, list) and aud else aud
        client = ctx.clients.app(str(aud_id))
        hint_sub = str(claims.get("sub")) if claims.get("sub") else None
        hint_sid = str(claims.get("sid")) if claims.get("sid") else None
    client_id = params.get("client_id")
    if client_id:
        if client is not None and client.id != client_id:
            raise InvalidRequest("client_id does not match id_token_hint", redirectable=False)
        client = client or ctx.clients.app(client_id)
        if client is None:
            raise InvalidRequest("unknown client_id", redirectable=False)
    redirect = params.get("post_logout_redirect_uri")
    if redirect:
        if client is None:
            raise InvalidRequest(
                "post_logout_redirect_uri needs id_token_hint or client_id", redirectable=False
            )
        if redirect not in client.post_logout_redirect_uris:
            raise InvalidRequest(
                "post_logout_redirect_uri is not registered for this client", redirectable=False
            )
    return LogoutRequest(client, hint_sub, hint_sid, redirect or None, params.get("state"))


def _verify_hint(ctx: OidcContext, hint: str) -> dict[str, Any]:
    try:
        token = ctx.keys.decode(hint, ALLOWED_ALGS)
    except (JoseError, ValueError):
        raise InvalidRequest("id_token_hint is not a valid ID token", redirectable=False) from None
    if token.claims.get("iss") != ctx.issuer or token.header.get("typ") == "at+jwt":
        raise InvalidRequest(
            "id_token_hint is not an ID token from this issuer", redirectable=False
        )
    return dict(token.claims)


def logout_token(ctx: OidcContext, app: App, session: Session) -> str:
    now = int(time.time())
    claims = {
        "iss": ctx.issuer,
        "aud": app.id,
        "iat": now,
        "exp": now + ctx.lifetimes.logout_token,
        "jti": new_jti(),
        "sub": session.user_id,
        "sid": session_sid(session.id),
        "events": {BACKCHANNEL_EVENT: {}},
    }
    signer = TokenSigner(ctx.issuer, ctx.keys)
    return signer.sign(claims, app.id_token_signed_response_alg, "logout+jwt")


def send_backchannel(ctx: OidcContext, session: Session, timeout_s: float = 2.0) -> int:
    """Deliver Logout Tokens to the session's apps; returns how many were accepted.
    §2.8: the RP answers 200 (or 204); anything else is a failed delivery, counted."""
    delivered = 0
    targets = [
        app
        for app in (ctx.clients.app(client_id) for client_id in session.apps)
        if app is not None and app.backchannel_logout_uri
    ]
    if not targets:
        return 0
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as http:
        for app in targets:
            assert app.backchannel_logout_uri is not None
            try:
                response = http.post(
                    app.backchannel_logout_uri,
                    data={"logout_token": logout_token(ctx, app, session)},
                    headers={"Cache-Control": "no-store"},
                )
                ok = response.status_code in (200, 204)
            except httpx.HTTPError as exc:
                log.warning("backchannel_logout_failed", client_id=app.id, error=str(exc))
                ok = False
            BACKCHANNEL_LOGOUTS.labels(outcome="ok" if ok else "failed").inc()
            delivered += ok
    return delivered
