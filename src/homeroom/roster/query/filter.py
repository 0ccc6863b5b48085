"""The OneRoster 1.1 ``filter`` parameter, parsed into a small AST and compiled to
SQLAlchemy expressions against a whitelist of fields.

OneRoster 1.1 REST binding §3.4.2 (Filtering): ``filter=<field><predicate>'<value>'``,
predicates ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=`` and ``~`` (contains), optionally
joined by the logical operator ``AND`` or ``OR``. Values are single-quoted (a quote inside
is written twice). Mixing AND and OR in one filter is refused: the binding defines no
precedence. Values are bound parameters, never spliced into SQL; fields not on the
whitelist (including fields the app was not granted) are ``invalid_filter_field``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_

from homeroom.roster.query.errors import InvalidFilterField

__all__ = ["Field", "Filter", "Predicate", "compile_filter", "parse_filter"]

OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")
MAX_PREDICATES = 8
_PREDICATE = re.compile(
    r"\s*(?P<field>[A-Za-z][A-Za-z0-9_.]*)\s*(?P<op>!=|>=|<=|=|>|<|~)\s*"
    r"(?:'(?P<quoted>(?:[^']|'')*)'|(?P<bare>[A-Za-z0-9_.:+-]+))\s*"
)
_LOGICAL = re.compile(r"(AND|OR)\s", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Predicate:
    field: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class Filter:
    predicates: tuple[Predicate, ...]
    logic: str = "AND"


@dataclass(frozen=True, slots=True)
class Field:
    """A filterable/sortable field: its column and how a filter value is converted
    (``str``, ``date``, ``datetime``, ``bool``, ``grade``)."""

    column: Any
    kind: str = "str"


def parse_filter(text: str) -> Filter:
    """Parse ``text`` or raise :class:`InvalidFilterField` saying where it went wrong."""
    if len(text) > 2000:
        raise InvalidFilterField("filter is too long")
    pos, predicates, logic = 0, [], None
    while True:
        match = _PREDICATE.match(text, pos)
        if match is None:
            raise InvalidFilterField(f"filter: expected field<op>'value' at character {pos + 1}")
        raw = match["quoted"]
        value = raw.replace("''", "'") if raw is not None else match["bare"]
        predicates.append(Predicate(match["field"], match["op"], value))
        pos = match.end()
        if pos == len(text):
            break
        joined = _LOGICAL.match(text, pos)
        if joined is None:
            raise InvalidFilterField(f"filter: expected AND or OR at character {pos + 1}")
        word = joined[1].upper()
        if logic is not None and word != logic:
            raise InvalidFilterField("filter: AND and OR cannot be mixed")
        logic = word
        pos = joined.end()
        if len(predicates) >= MAX_PREDICATES:
            raise InvalidFilterField(f"filter: at most {MAX_PREDICATES} predicates")
    return Filter(tuple(predicates), logic or "AND")


def _convert(field: Field, name: str, value: str) -> Any:
    try:
        if field.kind == "date":
            return dt.date.fromisoformat(value[:10])
        if field.kind == "datetime":
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        if field.kind == "bool":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
    except ValueError:
        raise InvalidFilterField(
            f"filter: {value!r} is not a valid {field.kind} for {name}"
        ) from None
    if field.kind == "grade":
        return value.zfill(2) if value.isdigit() else value
    return value


def _predicate(field: Field, predicate: Predicate) -> ColumnElement[bool]:
    column, op = field.column, predicate.op
    if op == "~" and field.kind not in ("str", "grade"):
        raise InvalidFilterField(f"filter: ~ applies to text fields, not {predicate.field}")
    value = _convert(field, predicate.field, predicate.value)
    if op == "~":
        return func.lower(column).contains(str(value).lower(), autoescape=True)
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    return column <= value  # type: ignore[no-any-return]


def compile_filter(parsed: Filter, fields: Mapping[str, Field]) -> ColumnElement[bool]:
    """SQL for ``parsed``; every field must be in ``fields`` (the whitelist)."""
    parts = []
    for predicate in parsed.predicates:
        field = fields.get(predicate.field)
        if field is None:
            raise InvalidFilterField(f"filter: unknown field {predicate.field!r}")
        parts.append(_predicate(field, predicate))
    return and_(*parts) if parsed.logic == "AND" else or_(*parts)
