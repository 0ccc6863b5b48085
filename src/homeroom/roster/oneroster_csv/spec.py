"""The columns of each imported file (OneRoster 1.1 CSV binding §2, 1.2 CSV binding §3).

Each column has a kind that says how a raw cell becomes a value, whether it is required
(per version), and, for references, which kind of record it must name. Converters raise
``ValueError`` with the reason; the reader turns that into an issue with the location.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FILES", "Col", "converter"]

BOTH = ("1.1", "1.2")

STATUS = ("active", "tobedeleted")
ORG_TYPES = ("department", "school", "district", "local", "state", "national")
SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")
CLASS_TYPES = ("homeroom", "scheduled")
USER_ROLES = (
    "administrator",
    "aide",
    "guardian",
    "parent",
    "proctor",
    "relative",
    "student",
    "teacher",
    # OneRoster 1.2 additions
    "districtAdministrator",
    "siteAdministrator",
    "systemAdministrator",
    "principal",
    "counselor",
    "extAdministrator",
)
ROLE_TYPES = ("primary", "secondary")
SEXES = ("male", "female", "other", "unspecified")
MAX_ID = 255


@dataclass(frozen=True, slots=True)
class Col:
    """One column: ``kind`` is id, str, date, datetime, bool, enum, list, refs or year;
    ``ref`` names the kind of record a reference must point to."""

    name: str
    kind: str = "str"
    required: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()
    ref: str | None = None
    max: int = 255


def _id(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if len(value) > MAX_ID:
        raise ValueError(f"identifier longer than {MAX_ID} characters")
    return sys.intern(value)


def _str(raw: str) -> str | None:
    value = raw.strip()
    return value or None


def _bounded(limit: int) -> Callable[[str], str | None]:
    def convert(raw: str) -> str | None:
        value = raw.strip()
        if len(value) > limit:
            raise ValueError(f"longer than {limit} characters")
        return value or None

    return convert


def _date(raw: str) -> dt.date | None:
    value = raw.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"bad date {value!r}: expected YYYY-MM-DD") from None


def _datetime(raw: str) -> dt.datetime | None:
    value = raw.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"bad date-time {value!r}: expected ISO 8601") from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


_BOOLS = {
    "": None,
    "true": True,
    "false": False,
    "TRUE": True,
    "FALSE": False,
    "True": True,
    "False": False,
}


def _bool(raw: str) -> bool | None:
    try:
        return _BOOLS[raw]
    except KeyError:
        pass
    value = raw.strip().lower()
    if value in _BOOLS:
        return _BOOLS[value]
    raise ValueError(f"bad boolean {raw.strip()!r}: expected true or false")


def _list(raw: str) -> tuple[str, ...]:
    return tuple(sys.intern(p.strip()) for p in raw.split(",") if p.strip())


def _refs(raw: str) -> tuple[str, ...]:
    values = _list(raw)
    for value in values:
        if len(value) > MAX_ID:
            raise ValueError(f"identifier longer than {MAX_ID} characters")
    return values


def _year(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if len(value) != 4 or not value.isdigit():
        raise ValueError(f"bad school year {value!r}: expected YYYY")
    return value


def _enum(values: tuple[str, ...]) -> Callable[[str], str | None]:
    canonical = {v.lower(): v for v in values}

    def convert(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        try:
            return canonical[value.lower()]
        except KeyError:
            raise ValueError(f"{value!r} is not one of {', '.join(values)}") from None

    return convert


_KINDS: dict[str, Callable[[str], Any]] = {
    "id": _id,
    "str": _str,
    "date": _date,
    "datetime": _datetime,
    "bool": _bool,
    "list": _list,
    "refs": _refs,
    "year": _year,
}


def _required_id(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("required value is missing")
    if len(value) > MAX_ID:
        raise ValueError(f"identifier longer than {MAX_ID} characters")
    return sys.intern(value)


def _required_enum(values: tuple[str, ...]) -> Callable[[str], str]:
    canonical = {v.lower(): v for v in values} | {v: v for v in values}

    def convert(raw: str) -> str:
        try:
            return canonical[raw]
        except KeyError:
            pass
        value = raw.strip()
        if not value:
            raise ValueError("required value is missing")
        try:
            return canonical[value.lower()]
        except KeyError:
            raise ValueError(f"{value!r} is not one of {', '.join(values)}") from None

    return convert


def converter(col: Col, version: str) -> Callable[[str], Any]:
    """The cell converter for ``col``, raising ``ValueError`` when a required cell is blank.
    (Required ids and enums, the bulk of a large file, have direct converters.)"""
    is_required = version in col.required
    if is_required and col.kind == "id":
        return _required_id
    if is_required and col.kind == "enum":
        return _required_enum(col.enum)
    base = _enum(col.enum) if col.kind == "enum" else _KINDS[col.kind]
    if col.kind == "str":
        base = _bounded(col.max)
    if not is_required:
        return base

    def required(raw: str) -> Any:
        value = base(raw)
        if not value and value is not False:  # None, "" or an empty list
            raise ValueError("required value is missing")
        return value

    return required


def _common() -> tuple[Col, ...]:
    return (
        Col("sourcedId", "id", BOTH),
        Col("status", "enum", enum=STATUS),
        Col("dateLastModified", "datetime"),
    )


_BOOL_DEMOGRAPHICS = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
)

FILES: dict[str, tuple[Col, ...]] = {
    "orgs": (
        *_common(),
        Col("name", "str", BOTH),
        Col("type", "enum", BOTH, ORG_TYPES),
        Col("identifier"),
        Col("parentSourcedId", "id", ref="orgs"),
    ),
    "academicSessions": (
        *_common(),
        Col("title", "str", BOTH),
        Col("type", "enum", BOTH, SESSION_TYPES),
        Col("startDate", "date", BOTH),
        Col("endDate", "date", BOTH),
        Col("parentSourcedId", "id", ref="academicSessions"),
        Col("schoolYear", "year", BOTH),
    ),
    "courses": (
        *_common(),
        Col("schoolYearSourcedId", "id", ref="academicSessions"),
        Col("title", "str", BOTH),
        Col("courseCode"),
        Col("grades", "list"),
        Col("orgSourcedId", "id", BOTH, ref="orgs"),
        Col("subjects", "list"),
        Col("subjectCodes", "list"),
    ),
    "classes": (
        *_common(),
        Col("title", "str", BOTH),
        Col("grades", "list"),
        Col("courseSourcedId", "id", BOTH, ref="courses"),
        Col("classCode"),
        Col("classType", "enum", BOTH, CLASS_TYPES),
        Col("location"),
        Col("schoolSourcedId", "id", BOTH, ref="schools"),
        Col("termSourcedIds", "refs", BOTH, ref="academicSessions"),
        Col("subjects", "list"),
        Col("subjectCodes", "list"),
        Col("periods", "list"),
    ),
    "users": (
        *_common(),
        Col("enabledUser", "bool", BOTH),
        Col("orgSourcedIds", "refs", ("1.1",), ref="orgs"),
        Col("role", "enum", ("1.1",), USER_ROLES),
        Col("username", "str", BOTH),
        Col("userIds", "str", max=100_000),
        Col("givenName", "str", BOTH),
        Col("familyName", "str", BOTH),
        Col("middleName"),
        Col("identifier"),
        Col("email"),
        Col("sms", max=64),
        Col("phone", max=64),
        Col("agentSourcedIds", "refs", ref="users"),
        Col("grades", "list"),
        Col("password", max=100_000),
        Col("preferredGivenName"),
    ),
    "roles": (
        *_common(),
        Col("userSourcedId", "id", BOTH, ref="users"),
        Col("roleType", "enum", BOTH, ROLE_TYPES),
        Col("role", "enum", BOTH, USER_ROLES),
        Col("beginDate", "date"),
        Col("endDate", "date"),
        Col("orgSourcedId", "id", BOTH, ref="orgs"),
        Col("userProfileSourcedId", "id"),
    ),
    "demographics": (
        *_common(),
        Col("birthDate", "date"),
        Col("sex", "enum", enum=SEXES),
        *(Col(name, "bool") for name in _BOOL_DEMOGRAPHICS),
        Col("countryOfBirthCode"),
        Col("stateOfBirthAbbreviation"),
        Col("cityOfBirth"),
        Col("publicSchoolResidenceStatus"),
    ),
    "enrollments": (
        *_common(),
        Col("classSourcedId", "id", BOTH, ref="classes"),
        Col("schoolSourcedId", "id", BOTH, ref="schools"),
        Col("userSourcedId", "id", BOTH, ref="users"),
        Col("role", "enum", BOTH, USER_ROLES),
        Col("primary", "bool"),
        Col("beginDate", "date"),
        Col("endDate", "date"),
    ),
}
