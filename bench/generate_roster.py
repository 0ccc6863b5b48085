"""Generate a synthetic OneRoster 1.1 CSV package (a folder) for benchmarks.

    python bench/generate_roster.py OUT [--students 100000 --staff 8000 --sections 20000
                                         --enrollments 500000 --changes 0.01 --seed 7]

Deterministic for a given seed. ``--changes 0.01`` writes the same district with about
1 % of records changed: renamed users, retitled classes, some enrollments dropped and as
many new ones added (the re-import benchmark).
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Diego",
    "Emma",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Milo",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
]
LAST = [
    "Park",
    "Silva",
    "Nguyen",
    "Lopez",
    "Smith",
    "Khan",
    "Berg",
    "Sato",
    "Petrov",
    "Moreau",
    "Mensah",
    "Weiss",
    "Rossi",
    "Obi",
]
GRADES = ["KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
SUBJECTS = ["Math", "Reading", "Science", "Social Studies", "Art", "Music", "PE"]


def _writer(out: Path, name: str, header: list[str]) -> tuple[object, csv.Writer]:  # type: ignore[name-defined]
    fh = (out / f"{name}.csv").open("w", newline="", encoding="utf-8")
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(header)
    return fh, w


def generate(
    out: Path,
    *,
    students: int = 100_000,
    staff: int = 8_000,
    sections: int = 20_000,
    enrollments: int = 500_000,
    changes: float = 0.0,
    seed: int = 7,
) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    change = random.Random(seed + 1)

    def changed() -> bool:
        return changes > 0 and change.random() < changes

    schools = max(1, students // 800)
    manifest = [
        ("manifest.version", "1.0"),
        ("oneroster.version", "1.1"),
        *(
            (f"file.{n}", "bulk")
            for n in (
                "orgs",
                "academicSessions",
                "courses",
                "classes",
                "users",
                "enrollments",
                "demographics",
            )
        ),
        *(
            (f"file.{n}", "absent")
            for n in (
                "categories",
                "classResources",
                "courseResources",
                "lineItems",
                "resources",
                "results",
            )
        ),
        ("source.systemName", "bench generator"),
    ]
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["propertyName", "value"])
        w.writerows(manifest)

    fh, w = _writer(
        out,
        "orgs",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "name",
            "type",
            "identifier",
            "parentSourcedId",
        ],
    )
    w.writerow(["d-1", "", "", "Benchmark Unified", "district", "BU", ""])
    for s in range(schools):
        w.writerow([f"s-{s}", "", "", f"School {s}", "school", str(1000 + s), "d-1"])
    fh.close()  # type: ignore[attr-defined]

    fh, w = _writer(
        out,
        "academicSessions",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "type",
            "startDate",
            "endDate",
            "parentSourcedId",
            "schoolYear",
        ],
    )
    w.writerow(["y", "", "", "2026-2027", "schoolYear", "2026-08-17", "2027-06-11", "", "2027"])
    w.writerow(["t1", "", "", "Fall", "semester", "2026-08-17", "2026-12-18", "y", "2027"])
    w.writerow(["t2", "", "", "Spring", "semester", "2027-01-05", "2027-06-11", "y", "2027"])
    fh.close()  # type: ignore[attr-defined]

    courses = len(GRADES) * len(SUBJECTS)
    fh, w = _writer(
        out,
        "courses",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "schoolYearSourcedId",
            "title",
            "courseCode",
            "grades",
            "orgSourcedId",
            "subjects",
            "subjectCodes",
        ],
    )
    for c in range(courses):
        grade, subject = GRADES[c // len(SUBJECTS)], SUBJECTS[c % len(SUBJECTS)]
        w.writerow(
            [f"c-{c}", "", "", "y", f"{subject} {grade}", f"C{c}", grade, "d-1", subject, ""]
        )
    fh.close()  # type: ignore[attr-defined]

    section_school = [k % schools for k in range(sections)]
    fh, w = _writer(
        out,
        "classes",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "location",
            "schoolSourcedId",
            "termSourcedIds",
            "subjects",
            "subjectCodes",
            "periods",
        ],
    )
    for k in range(sections):
        c = k % courses
        grade, subject = GRADES[c // len(SUBJECTS)], SUBJECTS[c % len(SUBJECTS)]
        title = f"{subject} {grade} - {k}" + (" (revised)" if changed() else "")
        w.writerow(
            [
                f"cl-{k}",
                "",
                "",
                title,
                grade,
                f"c-{c}",
                f"K{k}",
                "scheduled",
                f"Room {k % 40}",
                f"s-{section_school[k]}",
                "t1,t2",
                subject,
                "",
                str(k % 7 + 1),
            ]
        )
    fh.close()  # type: ignore[attr-defined]

    fh, w = _writer(
        out,
        "users",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "enabledUser",
            "orgSourcedIds",
            "role",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
        ],
    )
    for i in range(staff):
        family = rng.choice(LAST) + ("-Moved" if changed() else "")
        w.writerow(
            [
                f"t-{i}",
                "",
                "",
                "true",
                f"s-{i % schools}",
                "teacher",
                f"teacher{i}",
                "",
                rng.choice(FIRST),
                family,
                "",
                f"T{i}",
                f"teacher{i}@bench.example.org",
                "",
                "",
                "",
                "",
                "",
            ]
        )
    student_school = [i % schools for i in range(students)]
    for i in range(students):
        family = rng.choice(LAST) + ("-Renamed" if changed() else "")
        w.writerow(
            [
                f"u-{i}",
                "",
                "",
                "true",
                f"s-{student_school[i]}",
                "student",
                f"student{i}",
                "",
                rng.choice(FIRST),
                family,
                "",
                str(100000 + i),
                "",
                "",
                "",
                "",
                GRADES[i % len(GRADES)],
                "",
            ]
        )
    fh.close()  # type: ignore[attr-defined]

    fh, w = _writer(
        out, "demographics", ["sourcedId", "status", "dateLastModified", "birthDate", "sex"]
    )
    for i in range(students):
        w.writerow(
            [
                f"u-{i}",
                "",
                "",
                f"{2010 + i % 12}-0{1 + i % 9}-1{i % 10}",
                "female" if i % 2 else "male",
            ]
        )
    fh.close()  # type: ignore[attr-defined]

    # One teacher per section, the rest students spread over the sections of their school.
    by_school: dict[int, list[int]] = {}
    for k, s in enumerate(section_school):
        by_school.setdefault(s, []).append(k)
    fh, w = _writer(
        out,
        "enrollments",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ],
    )
    written = 0
    for k in range(sections):
        w.writerow(
            [
                f"e-t{k}",
                "",
                "",
                f"cl-{k}",
                f"s-{section_school[k]}",
                f"t-{k % staff}",
                "teacher",
                "true",
                "",
                "",
            ]
        )
        written += 1
    per_student = max(1, (enrollments - sections) // max(1, students))
    extra = (enrollments - sections) - per_student * students
    for i in range(students):
        school = student_school[i]
        options = by_school[school]
        count = per_student + (1 if i < extra else 0)
        for j in range(count):
            k = options[(i * 7 + j * 13) % len(options)]
            eid = f"e-{i}-{j}"
            if changed():
                if change.random() < 0.5:
                    continue  # dropped
                eid += "-new"
            w.writerow(
                [eid, "", "", f"cl-{k}", f"s-{school}", f"u-{i}", "student", "false", "", ""]
            )
            written += 1
    fh.close()  # type: ignore[attr-defined]
    return {
        "schools": schools,
        "users": students + staff,
        "sections": sections,
        "enrollments": written,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=8_000)
    parser.add_argument("--sections", type=int, default=20_000)
    parser.add_argument("--enrollments", type=int, default=500_000)
    parser.add_argument("--changes", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        generate(
            args.out,
            students=args.students,
            staff=args.staff,
            sections=args.sections,
            enrollments=args.enrollments,
            changes=args.changes,
            seed=args.seed,
        )
    )


if __name__ == "__main__":
    main()
