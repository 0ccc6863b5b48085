"""The OneRoster CSV reader: every error kind with its location, and the tolerance real
SIS exports need (BOM, CRLF, quoted commas and newlines, blank optional and extra columns)."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeroom.roster.oneroster_csv import Issue, PackageSource, ParsedPackage, read_package
from homeroom.roster.oneroster_csv.parse import MANAGED_ELSEWHERE
from tests.roster.packages import append, copy_sample, delta_package, edit, set_mode, zip_package


def read(pkg: Path, **kw: object) -> ParsedPackage:
    with PackageSource(pkg) as source:
        return read_package(source, **kw)  # type: ignore[arg-type]


def only_error(parsed: ParsedPackage) -> Issue:
    assert len(parsed.errors) == 1, [str(e) for e in parsed.errors]
    return parsed.errors[0]


def test_sample_is_valid_without_warnings(tmp_path: Path) -> None:
    parsed = read(copy_sample(tmp_path))
    assert parsed.issues == []
    assert len(parsed.files["users"].rows) == 31
    assert len(parsed.files["enrollments"].rows) == 42
    assert parsed.manifest is not None and parsed.manifest.version == "1.1"


def test_zip_and_folder_read_the_same(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    archive = zip_package(pkg, tmp_path / "sample.zip")
    assert read(archive).files["users"].rows == read(pkg).files["users"].rows


def test_missing_required_column(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "classes.csv", ",classType,", ",kind,")
    error = only_error(read(pkg))
    assert (error.file, error.line, error.column) == ("classes.csv", 1, "classType")
    assert "required column is missing" in error.reason


def test_missing_required_value(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "users.csv", "mrivera,,Maria,", "mrivera,,,")
    error = only_error(read(pkg))
    assert (error.file, error.line, error.column) == ("users.csv", 2, "givenName")


def test_bad_date(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "academicSessions.csv", "2026-12-18", "2026-13-45")
    error = only_error(read(pkg))
    assert (error.file, error.line, error.column) == ("academicSessions.csv", 3, "endDate")
    assert "bad date" in error.reason


def test_end_before_start(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "academicSessions.csv", "2026-12-18", "2026-01-01")
    assert only_error(read(pkg)).reason == "endDate is before startDate"


def test_bad_enum_and_boolean(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "classes.csv", "scheduled", "lecture")
    edit(pkg, "users.csv", "tch-chen,,,true", "tch-chen,,,yes")
    errors = read(pkg).errors
    assert {(e.file, e.line, e.column) for e in errors} == {
        ("classes.csv", 2, "classType"),
        ("users.csv", 3, "enabledUser"),
    }


def test_unknown_reference(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "enrollments.csv", "cls-oak-m4,sch-oak,tch-chen", "cls-nope,sch-oak,tch-chen")
    error = only_error(read(pkg))
    assert (error.file, error.line, error.column) == ("enrollments.csv", 4, "classSourcedId")
    assert "unknown reference 'cls-nope'" in error.reason


def test_school_reference_must_be_a_school(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "classes.csv", "Room 12,sch-oak", "Room 12,dist-1")
    error = only_error(read(pkg))
    assert error.column == "schoolSourcedId" and "no such school" in error.reason


def test_unknown_self_reference_and_agent(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "users.csv", ",stu-001,,", ",stu-999,,")
    error = only_error(read(pkg))
    assert (error.file, error.column) == ("users.csv", "agentSourcedIds")


def test_duplicate_sourced_id(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    append(pkg, "orgs.csv", "sch-oak,,,Oak Hill Again,school,103,dist-1")
    error = only_error(read(pkg))
    assert (error.file, error.line, error.column) == ("orgs.csv", 5, "sourcedId")
    assert "first on line 3" in error.reason


def test_duplicate_username(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "users.csv", ",lchen,", ",mrivera,")
    error = only_error(read(pkg))
    assert (error.line, error.column) == (3, "username")


def test_username_of_a_manual_user_is_refused(tmp_path: Path) -> None:
    parsed = read(copy_sample(tmp_path), usernames={"mrivera": MANAGED_ELSEWHERE})
    assert "not managed by the roster import" in only_error(parsed).reason


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ("propertyName,value\nmanifest.version,1.0\noneroster.version,2.0\n", "1.1 or 1.2"),
        ("propertyName,value\nmanifest.version,0.9\noneroster.version,1.1\n", "1.0"),
        ("name,value\n", "header"),
        (
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,full\n",
            "bulk, delta or absent",
        ),
        (
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n"
            "file.roles,bulk\n",
            "1.2",
        ),
    ],
)
def test_wrong_manifest(tmp_path: Path, manifest: str, reason: str) -> None:
    pkg = copy_sample(tmp_path)
    (pkg / "manifest.csv").write_text(manifest, encoding="utf-8")
    (pkg / "roles.csv").write_text("sourcedId\n", encoding="utf-8")
    parsed = read(pkg)
    assert parsed.manifest is None
    assert any(reason in e.reason for e in parsed.errors), [str(e) for e in parsed.errors]
    assert all(e.file in ("manifest.csv", "roles.csv") for e in parsed.errors)


def test_missing_manifest_and_missing_file(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    (pkg / "courses.csv").unlink()
    error = only_error(read(pkg))
    assert (error.file, error.line) == ("courses.csv", 0)
    (pkg / "manifest.csv").unlink()
    assert only_error(read(pkg)).file == "manifest.csv"


def test_every_error_is_reported_not_just_the_first(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "users.csv", "true", "maybe", count=3)
    edit(pkg, "enrollments.csv", "2026-08-17", "17/08/2026", count=2)
    errors = read(pkg).errors
    assert [(e.file, e.line) for e in errors] == [
        ("users.csv", 2),
        ("users.csv", 3),
        ("users.csv", 4),
        ("enrollments.csv", 2),
        ("enrollments.csv", 3),
    ]
    assert (
        str(errors[0]) == "users.csv:2: column enabledUser: bad boolean 'maybe': "
        "expected true or false"
    )


def test_messy_but_valid_exports(tmp_path: Path) -> None:
    """BOM, CRLF, a quoted field with a comma and a newline, blank optional columns,
    reordered and extra columns, upper-case enum values."""
    pkg = copy_sample(tmp_path)
    orgs = (
        "\ufeffname,sourcedId,type,status,dateLastModified,identifier,parentSourcedId,"
        "extraVendorColumn\r\n"
        "Riverside Unified School District,dist-1,district,,,RUSD,,x\r\n"
        '"Oak Hill Elementary, Main\r\nCampus",sch-oak,SCHOOL,,,101,dist-1,\r\n'
        "Elm Street Elementary,sch-elm,school,,2026-08-01T10:00:00.000Z,,dist-1,\r\n"
    )
    (pkg / "orgs.csv").write_bytes(orgs.encode("utf-8"))
    parsed = read(pkg)
    assert parsed.errors == []
    assert [(w.file, w.line, w.column) for w in parsed.warnings] == [
        ("orgs.csv", 1, "extraVendorColumn")
    ]
    orgs_data = parsed.files["orgs"]
    oak = orgs_data.rows["sch-oak"]
    assert orgs_data.get(oak, "name") == "Oak Hill Elementary, Main\r\nCampus"
    assert orgs_data.get(oak, "type") == "school"
    assert orgs_data.rows["sch-elm"][-1] == 5  # the line number counts the quoted newline


def test_delta_requires_status_and_refs_may_name_stored_records(tmp_path: Path) -> None:
    pkg = delta_package(
        tmp_path,
        {
            "enrollments.csv": "e-new,active,2026-09-01T00:00:00Z,cls-1,sch-1,stu-1,student,,,\n"
            "e-old,,2026-09-01T00:00:00Z,cls-1,sch-1,stu-1,student,,,"
        },
    )
    known = {"classes": {"cls-1"}, "schools": {"sch-1"}, "orgs": {"sch-1"}, "users": {"stu-1"}}
    error = only_error(read(pkg, known=known))
    assert (error.line, error.column, error.reason) == (3, "status", "required in a delta file")
    assert "e-new" in read(pkg, known=known).files["enrollments"].rows


def test_tobedeleted_rows_are_collected(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    set_mode(pkg, "enrollments.csv", "delta")
    text = (pkg / "enrollments.csv").read_text().splitlines()
    body = [line.replace(",,,", ",active,2026-09-01T00:00:00Z,", 1) for line in text[1:]]
    body[0] = body[0].replace(",active,", ",tobedeleted,")
    (pkg / "enrollments.csv").write_text("\n".join([text[0], *body]) + "\n")
    parsed = read(pkg)
    assert parsed.errors == []
    data = parsed.files["enrollments"]
    assert data.deleted == {"enr-0001": 2}
    assert "enr-0001" not in data.rows


def test_oneroster_1_2_roles_file(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "manifest.csv", "oneroster.version,1.1", "oneroster.version,1.2")
    append(pkg, "manifest.csv", "file.roles,bulk")
    edit(pkg, "users.csv", "true,sch-oak,teacher,mrivera", "true,,,mrivera")
    (pkg / "roles.csv").write_text(
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
        "orgSourcedId,userProfileSourcedId\n"
        "r1,,,tch-rivera,primary,teacher,,,sch-oak,\n"
        "r2,,,tch-rivera,secondary,administrator,,,sch-elm,\n"
    )
    parsed = read(pkg)
    assert parsed.errors == []
    users = parsed.files["users"]
    row = users.rows["tch-rivera"]
    assert users.get(row, "role") == "teacher"
    assert users.get(row, "orgSourcedIds") == ("sch-oak", "sch-elm")


def test_1_2_user_without_any_role_is_an_error(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    edit(pkg, "manifest.csv", "oneroster.version,1.1", "oneroster.version,1.2")
    edit(pkg, "users.csv", "true,sch-oak,teacher,mrivera", "true,sch-oak,,mrivera")
    error = only_error(read(pkg))
    assert (error.file, error.line, error.column) == ("users.csv", 2, "role")


def test_malformed_csv_is_located(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    append(pkg, "courses.csv", 'c-bad,,,sy-2026,"Unclosed')
    error = only_error(read(pkg))
    assert error.file == "courses.csv" and "malformed CSV" in error.reason


def test_short_rows_and_extra_values_do_not_shift_columns(tmp_path: Path) -> None:
    pkg = copy_sample(tmp_path)
    # orgs.csv has no column after parentSourcedId; a trailing extra value is ignored
    # (with a warning) and a short row reads its missing trailing cells as blank.
    append(pkg, "orgs.csv", "dept-1,,,Science Dept,department,SCI,dist-1,surprise")
    append(pkg, "orgs.csv", "dept-2,,,Art Dept,department")
    parsed = read(pkg)
    assert parsed.errors == []
    orgs = parsed.files["orgs"]
    assert orgs.get(orgs.rows["dept-1"], "parentSourcedId") == "dist-1"
    assert orgs.get(orgs.rows["dept-2"], "identifier") is None
    assert [(w.line, w.reason) for w in parsed.warnings] == [
        (5, "more values than header columns: extra values ignored")
    ]
