"""Test packages: the repository's sample, copied and edited per test."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "oneroster-sample"


def copy_sample(tmp_path: Path, name: str = "pkg") -> Path:
    target = tmp_path / name
    shutil.copytree(SAMPLE, target)
    return target


def edit(pkg: Path, filename: str, old: str, new: str, count: int = 1) -> None:
    path = pkg / filename
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {filename}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def append(pkg: Path, filename: str, line: str) -> None:
    with (pkg / filename).open("a", encoding="utf-8", newline="") as fh:
        fh.write(line + "\n")


def set_mode(pkg: Path, filename: str, mode: str) -> None:
    stem = filename.removesuffix(".csv")
    text = (pkg / "manifest.csv").read_text(encoding="utf-8")
    lines = [
        f"file.{stem},{mode}" if line.startswith(f"file.{stem},") else line
        for line in text.splitlines()
    ]
    (pkg / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def zip_package(pkg: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for child in sorted(pkg.iterdir()):
            zf.write(child, child.name)
    return target


def delta_package(tmp_path: Path, files: dict[str, str], name: str = "delta") -> Path:
    """A 1.1 package whose listed files are delta and every other file absent."""
    pkg = tmp_path / name
    pkg.mkdir()
    lines = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    for stem in (
        "orgs",
        "academicSessions",
        "courses",
        "classes",
        "users",
        "demographics",
        "enrollments",
    ):
        lines.append(f"file.{stem},{'delta' if f'{stem}.csv' in files else 'absent'}")
    (pkg / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for filename, body in files.items():
        header = (SAMPLE / filename).read_text(encoding="utf-8").splitlines()[0]
        (pkg / filename).write_text(header + "\n" + body.strip() + "\n", encoding="utf-8")
    return pkg
