"""``manifest.csv``: the package's version and, per file, ``bulk``, ``delta`` or ``absent``.

OneRoster 1.1 CSV binding §2.1 / 1.2 §3.1: two columns ``propertyName,value``;
``manifest.version`` is ``1.0``; ``oneroster.version`` is ``1.1`` or ``1.2``; each
``file.<name>`` property says how ``<name>.csv`` is to be processed. A bulk file replaces
every record of its kind; a delta file adds, changes (``active``) or removes
(``tobedeleted``) the records it lists; an absent file leaves its kind untouched.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from enum import StrEnum

from homeroom.roster.oneroster_csv.issues import Issue, Severity
from homeroom.roster.oneroster_csv.package import PackageSource

__all__ = ["IMPORTED_FILES", "Manifest", "Mode", "read_manifest"]

MANIFEST = "manifest.csv"
# The files Homeroom imports, in dependency order (a file only refers to earlier ones,
# or to itself).
IMPORTED_FILES = (
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "roles",
    "demographics",
    "enrollments",
)
# Files of the binding that Homeroom does not import (gradebook, resources, 1.2 extras).
IGNORED_FILES = (
    "categories",
    "classResources",
    "courseResources",
    "lineItems",
    "resources",
    "results",
    "userProfiles",
    "lineItemLearningObjectiveIds",
    "lineItemScoreScales",
    "resultLearningObjectiveIds",
    "resultScoreScales",
    "scoreScales",
    "userResources",
)
VERSIONS = ("1.1", "1.2")


class Mode(StrEnum):
    BULK = "bulk"
    DELTA = "delta"
    ABSENT = "absent"


@dataclass
class Manifest:
    version: str
    modes: dict[str, Mode] = field(default_factory=dict)
    source_name: str | None = None

    def mode(self, name: str) -> Mode:
        return self.modes.get(name, Mode.ABSENT)


def read_manifest(source: PackageSource, issues: list[Issue]) -> Manifest | None:
    """Parse the manifest, appending problems to ``issues``; None when unusable."""
    if not source.has(MANIFEST):
        issues.append(Issue(MANIFEST, 0, None, "manifest.csv is missing from the package"))
        return None
    props: dict[str, tuple[str, int]] = {}
    with source.open_text(MANIFEST) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["propertyName", "value"]:
            issues.append(
                Issue(MANIFEST, 1, None, "header must be 'propertyName,value'"),
            )
            return None
        start = reader.line_num + 1
        for row in reader:
            if row and any(cell.strip() for cell in row):
                if len(row) < 2:
                    issues.append(Issue(MANIFEST, start, "value", "value is missing"))
                else:
                    props[row[0].strip()] = (row[1].strip(), start)
            start = reader.line_num + 1
    ok = True
    manifest_version = props.get("manifest.version")
    if manifest_version is None or manifest_version[0] != "1.0":
        line = manifest_version[1] if manifest_version else 0
        issues.append(Issue(MANIFEST, line, "value", "manifest.version must be 1.0"))
        ok = False
    version = props.get("oneroster.version")
    if version is None or version[0] not in VERSIONS:
        line = version[1] if version else 0
        issues.append(
            Issue(MANIFEST, line, "value", "oneroster.version must be 1.1 or 1.2"),
        )
        ok = False
    manifest = Manifest(version=version[0] if version else "1.1")
    source_name = props.get("source.systemName")
    manifest.source_name = source_name[0] if source_name else None
    for key, (value, line) in props.items():
        if not key.startswith("file."):
            continue
        name = key.removeprefix("file.")
        try:
            mode = Mode(value.lower())
        except ValueError:
            issues.append(
                Issue(
                    MANIFEST, line, "value", f"{key} must be bulk, delta or absent, not {value!r}"
                )
            )
            ok = False
            continue
        if name in IMPORTED_FILES:
            manifest.modes[name] = mode
        elif mode is not Mode.ABSENT:
            known = name in IGNORED_FILES
            reason = "not imported by Homeroom" if known else "unknown file in the manifest"
            issues.append(Issue(MANIFEST, line, None, f"{key}: {reason}", Severity.WARNING))
    if not ok:
        return None
    for name in IMPORTED_FILES:
        mode = manifest.mode(name)
        present = source.has(f"{name}.csv")
        if mode is not Mode.ABSENT and not present:
            issues.append(
                Issue(f"{name}.csv", 0, None, f"the manifest says {mode} but the file is missing")
            )
            ok = False
        elif mode is Mode.ABSENT and present:
            issues.append(
                Issue(
                    f"{name}.csv",
                    0,
                    None,
                    "present but the manifest says absent (or omits it): ignored",
                    Severity.WARNING,
                )
            )
    if manifest.mode("roles") is not Mode.ABSENT and manifest.version != "1.2":
        issues.append(Issue("roles.csv", 0, None, "roles.csv exists only in OneRoster 1.2"))
        ok = False
    return manifest if ok else None
