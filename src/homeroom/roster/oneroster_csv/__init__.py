"""OneRoster 1.1 / 1.2 CSV binding: read, validate and normalise a package.

A package is a zip or a folder holding ``manifest.csv`` and the data files it names. The
reader streams each file once, in dependency order, and returns either the normalised
records (with warnings) or every problem found, each with file, line, column and reason.
Nothing here touches a database; the importer (``homeroom.roster.importer``) does.
"""

from homeroom.roster.oneroster_csv.issues import Issue, PackageInvalid, Severity
from homeroom.roster.oneroster_csv.manifest import Manifest, Mode
from homeroom.roster.oneroster_csv.package import PackageSource
from homeroom.roster.oneroster_csv.parse import FileData, ParsedPackage, read_package

__all__ = [
    "FileData",
    "Issue",
    "Manifest",
    "Mode",
    "PackageInvalid",
    "PackageSource",
    "ParsedPackage",
    "Severity",
    "read_package",
]
