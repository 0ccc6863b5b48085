"""Fixtures of the roster tests: a district with the sample package imported, an app."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis

from homeroom.identity.passwords import PasswordHasher
from homeroom.roster.admin import RosterAdmin
from homeroom.roster.importer import RosterImporter
from homeroom.roster.models import District
from homeroom.sharing.registry import AppRegistry
from homeroom.sharing.service import SharingService
from homeroom.storage.sql import Database
from tests.roster.packages import copy_sample

# The admin upload is a zip: schemathesis sends generated bodies as raw bytes, as it does
# for application/octet-stream.
schemathesis.serializer.alias("application/zip", "application/octet-stream")


@pytest.fixture
def riverside(db: Database, tmp_path: Path) -> District:
    district = RosterAdmin(db, PasswordHasher()).create_district("riverside", "Riverside")
    RosterImporter(db).import_package(district.id, copy_sample(tmp_path, "sample"))
    return district


@pytest.fixture
def app_id(db: Database) -> str:
    registry = AppRegistry(db, b"k" * 32)
    return registry.create_app("Reader", ["https://reader.example/cb"]).app.id


@pytest.fixture
def sharing(db: Database) -> SharingService:
    return SharingService(db)
