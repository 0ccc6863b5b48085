"""SQL repositories of the OpenID Provider: refresh tokens and sign-in users (tenant)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.engine import Row

from homeroom.errors import TenantScopeError
from homeroom.roster.models import Role, User
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql import tables as roster
from homeroom.storage.sql import tables_oidc as t
from homeroom.storage.sql.visibility import Visibility

__all__ = [
    "RefreshTokenRow",
    "RotatedGrant",
    "SqlRefreshTokens",
    "SqlSignInUsers",
]


@dataclass(frozen=True, slots=True)
class RefreshTokenRow:
    district_id: str
    token_hash: str
    family_id: str
    client_id: str
    user_id: str
    scope: str
    sid: str | None
    auth_time: int | None
    access_jti: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    rotated_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RotatedGrant:
    """A refresh token just rotated, with its user (None when gone) and whether the
    sharing policy asked lets the app see that user."""

    row: RefreshTokenRow
    user: User | None
    shared: bool


_rt = t.refresh_tokens
# The statements of a refresh grant, built once with bound parameters: building them per
# call (column operators, cache keys) cost about as much as running them.
_RT_INSERT = insert(_rt)
_RT_FIND = select(_rt).where(
    _rt.c.district_id == bindparam("d"), _rt.c.token_hash == bindparam("h")
)
_RT_ROTATE = (
    update(_rt)
    .where(
        _rt.c.district_id == bindparam("d"),
        _rt.c.token_hash == bindparam("h"),
        _rt.c.rotated_at.is_(None),
        _rt.c.revoked_at.is_(None),
    )
    .values(rotated_at=bindparam("at"))
)
_RT_ROTATE_RETURNING = _RT_ROTATE.returning(*_rt.c)


class SqlRefreshTokens:
    """Tenant repository: every statement carries the unit of work's district."""

    def __init__(self, conn: SqlConnection, district_id: str | None) -> None:
        if district_id is None:
            raise TenantScopeError("SqlRefreshTokens used outside a TenantScope")
        self.conn = conn
        self.district_id = district_id

    @property
    def _mine(self) -> ColumnElement[bool]:
        # Built on use: only the rare statements below need it, and building it for every
        # unit of work cost a tenth of a refresh grant.
        return t.refresh_tokens.c.district_id == self.district_id

    def add(self, row: RefreshTokenRow) -> None:
        values = {k: getattr(row, k) for k in RefreshTokenRow.__slots__}
        values["district_id"] = self.district_id
        # Values as parameters: one compiled statement reused, not a new one per token.
        self.conn.execute(_RT_INSERT, values)

    def find(self, token_hash: str) -> RefreshTokenRow | None:
        row = self.conn.execute(_RT_FIND, {"d": self.district_id, "h": token_hash}).first()
        return None if row is None else _refresh(row)

    def mark_rotated(self, token_hash: str, at: dt.datetime) -> bool:
        """Compare-and-set: True only for the one caller that rotated a live token."""
        result = self.conn.execute(_RT_ROTATE, {"d": self.district_id, "h": token_hash, "at": at})
        return bool(result.rowcount == 1)

    def rotate(self, token_hash: str, at: dt.datetime) -> RefreshTokenRow | None:
        """:meth:`mark_rotated` returning the row it rotated (UPDATE … RETURNING, one
        statement on the success path); None when no live token matched."""
        row = self.conn.execute(
            _RT_ROTATE_RETURNING, {"d": self.district_id, "h": token_hash, "at": at}
        ).first()
        return None if row is None else _refresh(row)

    def rotate_shared(
        self, token_hash: str, at: dt.datetime, policy: SharingPolicy | None
    ) -> RotatedGrant | None:
        """:meth:`rotate`, then :meth:`SqlSignInUsers.find_shared` of the token's user: a
        refresh grant's every read. None when no live token matched.

        On PostgreSQL it is one statement: the UPDATE … RETURNING as a data-modifying CTE
        joined to the user by its key, so a refresh pays one round trip fewer. SQLite has
        no DML in a CTE, and SQLAlchemy renders the columns of a RETURNING clause without
        their table, which would turn a correlated subquery's ``district_id =
        district_id`` into a tautology: there it stays two statements."""
        if self.conn.dialect.name != "postgresql":
            refresh = self.rotate(token_hash, at)
            if refresh is None:
                return None
            user, shared = SqlSignInUsers(self.conn, self.district_id).find_shared(
                refresh.user_id, policy
            )
            return RotatedGrant(refresh, user, shared)
        row = self.conn.execute(
            _rotate_shared_statement(policy), {"d": self.district_id, "h": token_hash, "at": at}
        ).first()
        if row is None:
            return None
        values = row._mapping
        refresh = RefreshTokenRow(**{k: values[k] for k in RefreshTokenRow.__slots__})
        if values["u_id"] is None:
            return RotatedGrant(refresh, None, False)
        user = _user_of({name: values[label] for name, label in _USER_LABELS})
        return RotatedGrant(refresh, user, bool(values["shared"]))

    def revoke_family(self, family_id: str, at: dt.datetime) -> list[str]:
        """Revoke every token of the family; returns the ids of the access tokens they
        were issued with, so that those can be revoked too."""
        jtis = self.conn.execute(
            select(t.refresh_tokens.c.access_jti).where(
                self._mine,
                t.refresh_tokens.c.family_id == family_id,
                t.refresh_tokens.c.access_jti.is_not(None),
            )
        )
        found = [str(j) for (j,) in jtis]
        self.conn.execute(
            update(t.refresh_tokens)
            .where(
                self._mine,
                t.refresh_tokens.c.family_id == family_id,
                t.refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return found

    def delete_expired(self, before: dt.datetime) -> int:
        result = self.conn.execute(
            delete(t.refresh_tokens).where(self._mine, t.refresh_tokens.c.expires_at < before)
        )
        return int(result.rowcount)


def _refresh(row: Row[Any]) -> RefreshTokenRow:
    return RefreshTokenRow(**row._mapping)


_USER_COLUMNS = (
    roster.users.c.district_id,
    roster.users.c.id,
    roster.users.c.role,
    roster.users.c.username,
    roster.users.c.given_name,
    roster.users.c.family_name,
    roster.users.c.email,
    roster.users.c.status,
)

# rotate_shared's user columns are labelled apart from the token's (both have district_id).
_USER_LABELS = tuple((c.name, f"u_{c.name}") for c in _USER_COLUMNS)

# The sign-in reads' statements, built once with the district and the user as bound
# parameters: building a select and its cache key on every call was 40 % of a password
# sign-in's lookup (bench/profile_flows.py password_login --no-argon2).
_FIND_USER = select(*_USER_COLUMNS).where(
    roster.users.c.district_id == bindparam("d"), roster.users.c.id == bindparam("u")
)
_CREDENTIALS = select(*_USER_COLUMNS, roster.users.c.password_hash).where(
    roster.users.c.district_id == bindparam("d"), roster.users.c.username == bindparam("n")
)


class SqlSignInUsers:
    """The one read of the instant-login hot path: a user's claims columns, one statement
    (no school memberships, no password hash)."""

    def __init__(self, conn: SqlConnection, district_id: str | None) -> None:
        if district_id is None:
            raise TenantScopeError("SqlSignInUsers used outside a TenantScope")
        self.conn = conn
        self.district_id = district_id

    def find(self, user_id: str) -> User | None:
        row = self.conn.execute(_FIND_USER, {"d": self.district_id, "u": user_id}).first()
        return None if row is None else _user(row)

    def credentials(self, username: str) -> tuple[User, str | None] | None:
        """The sign-in form's one read: a user's claims columns and password hash."""
        row = self.conn.execute(_CREDENTIALS, {"d": self.district_id, "n": username}).first()
        return None if row is None else (_user(row), row.password_hash)

    def find_shared(self, user_id: str, policy: SharingPolicy | None) -> tuple[User | None, bool]:
        """The user and whether ``policy`` lets the app see them, in the same one statement
        (the visibility condition of the roster APIs as a column)."""
        row = self.conn.execute(
            _shared_statement(policy), {"d": self.district_id, "u": user_id}
        ).first()
        return (None, False) if row is None else (_user(row), bool(row.shared))


# find_shared's and rotate_shared's statements per policy, built once with the district,
# the user and the token as bound parameters. Building the visibility condition and its
# cache key on every call was 40 % of a refresh grant. Keyed by what shapes the statement
# (never by district, user or token), each bounded.
_SHARED_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_ROTATE_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_STATEMENTS_MAX = 2_048


def _policy_key(policy: SharingPolicy | None) -> tuple[Any, ...]:
    if policy is None:
        return ()
    return (
        policy.mode,
        policy.school_ids,
        policy.section_ids,
        repr(policy.rules),
        policy.shares_guardians(),
        tuple(sorted(policy.roles)),
    )


def _remember(
    cache: dict[tuple[Any, ...], Select[Any]], key: tuple[Any, ...], statement: Select[Any]
) -> None:
    if len(cache) >= _STATEMENTS_MAX:
        cache.clear()
    cache[key] = statement


def _shared_statement(policy: SharingPolicy | None) -> Select[Any]:
    key = _policy_key(policy)
    found = _SHARED_STATEMENTS.get(key)
    if found is not None:
        return found
    shared = Visibility(policy).users()
    statement: Select[Any] = select(
        *_USER_COLUMNS, case((shared, True), else_=False).label("shared")
    ).where(roster.users.c.district_id == bindparam("d"), roster.users.c.id == bindparam("u"))
    _remember(_SHARED_STATEMENTS, key, statement)
    return statement


def _rotate_shared_statement(policy: SharingPolicy | None) -> Select[Any]:
    """PostgreSQL: the rotation's UPDATE … RETURNING as a data-modifying CTE, joined to its
    user by the user's key, with the visibility condition as a column."""
    key = _policy_key(policy)
    found = _ROTATE_STATEMENTS.get(key)
    if found is not None:
        return found
    users = roster.users
    rotated = _RT_ROTATE_RETURNING.cte("rotated")
    statement = select(
        *rotated.c,
        *(c.label(label) for c, (_, label) in zip(_USER_COLUMNS, _USER_LABELS, strict=True)),
        case((Visibility(policy).users(), True), else_=False).label("shared"),
    ).select_from(
        rotated.outerjoin(
            users, and_(users.c.district_id == bindparam("d"), users.c.id == rotated.c.user_id)
        )
    )
    _remember(_ROTATE_STATEMENTS, key, statement)
    return statement


def _user(row: Any) -> User:
    return _user_of(row._mapping)


def _user_of(row: Mapping[str, Any]) -> User:
    return User(
        district_id=row["district_id"],
        id=row["id"],
        role=Role(row["role"]),
        username=row["username"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        email=row["email"],
        status=row["status"],
    )
