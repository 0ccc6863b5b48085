"""Fixtures for the secret store: a store on the test's SQL backend with a local KEK file."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeroom.secrets import LocalFileKEK, SecretStore
from homeroom.secrets.redaction import Redactor
from homeroom.storage.sql import Database


@pytest.fixture
def kek(tmp_path: Path) -> LocalFileKEK:
    return LocalFileKEK(tmp_path / "kek.json")


@pytest.fixture
def store(db: Database, kek: LocalFileKEK) -> SecretStore:
    return SecretStore(db, kek, max_versions=4, redactor=Redactor())
