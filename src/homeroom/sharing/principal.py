"""Who is calling an API: an app acting for one district, maybe for one user.

The one Principal type of Homeroom: the OpenID Provider builds it from a verified access
token (``homeroom.oidc.bearer``), the roster and usage APIs read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """From a verified access token. ``subject`` None: a district token from
    ``client_credentials`` (reads what the connection shares); a user id: the user's own
    token, which reaches only ``/me``-style calls. ``jti`` and ``exp`` identify the token
    (revocation, per-token rate limits)."""

    client_id: str
    district_id: str
    subject: str | None = None
    scopes: frozenset[str] = frozenset()
    jti: str = ""
    exp: int = 0

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
