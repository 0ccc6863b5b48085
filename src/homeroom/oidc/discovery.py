"""Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2.

Every value advertised here is implemented and covered by ``tests/oidc/test_discovery.py``.
The same document answers ``/.well-known/openid-configuration`` and
``/.well-known/oauth-authorization-server`` (RFC 8414 §3: the issuer has no path).
"""

from __future__ import annotations

from typing import Any

from homeroom.oidc.authorize import PROMPTS
from homeroom.oidc.claims import CLAIMS_SUPPORTED, USER_SCOPES
from homeroom.oidc.client_auth import ASSERTION_ALGS, AUTH_METHODS
from homeroom.oidc.context import Endpoints
from homeroom.oidc.keys import ALGORITHMS
from homeroom.oidc.token_endpoint import GRANT_TYPES, SERVICE_SCOPES

__all__ = ["metadata"]


def metadata(issuer: str) -> dict[str, Any]:
    e = Endpoints(issuer)
    secret_methods = [m for m in AUTH_METHODS if m != "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": e.authorization,
        "token_endpoint": e.token,
        "userinfo_endpoint": e.userinfo,
        "jwks_uri": e.jwks,
        "end_session_endpoint": e.end_session,
        "introspection_endpoint": e.introspection,
        "revocation_endpoint": e.revocation,
        "scopes_supported": [*USER_SCOPES, *SERVICE_SCOPES],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "introspection_endpoint_auth_methods_supported": secret_methods,
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": list(PROMPTS),
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
    }
