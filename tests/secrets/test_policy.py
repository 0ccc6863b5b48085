"""Deny by default: the web process reads only */homeroom-web/*; denials are audited."""

from __future__ import annotations

import pytest

from homeroom.errors import InvalidInput, NotFound, PermissionDenied
from homeroom.secrets import ADMIN, WEB, Capability, SecretStore
from homeroom.secrets.policy import parse_capabilities

OTHER = "secret://production/billing/stripe-key"
MINE = "secret://production/homeroom-web/session-cookie-key"


def test_web_reads_only_its_own_secrets(store: SecretStore) -> None:
    store.put(ADMIN, OTHER, b"billing-value-1")
    store.put(ADMIN, MINE, b"cookie-value-1")
    assert store.get(WEB, MINE).value == b"cookie-value-1"
    with pytest.raises(PermissionDenied, match="homeroom-web may not read production/billing"):
        store.get(WEB, OTHER)
    with pytest.raises(PermissionDenied, match="may not write"):
        store.put(WEB, MINE, b"overwrite-attempt")
    with pytest.raises(PermissionDenied):
        store.resolve_many(WEB, [MINE, OTHER])
    assert store.list_secrets(WEB) == []  # no list capability: sees nothing
    assert store.get(ADMIN, MINE).version == 1  # nothing changed
    denials = [r for r in store.audit_tail(20) if r["outcome"] == "denied"]
    assert [(r["actor"], r["action"], r["path"]) for r in denials] == [
        (WEB, "read", "production/billing/stripe-key"),
        (WEB, "write", "production/homeroom-web/session-cookie-key"),
        (WEB, "read", "production/billing/stripe-key"),
    ]


def test_unknown_identity_is_denied_everything(store: SecretStore) -> None:
    store.put(ADMIN, OTHER, b"billing-value-1")
    for call in (
        lambda: store.get("billing-worker", OTHER),
        lambda: store.put("billing-worker", OTHER, b"x" * 10),
        lambda: store.destroy("billing-worker", OTHER, [1]),
        lambda: store.rollback("billing-worker", OTHER),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_grants_and_revocation(store: SecretStore) -> None:
    store.put(ADMIN, OTHER, b"billing-value-1")
    store.grant(ADMIN, "billing-worker", "*/billing/*", parse_capabilities("read,list"))
    assert store.get("billing-worker", OTHER).value == b"billing-value-1"
    with pytest.raises(PermissionDenied):
        store.put("billing-worker", OTHER, b"x" * 10)
    with pytest.raises(PermissionDenied, match="may not change policies"):
        store.grant("billing-worker", "billing-worker", "*/*/*", frozenset(Capability))
    store.revoke(ADMIN, "billing-worker", "*/billing/*")
    with pytest.raises(PermissionDenied):
        store.get("billing-worker", OTHER)
    with pytest.raises(NotFound):
        store.revoke(ADMIN, "billing-worker", "*/billing/*")


def test_bad_patterns_and_capabilities() -> None:
    with pytest.raises(InvalidInput):
        parse_capabilities("read,sudo")
    from homeroom.secrets import Grant

    with pytest.raises(InvalidInput):
        Grant("x", "billing/*", frozenset())
    grant = Grant("x", "*/homeroom-web/*", frozenset({Capability.READ}))
    assert grant.matches("production/homeroom-web/a")
    assert not grant.matches("production/homeroom-webx/a")
    assert not grant.matches("production/billing/homeroom-web")
