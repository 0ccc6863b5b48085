"""The OpenID Provider never lets one district's tokens or sessions reach another's data."""

from __future__ import annotations

from homeroom.roster.models import Role
from tests.oidc.conftest import OP, PASSWORD, op, query_of

__all__ = ["op"]  # the OpenID Provider fixture, shared with tests/oidc


def test_a_refresh_token_relabelled_with_another_district_is_invalid(op: OP) -> None:
    other = op.container.roster_admin.create_district("shelbyville", "Shelbyville")
    token = op.tokens()["refresh_token"]
    forged = other.id + token[len(op.district.id) :]
    r = op.token(
        {"grant_type": "refresh_token", "refresh_token": forged}, auth=(op.app.id, op.secret)
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    introspected = op.client.post(
        "/introspect", data={"token": forged}, auth=(op.app.id, op.secret)
    )
    assert introspected.json() == {"active": False}


def test_same_username_in_two_districts_signs_in_to_the_right_one(op: OP) -> None:
    other = op.container.roster_admin.create_district("shelbyville", "Shelbyville")
    twin = op.container.roster_admin.create_user(
        "shelbyville", username="lisa", role=Role.STUDENT, given_name="Other", password=PASSWORD
    )
    op.container.apps.connect(other, op.app.id)
    op.login()
    body = op.exchange(op.code(scope="openid profile")).json()
    info = op.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    ).json()
    assert info["sub"] == op.student.id and info["district"] == op.district.id
    assert info["sub"] != twin.id


def test_a_connection_in_one_district_does_not_open_the_app_in_another(op: OP) -> None:
    op.container.roster_admin.create_district("shelbyville", "Shelbyville")
    op.container.roster_admin.create_user(
        "shelbyville", username="bart", role=Role.STUDENT, password=PASSWORD
    )
    page = op.client.get("/login", params={"district": "shelbyville"})
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    op.client.post(
        "/login",
        data={
            "csrf_token": csrf.group(1),
            "district": "shelbyville",
            "username": "bart",
            "password": PASSWORD,
        },
    )
    r = op.authorize()
    assert query_of(r.headers["location"])["error"] == "access_denied"
