"""Portal sessions on every KV backend: create, read, idle/absolute expiry, end everywhere."""

from __future__ import annotations

import time

from homeroom.identity.sessions import SessionStore
from homeroom.ids import new_id
from homeroom.storage.kv import KV


def test_start_get_end(kv: KV) -> None:
    store = SessionStore(kv)
    d, u = new_id("district"), new_id("user")
    s = store.start(d, u, "password")
    got = store.get(s.id)
    assert got == s
    s2 = store.add_app(s, "app_x")
    assert store.get(s.id).apps == ("app_x",)  # type: ignore[union-attr]
    ended = store.end(s2.id)
    assert ended is not None and ended.apps == ("app_x",)
    assert store.get(s.id) is None
    assert store.end(s.id) is None


def test_idle_timeout(kv: KV) -> None:
    store = SessionStore(kv, idle_timeout_s=1, absolute_timeout_s=60)
    s = store.start(new_id("district"), new_id("user"), "badge")
    time.sleep(0.6)
    assert store.get(s.id) is not None  # touching refreshes the idle timer
    time.sleep(0.6)
    assert store.get(s.id) is not None
    time.sleep(1.2)
    assert store.get(s.id) is None


def test_absolute_timeout_wins_over_activity(kv: KV) -> None:
    store = SessionStore(kv, idle_timeout_s=60, absolute_timeout_s=1)
    s = store.start(new_id("district"), new_id("user"), "password")
    assert store.get(s.id) is not None
    time.sleep(1.3)
    assert store.get(s.id) is None


def test_garbage_ids(kv: KV) -> None:
    store = SessionStore(kv)
    assert store.get("") is None
    assert store.get("x" * 500) is None
    assert store.get("nope") is None
