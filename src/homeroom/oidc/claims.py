"""OIDC Core §5.4: scopes request claims; Homeroom also filters by what the district shares.

=================  ================================================  =====================
scope              claims                                            needs field group
=================  ================================================  =====================
``openid``         ``sub``, ``district``                             (none)
``profile``        ``name``, ``given_name``, ``family_name``,        ``basic``
                   ``role``
``email``          ``email``, ``email_verified``                     ``email``
=================  ================================================  =====================

``sub`` is the user's Homeroom id: stable and opaque (never the SIS id or the username).
``district`` is the district's Homeroom id. ``email_verified`` is true: district addresses
are issued by the district, not typed in by the user.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeroom.roster.models import User
from homeroom.sharing.models import Connection, FieldGroup

__all__ = ["CLAIMS_SUPPORTED", "USER_SCOPES", "user_claims"]

USER_SCOPES = ("openid", "profile", "email", "offline_access")
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "at_hash",
    "district",
    "role",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
)


def user_claims(user: User, connection: Connection, scopes: Iterable[str]) -> dict[str, Any]:
    """The claims about ``user`` that ``scopes`` ask for and ``connection`` shares."""
    wanted = set(scopes)
    groups = set(connection.field_groups)
    claims: dict[str, Any] = {"sub": user.id, "district": user.district_id}
    if "profile" in wanted and FieldGroup.BASIC in groups:
        claims.update(
            name=user.name,
            given_name=user.given_name,
            family_name=user.family_name,
            role=user.role.value,
        )
    if "email" in wanted and FieldGroup.EMAIL in groups and user.email:
        claims.update(email=user.email, email_verified=True)
    return claims
