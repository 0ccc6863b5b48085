"""``GET /api/v1/audit``: a district admin reads and exports their own district's events."""

from __future__ import annotations

import csv
import io

from homeroom.roster.models import Role
from tests.oidc.conftest import OP, PASSWORD, op

__all__ = ["op"]


def _admin(op: OP) -> None:
    op.container.roster_admin.create_user(
        op.district.slug, username="skinner", role=Role.DISTRICT_ADMIN, password=PASSWORD
    )
    assert op.login(username="skinner").status_code == 200


def test_requires_a_session(op: OP) -> None:
    r = op.client.get("/api/v1/audit")
    assert r.status_code == 401


def test_a_student_is_refused(op: OP) -> None:
    op.login()
    r = op.client.get("/api/v1/audit")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_admin_lists_sign_ins_and_the_export_is_audited(op: OP) -> None:
    op.login(password="wrong-password-1")
    _admin(op)
    body = op.client.get("/api/v1/audit").json()
    actions = [e["action"] for e in body["events"]]
    assert {"district.create", "user.create", "signin.failure", "signin.success"} <= set(actions)
    assert {e["district_id"] for e in body["events"]} == {op.district.id}
    again = op.client.get("/api/v1/audit", params={"action": "audit.export"}).json()
    assert [e["detail"]["format"] for e in again["events"]] == ["json"]


def test_csv_export(op: OP) -> None:
    _admin(op)
    r = op.client.get("/api/v1/audit", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and {row["district_id"] for row in rows} == {op.district.id}
    assert "signin.success" in {row["action"] for row in rows}


def test_since_filters_and_bad_since_is_400(op: OP) -> None:
    _admin(op)
    assert op.client.get("/api/v1/audit", params={"since": "2999-01-01"}).json()["events"] == []
    r = op.client.get("/api/v1/audit", params={"since": "yesterday"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_client_credentials_issuance_is_audited(op: OP) -> None:
    r = op.token({"grant_type": "client_credentials"}, auth=(op.app.id, op.secret))
    assert r.status_code == 200, r.text
    _admin(op)
    events = op.client.get("/api/v1/audit", params={"action": "app.token"}).json()["events"]
    assert [(e["actor"], e["detail"]["scope"]) for e in events] == [
        (f"app:{op.app.id}", "roster.read")
    ]
