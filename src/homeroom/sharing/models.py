"""Apps (OAuth clients, global) and their connections to districts (tenant data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["App", "Connection", "FieldGroup", "ScopeMode"]


class ScopeMode(StrEnum):
    """What part of a district a connection shares."""

    DISTRICT = "district"
    SCHOOLS = "schools"
    SECTIONS = "sections"
    RULES = "rules"


class FieldGroup(StrEnum):
    """Field sets an app may read; nothing beyond ``basic`` unless granted."""

    BASIC = "basic"
    EMAIL = "email"
    DEMOGRAPHICS = "demographics"
    GUARDIANS = "guardians"


@dataclass(frozen=True, slots=True)
class App:
    """A learning app, registered once, usable by every district that connects it."""

    id: str
    name: str
    public: bool
    token_endpoint_auth_method: str
    redirect_uris: tuple[str, ...]
    client_secret_hash: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    initiate_login_uri: str | None = None
    backchannel_logout_uri: str | None = None
    id_token_signed_response_alg: str = "ES256"  # noqa: S105 (an algorithm name)
    jwks: dict[str, Any] | None = None
    icon_url: str | None = None
    status: str = "active"
    created_at: dt.datetime | None = None

    @property
    def client_id(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class Connection:
    """A district's decision to use an app, and what that app may see."""

    district_id: str
    app_id: str
    status: str = "active"
    scope_mode: ScopeMode = ScopeMode.DISTRICT
    school_ids: tuple[str, ...] = ()
    section_ids: tuple[str, ...] = ()
    rules: tuple[dict[str, Any], ...] = ()
    field_groups: tuple[FieldGroup, ...] = (FieldGroup.BASIC,)
    roles_allowed: tuple[str, ...] = ("student", "teacher")
    expires_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = field(default=None, compare=False)

    def active(self, now: dt.datetime) -> bool:
        return self.status == "active" and (self.expires_at is None or self.expires_at > now)
