"""Prometheus metrics of the OpenID Provider.

The shared series (logins, OIDC errors, tokens issued) are declared once in
``homeroom.ops.metrics`` and re-exported here; only provider-specific ones live here.
"""

from __future__ import annotations

from prometheus_client import Counter

from homeroom.ops.metrics import LOGINS, OIDC_ERRORS, TOKENS_ISSUED

__all__ = ["BACKCHANNEL_LOGOUTS", "LOGINS", "OIDC_ERRORS", "TOKENS_ISSUED"]

BACKCHANNEL_LOGOUTS = Counter(
    "homeroom_oidc_backchannel_logouts_total", "Back-channel logout deliveries", ["outcome"]
)
