"""The UserInfo endpoint: OIDC Core §5.3, with bearer tokens per RFC 6750.

"The Claims in the UserInfo Response are returned for the End-User identified by the
Access Token" and only those its scope asks for and the district shares with the app. A
district that disconnected the app since the token was issued gets ``invalid_token``.
"""

from __future__ import annotations

from typing import Any

from homeroom.oidc.bearer import Principal
from homeroom.oidc.claims import user_claims
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InsufficientScope, InvalidToken
from homeroom.storage.sql.types import utcnow

__all__ = ["userinfo"]


def userinfo(ctx: OidcContext, principal: Principal) -> dict[str, Any]:
    if principal.subject is None or not principal.has_scope("openid"):
        raise InsufficientScope("the access token lacks the openid scope", scope="openid")
    connection = ctx.clients.connection(principal.district_id, principal.client_id)
    if connection is None or not connection.active(utcnow()):
        raise InvalidToken("the app is no longer connected to this district")
    user, shared = ctx.sign_in_check.active_shared(
        principal.district_id, principal.subject, principal.client_id, connection
    )
    if user is None:
        raise InvalidToken("the user is not active")
    # Every claim goes through the connection's filter: a user the app no longer may see
    # gets no claims at all (not even ``sub``).
    if not shared:
        raise InvalidToken("the user is not shared with this app")
    return user_claims(user, connection, principal.scopes)
