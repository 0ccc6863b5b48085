"""The client_credentials grant: RFC 6749 §4.4, for server-to-server APIs (roster, usage).

A token names one district the app is connected to (``district`` = the district's slug;
optional when the app has exactly one connection) and has no user (RFC 9068 §2.2: ``sub``
is the client_id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeroom.audit.group_commit import appender_for
from homeroom.audit.models import AuditEvent
from homeroom.oidc.context import OidcContext
from homeroom.oidc.errors import InvalidRequest, InvalidScope, UnauthorizedClient
from homeroom.oidc.responses import bearer_response
from homeroom.oidc.tokens import TokenSigner
from homeroom.sharing.models import App
from homeroom.storage.sql.types import utcnow

__all__ = ["DEFAULT_SERVICE_SCOPE", "SERVICE_SCOPES", "client_credentials_grant"]

SERVICE_SCOPES = ("roster.read", "usage.write")
"""Scopes for client_credentials tokens (the roster and usage APIs)."""
DEFAULT_SERVICE_SCOPE = "roster.read"


def client_credentials_grant(ctx: OidcContext, app: App, form: Mapping[str, str]) -> dict[str, Any]:
    # RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential
    # clients."
    if app.public:
        raise UnauthorizedClient("public clients may not use client_credentials")
    requested = form.get("scope")
    scopes = requested.split() if requested is not None else [DEFAULT_SERVICE_SCOPE]
    if not scopes or not set(scopes) <= set(SERVICE_SCOPES):
        raise InvalidScope(f"client_credentials scopes: {' '.join(SERVICE_SCOPES)}")
    slug = form.get("district")
    if slug is not None:
        district = ctx.clients.district_by_slug(slug)
        district_id = district.id if district is not None else None
    else:
        connected = ctx.clients.connected_districts(app.id)
        if len(connected) != 1:
            raise InvalidRequest(
                "district (a district slug) is required: the app is connected to "
                f"{len(connected)} districts"
            )
        district_id = connected[0]
    connection = None if district_id is None else ctx.clients.connection(district_id, app.id)
    if district_id is None or connection is None or not connection.active(utcnow()):
        raise UnauthorizedClient("the app is not connected to this district")
    scope = " ".join(dict.fromkeys(scopes))
    # Data-access audit: an app token is the key to bulk reads of this district's roster.
    # Group-committed on the event loop: the response waits for the batch's commit.
    appender_for(ctx.db).append(
        district_id,
        AuditEvent(
            actor=f"app:{app.id}",
            action="app.token",
            target_type="connection",
            target_id=app.id,
            detail={"grant": "client_credentials", "scope": scope},
        ),
    )
    access, _jti, _exp = TokenSigner(ctx.issuer, ctx.keys).access_token(
        client_id=app.id,
        district_id=district_id,
        subject=None,
        scope=scope,
        ttl_s=ctx.lifetimes.access_token,
    )
    return bearer_response(access, ctx.lifetimes.access_token, scope)
