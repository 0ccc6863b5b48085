"""Mapping an upstream subject to a roster user: only by the configured claim, only in the
district that configured the IdP, exactly one active user or nobody."""

from __future__ import annotations

import pytest

from homeroom.identity.upstream import UpstreamUnmatched
from homeroom.ids import new_id
from homeroom.roster.models import Role, User
from homeroom.tenancy import TenantScope
from homeroom.wiring import Container
from tests.oidc.conftest import set_user_status


def _sis_user(container: Container, slug: str, sourced_id: str) -> User:
    """A rostered user as an SIS import creates it: with its ``sourced_id``."""
    district = container.roster_admin.district(slug)
    user = User(
        district_id=district.id,
        id=new_id("user"),
        role=Role.STUDENT,
        username=f"kid-{sourced_id}",
        given_name="Kid",
        family_name="",
        sourced_id=sourced_id,
    )
    with TenantScope(district.id), container.db.scoped() as uow:
        uow.users.add(user)
    return user


def test_matching_by_sis_id_email_verification_ambiguity_and_status(
    container: Container,
) -> None:
    admin = container.roster_admin
    alpha = admin.create_district("alpha", "Alpha Unified")
    admin.create_district("beta", "Beta County Schools")
    kid = _sis_user(container, "alpha", "S-100")
    _sis_user(container, "beta", "S-200")
    twin1 = admin.create_user("alpha", username="t1", role=Role.STUDENT, email="twin@x.example")
    admin.create_user("alpha", username="t2", role=Role.STUDENT, email="TWIN@x.example")
    by_sis = container.upstream_idps.add(
        alpha,
        name="SIS ID",
        issuer="https://idp.example",
        client_id="c",
        client_secret="s",
        match="sis_id",
        claim="employee_id",
    )
    alpha = admin.district("alpha")
    by_email = container.upstream_idps.add(
        alpha,
        name="Mail",
        issuer="https://idp2.example",
        client_id="c",
        client_secret="s",
        match="email",
    )
    login = container.upstream_login
    assert login._match(alpha, by_sis, {"sub": "u1", "employee_id": "S-100"}, "ip").id == kid.id
    refusals = [
        (by_sis, {"sub": "u1", "sis_id": "S-100"}),  # another claim than the configured one
        (by_sis, {"sub": "u1", "employee_id": "S-200"}),  # a user of beta
        (by_email, {"sub": "u1", "email": "twin@x.example"}),  # two users: ambiguous
        (by_sis, {"sub": "u1", "employee_id": ["S-100"]}),  # not a string
    ]
    for idp, claims in refusals:
        with pytest.raises(UpstreamUnmatched):
            login._match(alpha, idp, claims, "ip")
    with TenantScope(alpha.id), container.db.scoped() as uow:
        uow.users.delete(twin1.id)
    single = {"sub": "u1", "email": "twin@x.example"}
    assert login._match(alpha, by_email, single, "ip").username == "t2"
    with pytest.raises(UpstreamUnmatched):
        login._match(alpha, by_email, {**single, "email_verified": False}, "ip")
    set_user_status(container, kid, "inactive")
    with pytest.raises(UpstreamUnmatched):
        login._match(alpha, by_sis, {"sub": "u1", "employee_id": "S-100"}, "ip")
