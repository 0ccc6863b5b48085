"""OAuth 2.0 / OpenID Connect protocol errors: one class per wire error code.

::

    OAuthError                          base: renders JSON (+ WWW-Authenticate) or a redirect
    ├── InvalidRequest                  RFC 6749 §4.1.2.1, §5.2
    ├── InvalidClient                   RFC 6749 §5.2 (401)
    ├── InvalidGrant                    RFC 6749 §5.2
    ├── UnauthorizedClient              RFC 6749 §4.1.2.1, §5.2
    ├── UnsupportedGrantType            RFC 6749 §5.2
    ├── UnsupportedResponseType         RFC 6749 §4.1.2.1
    ├── InvalidScope                    RFC 6749 §4.1.2.1, §5.2
    ├── AccessDenied                    RFC 6749 §4.1.2.1
    ├── ServerError                     RFC 6749 §4.1.2.1 (500)
    ├── TemporarilyUnavailable          RFC 6749 §4.1.2.1 (503)
    ├── LoginRequired                   OpenID Connect Core §3.1.2.6
    ├── InteractionRequired             OpenID Connect Core §3.1.2.6
    ├── InvalidToken                    RFC 6750 §3.1 (401)
    ├── InsufficientScope               RFC 6750 §3.1 (403)
    └── UnsupportedTokenType            RFC 7009 §2.2.1

Errors the authorization endpoint cannot safely redirect (unknown client, unregistered
redirect URI) are :class:`InvalidRequest`/:class:`InvalidClient` raised with
``redirectable=False``; the web layer renders them as a page.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = [
    "AccessDenied",
    "InsufficientScope",
    "InteractionRequired",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "LoginRequired",
    "OAuthError",
    "ServerError",
    "TemporarilyUnavailable",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "UnsupportedTokenType",
]


class OAuthError(Exception):
    """Base of every protocol error. ``error`` is the wire code, ``description`` is safe to
    show to the client developer (never secrets, never internals)."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(
        self,
        description: str = "",
        *,
        redirectable: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description or self.error)
        self.description = description
        self.redirectable = redirectable
        self.extra_headers = dict(headers or {})
        # Set by the authorization endpoint once the redirect URI is known to be registered.
        self.redirect_to: str | None = None
        self.state: str | None = None

    def body(self) -> dict[str, str]:
        data = {"error": self.error}
        if self.description:
            data["error_description"] = self.description
        return data

    def headers(self) -> dict[str, str]:
        """RFC 6749 §5.1/§5.2: error responses are never cached."""
        return {"Cache-Control": "no-store", "Pragma": "no-cache", **self.extra_headers}

    def redirect_uri(self, redirect_uri: str, state: str | None, issuer: str) -> str:
        """RFC 6749 §4.1.2.1: the error in the query of the redirect URI, with ``state``;
        RFC 9207 §2: and the ``iss`` of the authorization server."""
        params: dict[str, Any] = self.body()
        if state is not None:
            params["state"] = state
        params["iss"] = issuer
        return add_query(redirect_uri, params)


def add_query(uri: str, params: dict[str, Any]) -> str:
    """Append parameters to a URI that may already have a query (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    query = urlencode(params)
    query = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2: "The request is missing a required parameter, includes an unsupported
    parameter value (other than grant type), repeats a parameter, includes multiple
    credentials, utilizes more than one mechanism for authenticating the client, or is
    otherwise malformed." """

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: "Client authentication failed (e.g., unknown client, no client
    authentication included, or unsupported authentication method). [...] If the client
    attempted to authenticate via the "Authorization" request header field, the
    authorization server MUST respond with an HTTP 401 (Unauthorized) status code and
    include the "WWW-Authenticate" response header field." We always answer 401 with the
    header, which RFC 6749 permits for every case."""

    error = "invalid_client"
    status_code = 401

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": 'Basic realm="homeroom"'}


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2: "The provided authorization grant (e.g., authorization code, resource
    owner credentials) or refresh token is invalid, expired, revoked, does not match the
    redirection URI used in the authorization request, or was issued to another client." """

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: "The authenticated client is not authorized to use this authorization
    grant type." """

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2: "The authorization grant type is not supported by the authorization
    server." """

    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1: "The authorization server does not support obtaining an
    authorization code using this method." """

    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2: "The requested scope is invalid, unknown, malformed, or exceeds the
    scope granted by the resource owner." """

    error = "invalid_scope"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1: "The resource owner or authorization server denied the request."
    Homeroom: the user's district has not connected this app, or not for this role."""

    error = "access_denied"
    status_code = 403


class ServerError(OAuthError):
    """RFC 6749 §4.1.2.1: "The authorization server encountered an unexpected condition that
    prevented it from fulfilling the request." Homeroom never *redirects* with this code:
    a server failure is a 5xx and a metric, so that a broken login pages someone."""

    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1: "The authorization server is currently unable to handle the
    request due to a temporary overloading or maintenance of the server." """

    error = "temporarily_unavailable"
    status_code = 503


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: "The Authorization Server requires End-User
    authentication. This error MAY be returned when the prompt parameter value in the
    Authentication Request is none, but the Authentication Request cannot be completed
    without displaying a user interface for End-User authentication." """

    error = "login_required"


class InteractionRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: "The Authorization Server requires End-User interaction
    of some form to proceed." """

    error = "interaction_required"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: "The access token provided is expired, revoked, malformed, or invalid
    for other reasons. The resource SHOULD respond with the HTTP 401 (Unauthorized) status
    code." """

    error = "invalid_token"
    status_code = 401

    def headers(self) -> dict[str, str]:
        challenge = f'Bearer realm="homeroom", error="{self.error}"'
        if self.description:
            challenge += f', error_description="{_quote(self.description)}"'
        return {**super().headers(), "WWW-Authenticate": challenge}


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: "The request requires higher privileges than provided by the access
    token. The resource server SHOULD respond with the HTTP 403 (Forbidden) status code and
    MAY include the "scope" attribute with the scope necessary to access the protected
    resource." """

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str = "", *, scope: str = "") -> None:
        super().__init__(description)
        self.scope = scope

    def headers(self) -> dict[str, str]:
        challenge = f'Bearer realm="homeroom", error="{self.error}"'
        if self.scope:
            challenge += f', scope="{_quote(self.scope)}"'
        return {**super().headers(), "WWW-Authenticate": challenge}


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1: "The authorization server does not support the revocation of the
    presented token type." """

    error = "unsupported_token_type"


def _quote(value: str) -> str:
    """RFC 6750 §3: attribute values are quoted-strings; keep them to safe characters."""
    return "".join(c for c in value if c not in '"\\' and 0x20 <= ord(c) < 0x7F)
