"""Prometheus metrics of the OpenID Provider."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["BACKCHANNEL_LOGOUTS", "LOGINS", "OIDC_ERRORS", "TOKENS_ISSUED"]

TOKENS_ISSUED = Counter(
    "homeroom_oidc_tokens_issued_total", "Token responses by grant type", ["grant_type"]
)
OIDC_ERRORS = Counter(
    "homeroom_oidc_errors_total",
    "OAuth/OIDC error responses by endpoint and code",
    ["endpoint", "error"],
)
LOGINS = Counter(
    "homeroom_logins_total", "Sign-in attempts by method and outcome", ["method", "outcome"]
)
BACKCHANNEL_LOGOUTS = Counter(
    "homeroom_oidc_backchannel_logouts_total", "Back-channel logout deliveries", ["outcome"]
)
