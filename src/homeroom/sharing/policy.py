"""What a connection shares, as plain data: the rule every API answer, token claim and
event goes through. Framework-free; ``homeroom.storage.sql.visibility`` turns a policy
into SQL conditions for list queries.

Nothing is shared by default: no connection, an inactive or expired connection, a
``schools`` connection without schools, or a ``rules`` connection without rules all share
nothing. Sensitive field groups (demographics, guardians) are shared only when granted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from homeroom.errors import InvalidInput
from homeroom.sharing.models import Connection, FieldGroup, ScopeMode

__all__ = [
    "RECORD_TYPES",
    "RULE_KEYS",
    "SharingPolicy",
    "fields_for",
    "normalize_grade",
    "validate_rules",
]

RECORD_TYPES = (
    "district",
    "school",
    "term",
    "course",
    "section",
    "user",
    "enrollment",
    "demographics",
)
RULE_KEYS = ("grade", "school")

# Field names (Homeroom's) that each group opens, per record type. Records not listed
# (district, school, term, course, section, enrollment) are shared whole once visible.
_USER_FIELDS: dict[FieldGroup, tuple[str, ...]] = {
    FieldGroup.BASIC: (
        "id",
        "sourced_id",
        "role",
        "oneroster_role",
        "username",
        "given_name",
        "family_name",
        "middle_name",
        "identifier",
        "grade",
        "grades",
        "school_ids",
        "enabled_user",
        "status",
        "date_last_modified",
        "synced_at",
    ),
    FieldGroup.EMAIL: ("email", "sms", "phone"),
    FieldGroup.DEMOGRAPHICS: ("demographics",),
    FieldGroup.GUARDIANS: ("agent_ids",),
}


def normalize_grade(value: object) -> str:
    """``3``, ``"3"`` and ``"03"`` are the same grade (CEDS codes are two characters)."""
    text = str(value).strip()
    return text.zfill(2) if text.isdigit() else text.upper()


def validate_rules(rules: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Each rule is a dict of conditions that must all hold (``{"grade": "03", "school":
    "sch_…"}``); a student matching any rule is shared. Values may be lists (any of)."""
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or not rule:
            raise InvalidInput(f"rule {i + 1}: must be a non-empty object")
        unknown = set(rule) - set(RULE_KEYS)
        if unknown:
            raise InvalidInput(
                f"rule {i + 1}: unknown condition {sorted(unknown)[0]!r} "
                f"(allowed: {', '.join(RULE_KEYS)})"
            )
        clean: dict[str, Any] = {}
        for key, value in rule.items():
            values = value if isinstance(value, list | tuple) else [value]
            if not values or any(v in (None, "") for v in values):
                raise InvalidInput(f"rule {i + 1}: {key} needs a value")
            if key == "grade":
                clean[key] = sorted({normalize_grade(v) for v in values})
            else:
                clean[key] = sorted({str(v) for v in values})
        out.append(clean)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class SharingPolicy:
    """A connection reduced to what visibility needs, evaluated at one instant."""

    district_id: str
    app_id: str
    active: bool
    mode: ScopeMode
    school_ids: tuple[str, ...]
    section_ids: tuple[str, ...]
    rules: tuple[dict[str, Any], ...]
    field_groups: frozenset[FieldGroup]
    roles: frozenset[str]

    @classmethod
    def of(cls, connection: Connection | None, now: dt.datetime) -> SharingPolicy | None:
        """None when nothing is shared (no connection, inactive or expired)."""
        if connection is None or not connection.active(now):
            return None
        return cls(
            district_id=connection.district_id,
            app_id=connection.app_id,
            active=True,
            mode=connection.scope_mode,
            school_ids=tuple(connection.school_ids),
            section_ids=tuple(connection.section_ids),
            rules=tuple(connection.rules),
            field_groups=frozenset(connection.field_groups),
            roles=frozenset(connection.roles_allowed),
        )

    def grants(self, group: FieldGroup) -> bool:
        return group in self.field_groups

    def shares_guardians(self) -> bool:
        return FieldGroup.GUARDIANS in self.field_groups and "guardian" in self.roles


def fields_for(record_type: str, groups: frozenset[FieldGroup]) -> tuple[str, ...]:
    """The fields of ``record_type`` an app with ``groups`` may read (empty: none)."""
    if record_type == "user":
        fields: list[str] = []
        for group in FieldGroup:
            if group is FieldGroup.BASIC or group in groups:
                fields.extend(_USER_FIELDS[group])
        return tuple(fields)
    if record_type == "demographics":
        if FieldGroup.DEMOGRAPHICS not in groups:
            return ()
        return ("user_id", "birth_date", "sex", "races", "hispanic_or_latino", "birthplace")
    return ("*",)
