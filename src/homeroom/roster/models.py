"""Roster records as plain dataclasses (no framework, no ORM)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["District", "Enrollment", "Role", "School", "Section", "User", "valid_slug"]

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def valid_slug(slug: str) -> bool:
    """Lower-case letters, digits and inner hyphens; used in portal URLs."""
    return bool(_SLUG.match(slug))


class Role(StrEnum):
    """Roles from OneRoster, plus Homeroom's administrators."""

    STUDENT = "student"
    TEACHER = "teacher"
    STAFF = "staff"
    DISTRICT_ADMIN = "district_admin"
    SCHOOL_ADMIN = "school_admin"
    GUARDIAN = "guardian"


@dataclass(frozen=True, slots=True)
class District:
    id: str
    slug: str
    name: str
    settings: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class School:
    district_id: str
    id: str
    name: str
    sourced_id: str | None = None
    school_number: str | None = None
    status: str = "active"
    synced_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class User:
    district_id: str
    id: str
    role: Role
    username: str
    given_name: str
    family_name: str
    email: str | None = None
    grade: str | None = None
    sourced_id: str | None = None
    status: str = "active"
    school_ids: tuple[str, ...] = field(default_factory=tuple)
    synced_at: dt.datetime | None = None

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True, slots=True)
class Section:
    district_id: str
    id: str
    school_id: str
    title: str
    subject: str | None = None
    grade: str | None = None
    period: str | None = None
    sourced_id: str | None = None
    status: str = "active"
    synced_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Enrollment:
    district_id: str
    id: str
    section_id: str
    user_id: str
    role: Role
    sourced_id: str | None = None
    status: str = "active"
