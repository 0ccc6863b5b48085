"""Stream a package's files, validate every cell and reference, and normalise the rows.

Rows are kept as compact tuples (the file's columns after ``sourcedId`` and ``status``,
then the line number) keyed by ``sourcedId``: a 500,000-row enrollments file then costs a
few hundred bytes a row. References are checked against the records of this package and,
for delta or absent files, against the ids already stored (``known``), so a delta file
may name a class imported last week.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeroom.roster.oneroster_csv.issues import Issue, Severity
from homeroom.roster.oneroster_csv.manifest import (
    IMPORTED_FILES,
    Manifest,
    Mode,
    read_manifest,
)
from homeroom.roster.oneroster_csv.package import PackageSource
from homeroom.roster.oneroster_csv.spec import FILES, Col, converter

__all__ = ["MAX_ISSUES", "FileData", "ParsedPackage", "read_package"]

MAX_ISSUES = 10_000
MANAGED_ELSEWHERE = "\x00manual"  # a username held by a user not created by an import
Progress = Callable[[str, int], None]


@dataclass
class FileData:
    """One imported file: active rows and ``tobedeleted`` ids, each with its line."""

    name: str
    mode: Mode
    columns: tuple[str, ...]
    rows: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    # Rows that had errors (already reported): references to them are not errors again.
    invalid: set[str] = field(default_factory=set)
    # The header was unusable: references into this file are not checked at all.
    broken: bool = False

    def index(self, column: str) -> int:
        return self.columns.index(column)

    def get(self, row: tuple[Any, ...], column: str) -> Any:
        return row[self.columns.index(column)]


@dataclass
class ParsedPackage:
    manifest: Manifest | None
    files: dict[str, FileData]
    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]


class _TooMany(Exception):
    pass


class _Context:
    """Issues so far and the effective set of ids of each kind, for reference checks."""

    def __init__(self, manifest: Manifest, known: Mapping[str, Iterable[str]]) -> None:
        self.manifest = manifest
        self.known = known
        self.files: dict[str, FileData] = {}
        self.issues: list[Issue] = []
        self._ids: dict[str, set[str] | frozenset[str] | None] = {}
        self.school_ids: set[str] = set()

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)
        if len(self.issues) >= MAX_ISSUES:
            raise _TooMany

    def ids(self, kind: str) -> set[str] | frozenset[str] | None:
        """Ids a reference to ``kind`` may name once this package is applied (None: the
        file was unreadable, so references to it cannot be checked)."""
        if kind in self._ids:
            return self._ids[kind]
        source = "orgs" if kind == "schools" else kind
        data = self.files.get(source)
        if data is not None and data.broken:
            return None
        stored = set(self.known.get(kind, ()))
        if data is None or data.mode is Mode.ABSENT:
            ids: set[str] | frozenset[str] = stored
        else:
            mine = (self.school_ids if kind == "schools" else set(data.rows)) | data.invalid
            if data.mode is Mode.BULK:
                ids = mine
            else:
                ids = (stored - set(data.deleted)) | mine
                if kind == "schools":  # an org re-typed away from school is no school
                    orgs = self.files["orgs"]
                    ids -= {k for k in orgs.rows if k not in self.school_ids}
        self._ids[kind] = ids
        return ids


def read_package(
    source: PackageSource,
    known: Mapping[str, Iterable[str]] | None = None,
    usernames: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ParsedPackage:
    """Read and validate ``source``. ``known`` maps a kind (orgs, schools,
    academicSessions, courses, classes, users) to the sourcedIds already stored and
    active; ``usernames`` maps stored active usernames to their user's sourcedId (or
    ``MANAGED_ELSEWHERE``). ``progress(file, rows)`` is called every few thousand rows."""
    issues: list[Issue] = []
    manifest = read_manifest(source, issues)
    if manifest is None:
        return ParsedPackage(None, {}, issues)
    ctx = _Context(manifest, known or {})
    ctx.issues = issues
    try:
        for name in IMPORTED_FILES:
            mode = manifest.mode(name)
            if mode is Mode.ABSENT:
                continue
            data = _read_file(source, name, mode, ctx, progress)
            ctx.files[name] = data
            _after_file(name, data, ctx, usernames or {})
        if "roles" in ctx.files:
            _merge_roles(ctx)
        if manifest.version == "1.2" and "users" in ctx.files:
            _require_roles(ctx)
    except _TooMany:
        issues.append(Issue("*", 0, None, f"more than {MAX_ISSUES} problems; stopped reading"))
    return ParsedPackage(manifest, ctx.files, ctx.issues)


def _read_file(
    source: PackageSource, name: str, mode: Mode, ctx: _Context, progress: Progress | None
) -> FileData:
    fname = f"{name}.csv"
    cols = FILES[name]
    version = ctx.manifest.version
    data = FileData(name, mode, tuple(c.name for c in cols[2:]))
    with source.open_text(fname) as fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            ctx.add(Issue(fname, 1, None, f"unreadable header: {exc}"))
            data.broken = True
            return data
        if header is None:
            ctx.add(Issue(fname, 0, None, "the file is empty (a header is required)"))
            data.broken = True
            return data
        plan = _plan(fname, header, cols, version, ctx)
        if plan is None:
            data.broken = True
            return data
        refs = [(i, c) for i, (_, _, c) in enumerate(plan) if c.ref and c.ref != name]
        width = len(header)
        fast = [(pos if pos >= 0 else width, conv) for pos, conv, _ in plan]
        # References into earlier files: their id sets are final while this file is read.
        ref_sets = [(i, col, ctx.ids(col.ref)) for i, col in refs if col.ref is not None]
        start = reader.line_num + 1
        count = 0
        rows, deleted = data.rows, data.deleted
        delta = mode is Mode.DELTA
        try:
            for raw in reader:
                line = start
                start = reader.line_num + 1
                if not raw or (len(raw) == 1 and not raw[0].strip()):
                    continue
                if len(raw) > width and any(cell.strip() for cell in raw[width:]):
                    ctx.add(
                        Issue(
                            fname,
                            line,
                            None,
                            "more values than header columns: extra values ignored",
                            Severity.WARNING,
                        )
                    )
                # Pad short rows (blank trailing columns) and give absent optional
                # columns the blank cell at index ``width``.
                if len(raw) == width:
                    raw.append("")
                else:
                    raw = raw[:width] + [""] * (width + 1 - min(len(raw), width))
                problems: list[Issue] = []
                try:  # fast path: a valid row converts in one comprehension
                    values = [conv(raw[pos]) for pos, conv in fast]
                except ValueError:
                    values = []
                    for pos, conv, col in plan:
                        try:
                            values.append(conv(raw[pos if pos >= 0 else width]))
                        except ValueError as exc:
                            problems.append(Issue(fname, line, col.name, str(exc)))
                            values.append(None)
                sid, status = values[0], values[1]
                # A row to be deleted needs only its sourcedId: its other values are moot.
                if status != "tobedeleted" or sid is None:
                    for problem in problems:
                        ctx.add(problem)
                bad = bool(problems)
                if sid is None:
                    continue  # reported as a missing required value
                if delta and status is None:
                    ctx.add(Issue(fname, line, "status", "required in a delta file"))
                    bad = True
                if sid in rows or sid in deleted:
                    first = rows[sid][-1] if sid in rows else deleted[sid]
                    ctx.add(
                        Issue(
                            fname,
                            line,
                            "sourcedId",
                            f"duplicate sourcedId {sid!r} (first on line {first})",
                        )
                    )
                    continue
                if status == "tobedeleted":
                    deleted[sid] = line
                    continue
                for index, col, ids in ref_sets:
                    value = values[index]
                    if value is None or ids is None:
                        continue
                    if type(value) is tuple:
                        if not ids.issuperset(value):
                            _check_ref(ctx, fname, line, col, value)
                    elif value not in ids:
                        _check_ref(ctx, fname, line, col, value)
                if bad:
                    data.invalid.add(sid)
                else:
                    rows[sid] = (*values[2:], line)
                count += 1
                if progress is not None and count % 5000 == 0:
                    progress(name, count)
        except (csv.Error, UnicodeDecodeError) as exc:
            ctx.add(Issue(fname, start, None, f"malformed CSV: {exc}"))
            data.broken = True
        if progress is not None:
            progress(name, count)
    return data


def _plan(
    fname: str, header: list[str], cols: tuple[Col, ...], version: str, ctx: _Context
) -> list[tuple[int, Callable[[str], Any], Col]] | None:
    positions: dict[str, int] = {}
    for pos, title in enumerate(header):
        key = title.strip().lower()
        if key in positions:
            ctx.add(Issue(fname, 1, title.strip(), "duplicate column"))
            return None
        positions[key] = pos
    wanted = {c.name.lower() for c in cols}
    for title in header:
        if title.strip() and title.strip().lower() not in wanted:
            ctx.add(Issue(fname, 1, title.strip(), "unknown column: ignored", Severity.WARNING))
    plan = []
    ok = True
    for col in cols:
        pos = positions.get(col.name.lower(), -1)
        if pos < 0 and version in col.required:
            ctx.add(Issue(fname, 1, col.name, "required column is missing"))
            ok = False
        plan.append((pos, converter(col, version), col))
    return plan if ok else None


def _check_ref(ctx: _Context, fname: str, line: int, col: Col, value: Any) -> None:
    if value is None or col.ref is None:
        return
    ids = ctx.ids(col.ref)
    if ids is None:
        return
    for ref in value if isinstance(value, tuple) else (value,):
        if ref not in ids:
            what = "school" if col.ref == "schools" else f"record in {col.ref}.csv"
            ctx.add(Issue(fname, line, col.name, f"unknown reference {ref!r}: no such {what}"))


def _after_file(name: str, data: FileData, ctx: _Context, usernames: Mapping[str, str]) -> None:
    """Checks that need the whole file: self-references, schools, usernames."""
    fname = f"{name}.csv"
    if name == "orgs":
        t = data.index("type")
        ctx.school_ids = {sid for sid, row in data.rows.items() if row[t] == "school"}
    self_refs = [c for c in FILES[name][2:] if c.ref == name]
    for col in self_refs:
        i = data.index(col.name)
        for sid, row in list(data.rows.items()):
            value = row[i]
            _check_ref(ctx, fname, row[-1], col, value)
            if value == sid or (isinstance(value, tuple) and sid in value):
                ctx.add(Issue(fname, row[-1], col.name, "a record cannot refer to itself"))
    if name == "academicSessions":
        s, e = data.index("startDate"), data.index("endDate")
        for row in data.rows.values():
            if row[s] and row[e] and row[e] < row[s]:
                ctx.add(Issue(fname, row[-1], "endDate", "endDate is before startDate"))
    if name == "demographics":
        users = ctx.ids("users")
        for sid, row in data.rows.items():
            if users is not None and sid not in users:
                ctx.add(
                    Issue(
                        fname,
                        row[-1],
                        "sourcedId",
                        f"unknown reference {sid!r}: "
                        "demographics must share the sourcedId of a user",
                    )
                )
    if name == "users":
        _check_usernames(data, ctx, usernames)


def _check_usernames(data: FileData, ctx: _Context, stored: Mapping[str, str]) -> None:
    u = data.index("username")
    seen: dict[str, tuple[str, int]] = {}
    for sid, row in data.rows.items():
        name = row[u]
        if name in seen:
            ctx.add(
                Issue(
                    "users.csv",
                    row[-1],
                    "username",
                    f"duplicate username {name!r} (first on line {seen[name][1]})",
                )
            )
            continue
        seen[name] = (sid, row[-1])
        holder = stored.get(name)
        if holder is None or holder == sid:
            continue
        if holder == MANAGED_ELSEWHERE:
            ctx.add(
                Issue(
                    "users.csv",
                    row[-1],
                    "username",
                    f"username {name!r} belongs to a user that is not managed by the roster import",
                )
            )
            continue
        released = (
            (holder in data.rows and data.rows[holder][u] != name)
            or holder in data.deleted
            or (data.mode is Mode.BULK and holder not in data.rows)
        )
        if not released:
            ctx.add(
                Issue(
                    "users.csv",
                    row[-1],
                    "username",
                    f"username {name!r} is already used by user {holder!r}",
                )
            )


def _merge_roles(ctx: _Context) -> None:
    """OneRoster 1.2 keeps roles in roles.csv: the primary role becomes the user's role and
    every role's org joins the user's orgs."""
    roles, users = ctx.files["roles"], ctx.files.get("users")
    if users is None:
        return
    r_user, r_type = roles.index("userSourcedId"), roles.index("roleType")
    r_role, r_org = roles.index("role"), roles.index("orgSourcedId")
    u_role, u_orgs = users.index("role"), users.index("orgSourcedIds")
    for row in roles.rows.values():
        user = users.rows.get(row[r_user])
        if user is None:
            continue
        values = list(user)
        if row[r_type] == "primary":
            values[u_role] = row[r_role]
        orgs = values[u_orgs] or ()
        if row[r_org] not in orgs:
            values[u_orgs] = (*orgs, row[r_org])
        users.rows[row[r_user]] = tuple(values)


def _require_roles(ctx: _Context) -> None:
    users = ctx.files["users"]
    u_role = users.index("role")
    for row in users.rows.values():
        if row[u_role] is None:
            ctx.add(
                Issue(
                    "users.csv",
                    row[-1],
                    "role",
                    "no role: give one in users.csv or a primary role in roles.csv",
                )
            )
