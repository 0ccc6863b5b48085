"""Rows the storage tests and benchmarks build by hand (the product builds them in
``oidc.refresh.issue_refresh_token``)."""

from __future__ import annotations

import datetime as dt

from homeroom.storage.sql.repos_oidc import RefreshTokenRow
from homeroom.storage.sql.types import utcnow


def refresh_token_row(
    district_id: str,
    user_id: str,
    token_hash: str,
    *,
    client_id: str = "app_x",
    family_id: str = "family",
    now: dt.datetime | None = None,
    ttl: dt.timedelta = dt.timedelta(hours=1),
) -> RefreshTokenRow:
    """A live refresh token (not rotated, not revoked) of ``user_id``, scope ``openid``."""
    now = utcnow() if now is None else now
    return RefreshTokenRow(
        district_id=district_id,
        token_hash=token_hash,
        family_id=family_id,
        client_id=client_id,
        user_id=user_id,
        scope="openid",
        sid=None,
        auth_time=None,
        access_jti=None,
        created_at=now,
        expires_at=now + ttl,
    )
