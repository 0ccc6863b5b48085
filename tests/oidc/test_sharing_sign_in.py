"""Sign-in and claims go through the district's sharing filter (issue 5): a user outside
the connection's schools, sections or rules cannot sign in to the app (``access_denied``),
ID tokens and userinfo carry only the shared field groups, and a user unshared later loses
userinfo and refresh. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from typing import Any

from homeroom.roster.models import Role
from homeroom.sharing.models import FieldGroup, ScopeMode
from homeroom.sharing.service import SharingService
from homeroom.tenancy import TenantScope
from tests.oidc.conftest import OP, PASSWORD, query_of


def id_token_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def share_grade(op: OP, grade: str, groups: tuple[FieldGroup, ...] = ()) -> None:
    op.container.sharing.set_connection(
        op.district, op.app.id, mode=ScopeMode.RULES, rules=[{"grade": grade}], field_groups=groups
    )
    op.container.oidc.clients.invalidate()


def add_third_grader(op: OP) -> str:
    op.container.roster_admin.create_user(
        "springfield",
        username="bart",
        role=Role.STUDENT,
        given_name="Bart",
        family_name="Simpson",
        email="bart@springfield.example",
        grade="03",
        password=PASSWORD,
    )
    return "bart"


def test_a_user_outside_the_shared_rules_is_access_denied(op: OP) -> None:
    add_third_grader(op)
    share_grade(op, "03")
    op.login()  # lisa: no grade, not shared
    q = query_of(op.authorize().headers["location"])
    assert q["error"] == "access_denied" and q["state"] == "st-123"
    op.login(username="bart")
    assert "code" in query_of(op.authorize().headers["location"])


def test_claims_carry_only_the_shared_field_groups(op: OP) -> None:
    add_third_grader(op)
    share_grade(op, "03")  # basic only, no email
    op.login(username="bart")
    r = op.authorize(scope="openid profile email")
    body = op.exchange(query_of(r.headers["location"])["code"]).json()
    claims = id_token_claims(body["id_token"])
    assert claims["name"] and claims["given_name"] == "Bart"
    assert "email" not in claims
    info = op.client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200 and "email" not in info.json()
    share_grade(op, "03", (FieldGroup.EMAIL,))
    r = op.authorize(scope="openid profile email")
    body = op.exchange(query_of(r.headers["location"])["code"]).json()
    assert id_token_claims(body["id_token"])["email"] == "bart@springfield.example"


def test_a_user_unshared_later_loses_userinfo_and_refresh(op: OP) -> None:
    add_third_grader(op)
    share_grade(op, "03")
    op.login(username="bart")
    r = op.authorize(scope="openid profile offline_access")
    body = op.exchange(query_of(r.headers["location"])["code"]).json()
    share_grade(op, "04")
    info = op.client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 401
    refreshed = op.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        auth=(op.app.id, op.secret),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_user_fields_answers_like_sign_in(op: OP) -> None:
    add_third_grader(op)
    share_grade(op, "03", (FieldGroup.EMAIL,))
    with TenantScope(op.district.id), op.container.db.scoped() as uow:
        lisa = SharingService.user_fields(uow, op.app.id, op.student.id)
        bart = uow.users.by_username("bart")
        assert bart is not None
        fields = SharingService.user_fields(uow, op.app.id, bart.id)
    assert lisa is None
    assert fields is not None and "email" in fields
