"""Where a package's files come from: a zip archive or a folder.

Files are opened as text with ``utf-8-sig`` (a UTF-8 byte-order mark, common in SIS exports,
is dropped) and ``newline=""`` so that the csv module sees CRLF and quoted newlines itself.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from homeroom.errors import InvalidInput

__all__ = ["PackageSource"]


class PackageSource:
    """A OneRoster package on disk; file names are matched case-insensitively."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        if path.is_dir():
            for child in path.iterdir():
                if child.is_file():
                    self._names[child.name.lower()] = child.name
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InvalidInput(f"{path}: not a zip archive or a folder ({exc})") from exc
            for info in self._zip.infolist():
                if info.is_dir():
                    continue
                # Some tools zip the folder itself: accept files one level down as well.
                self._names.setdefault(info.filename.rsplit("/", 1)[-1].lower(), info.filename)
        else:
            raise InvalidInput(f"{path}: no such file or folder")

    @property
    def name(self) -> str:
        return self.path.name

    def has(self, filename: str) -> bool:
        return filename.lower() in self._names

    def files(self) -> list[str]:
        return sorted(self._names.values())

    @contextmanager
    def open_text(self, filename: str) -> Iterator[TextIO]:
        real = self._names[filename.lower()]
        if self._zip is not None:
            with (
                self._zip.open(real) as raw,
                io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
            ):
                yield text
        else:
            with (self.path / real).open(encoding="utf-8-sig", newline="") as fh:
                yield fh

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> PackageSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
