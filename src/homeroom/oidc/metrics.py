"""Prometheus metrics of the OpenID Provider.

``LOGINS`` and ``OIDC_ERRORS`` are defined once in ``homeroom.ops.metrics`` (the catalogue
of every metric) and re-exported here: registering the same name twice fails at import.
"""

from __future__ import annotations

from prometheus_client import Counter

from homeroom.ops.metrics import LOGINS, OIDC_ERRORS

__all__ = ["BACKCHANNEL_LOGOUTS", "LOGINS", "OIDC_ERRORS", "TOKENS_ISSUED"]

TOKENS_ISSUED = Counter(
    "homeroom_oidc_tokens_issued_total", "Token responses by grant type", ["grant_type"]
)
BACKCHANNEL_LOGOUTS = Counter(
    "homeroom_oidc_backchannel_logouts_total", "Back-channel logout deliveries", ["outcome"]
)
