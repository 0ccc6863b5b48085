"""Problems found in a package: each names its file, line, column and reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from homeroom.errors import InvalidInput

__all__ = ["Issue", "PackageInvalid", "Severity"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem. ``line`` is the physical line where the CSV record starts (1 = header);
    0 means the file as a whole (a missing file, a bad archive)."""

    file: str
    line: int
    column: str | None
    reason: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.column:
            where += f": column {self.column}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "severity": self.severity.value,
        }


class PackageInvalid(InvalidInput):
    """The package has errors; nothing was imported. ``issues`` lists every one."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        self.errors = errors = [i for i in issues if i.severity is Severity.ERROR]
        first = f"; first: {errors[0]}" if errors else ""
        super().__init__(f"invalid OneRoster package: {len(errors)} error(s){first}")
