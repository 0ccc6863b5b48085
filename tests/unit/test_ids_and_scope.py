"""Typed ids and the tenant scope context."""

from __future__ import annotations

import contextvars
import threading

import pytest

from homeroom.errors import TenantScopeError
from homeroom.ids import is_id, new_id
from homeroom.tenancy import TenantScope, current_district, require_district


def test_ids_are_typed_and_unique() -> None:
    ids = {new_id("user") for _ in range(1000)}
    assert len(ids) == 1000
    some = next(iter(ids))
    assert some.startswith("usr_") and is_id(some, "user") and not is_id(some, "section")
    assert not is_id("usr_../../etc") and not is_id("12345")


def test_scope_sets_and_resets() -> None:
    d = new_id("district")
    assert current_district() is None
    with TenantScope(d):
        assert require_district() == d
        with TenantScope(d):  # re-entering the same district is fine
            assert require_district() == d
    assert current_district() is None
    with pytest.raises(TenantScopeError):
        require_district()


def test_scope_refuses_a_second_district_and_bad_ids() -> None:
    with TenantScope(new_id("district")), pytest.raises(TenantScopeError):
        TenantScope(new_id("district")).__enter__()
    with pytest.raises(TenantScopeError):
        TenantScope("usr_" + "a" * 20)


def test_scope_does_not_leak_into_other_threads() -> None:
    seen: list[str | None] = []
    with TenantScope(new_id("district")):
        t = threading.Thread(target=lambda: seen.append(current_district()))
        t.start()
        t.join()
        ctx = contextvars.copy_context()  # what Starlette's threadpool uses
        inherited = ctx.run(current_district)
    assert seen == [None]
    assert inherited is not None
