"""schemathesis over the whole app's OpenAPI schema (``/api/openapi.json``: health,
status, the district-admin API and both roster APIs), through the real authentication: a
client_credentials token from ``/token`` and a district admin's portal session. Generated
requests, valid and invalid, never get a server error, an undocumented status or a
response that violates the schema. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from homeroom.roster.models import Role
from tests.conftest import SqlTarget
from tests.roster.test_roster_admin_api import PASSWORD, login
from tests.roster.test_roster_e2e import open_world

# The current test's credentials (a schemathesis test may request no other fixture).
AUTH: dict[str, str] = {}


@pytest.fixture
def api_schema(sql_target: SqlTarget, tmp_path: Path) -> Iterator[schemathesis.schemas.BaseSchema]:
    for world in open_world(sql_target, tmp_path):
        world.container.roster_admin.create_user(
            "riverside", username="admin", role=Role.DISTRICT_ADMIN, password=PASSWORD
        )
        login(world, "riverside")
        cookie = world.client.cookies.get("homeroom_session")
        assert cookie
        AUTH.clear()
        AUTH.update({**world.bearer(), "Cookie": f"homeroom_session={cookie}"})
        yield schemathesis.openapi.from_asgi("/api/openapi.json", world.client.app)
        AUTH.clear()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_whole_api_conforms(case: schemathesis.Case) -> None:
    # As in test_roster_api_schema: a OneRoster filter/sort/fields value or an uploaded
    # package can fit the schema's type and still be refused (400/422) by a grammar that
    # does not fit in a JSON Schema. Every other check applies.
    case.call_and_validate(headers=dict(AUTH), excluded_checks=[positive_data_acceptance])
