"""OneRoster 1.1 filter grammar (REST binding §3.4.2): parsing and safe compilation."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Date, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite

from homeroom.roster.query.errors import InvalidFilterField
from homeroom.roster.query.filter import Field, Filter, Predicate, compile_filter, parse_filter

people = Table("people", MetaData(), Column("family", String), Column("born", Date))
FIELDS = {"familyName": Field(people.c.family), "birthDate": Field(people.c.born, "date")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("familyName='Park'", Filter((Predicate("familyName", "=", "Park"),))),
        ("familyName!='Park'", Filter((Predicate("familyName", "!=", "Park"),))),
        ("familyName~'ar'", Filter((Predicate("familyName", "~", "ar"),))),
        ("birthDate>='2018-01-01'", Filter((Predicate("birthDate", ">=", "2018-01-01"),))),
        (
            "familyName='Park' AND birthDate<'2019-01-01'",
            Filter(
                (Predicate("familyName", "=", "Park"), Predicate("birthDate", "<", "2019-01-01")),
                "AND",
            ),
        ),
        (
            "familyName = 'O''Brien' or familyName='Silva'",
            Filter(
                (Predicate("familyName", "=", "O'Brien"), Predicate("familyName", "=", "Silva")),
                "OR",
            ),
        ),
    ],
)
def test_parse(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("familyName", "expected field<op>'value'"),
        ("familyName=='x'", "expected field<op>'value'"),
        ("familyName='x' givenName='y'", "expected AND or OR"),
        ("a='1' AND b='2' OR c='3'", "cannot be mixed"),
        ("familyName='unterminated", "expected"),
    ],
)
def test_malformed_filters_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidFilterField, match=reason):
        parse_filter(text)


def test_unknown_and_ungranted_fields_are_refused() -> None:
    with pytest.raises(InvalidFilterField, match="unknown field 'email'"):
        compile_filter(parse_filter("email='a@b.c'"), FIELDS)
    with pytest.raises(InvalidFilterField, match="not a valid date"):
        compile_filter(parse_filter("birthDate>'yesterday'"), FIELDS)
    with pytest.raises(InvalidFilterField, match="text fields"):
        compile_filter(parse_filter("birthDate~'2018'"), FIELDS)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_values_are_bound_never_spliced(dialect: object) -> None:
    hostile = "x' OR '1'='1"
    condition = compile_filter(
        parse_filter("familyName='" + hostile.replace("'", "''") + "'"), FIELDS
    )
    compiled = condition.compile(dialect=dialect)  # type: ignore[arg-type]
    assert "OR" not in str(compiled) and hostile in compiled.params.values()
    contains = compile_filter(parse_filter("familyName~'50%_'"), FIELDS).compile(
        dialect=dialect  # type: ignore[arg-type]
    )
    assert any("50/%/_" in str(v) for v in contains.params.values())  # wildcards escaped
