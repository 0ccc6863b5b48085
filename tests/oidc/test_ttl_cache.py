"""The provider's record cache (``oidc.cache.TTLCache``): an expired entry is reloaded by one
caller while the others keep the old value, and a load that overlapped ``invalidate`` is
not kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from homeroom.oidc.cache import TTLCache


def _expire(cache: TTLCache[Any], key: str) -> None:
    """Make ``key``'s entry look ``ttl_s`` old (no sleeping in tests)."""
    _expires, value = cache._data[key]
    cache._data[key] = (time.monotonic() - 1, value)


class _GatedLoad:
    """A load that reports when it starts and returns only once released."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        assert self.release.wait(10)
        return self.value


def _in_thread(fn: Callable[[], str]) -> tuple[threading.Thread, list[str]]:
    out: list[str] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    return thread, out


def test_while_one_caller_reloads_an_expired_entry_the_others_get_the_old_value() -> None:
    cache: TTLCache[str] = TTLCache(ttl_s=30)
    assert cache.get_or_load("app", lambda: "v1") == "v1"
    _expire(cache, "app")
    reload = _GatedLoad("v2")
    loader, loaded = _in_thread(lambda: cache.get_or_load("app", reload))
    assert reload.started.wait(10)
    others: list[str] = []

    def must_not_load() -> str:
        others.append("loaded")
        return "v-other"

    # Thirty requests arrive while the reload is under way: none of them reads again.
    served = [cache.get_or_load("app", must_not_load) for _ in range(30)]
    assert served == ["v1"] * 30 and others == []
    reload.release.set()
    loader.join(10)
    assert loaded == ["v2"] and reload.calls == 1
    assert cache.get_or_load("app", must_not_load) == "v2"  # fresh for ttl_s again


def test_a_failed_reload_lets_the_next_caller_try_again() -> None:
    cache: TTLCache[str] = TTLCache(ttl_s=30)
    cache.get_or_load("app", lambda: "v1")
    _expire(cache, "app")

    def down() -> str:
        raise ConnectionError("database unavailable")

    with pytest.raises(ConnectionError):
        cache.get_or_load("app", down)
    assert cache.get_or_load("app", lambda: "v2") == "v2"


def test_a_load_that_overlapped_invalidate_is_returned_but_not_kept() -> None:
    """An admin disables the app while a reload that read the old row is under way: the
    next request must read again, not be served that old row for another ttl_s."""
    cache: TTLCache[str] = TTLCache(ttl_s=30)
    cache.get_or_load("app", lambda: "active")
    _expire(cache, "app")
    reload = _GatedLoad("active")  # read before the change
    loader, loaded = _in_thread(lambda: cache.get_or_load("app", reload))
    assert reload.started.wait(10)
    cache.invalidate("app")
    reload.release.set()
    loader.join(10)
    assert loaded == ["active"]
    assert cache.get_or_load("app", lambda: "disabled") == "disabled"


def test_a_key_never_loaded_is_loaded_by_its_caller() -> None:
    cache: TTLCache[str] = TTLCache(ttl_s=30)
    assert cache.get_or_load("a", lambda: "x") == "x"
    assert cache.get_or_load("a", lambda: "y") == "x"
    cache.invalidate()
    assert cache.get_or_load("a", lambda: "y") == "y"


@dataclass(frozen=True)
class _Record:
    id: str
    status: str


def test_a_reload_that_finds_the_record_unchanged_keeps_the_cached_object() -> None:
    """Answers tied to the object (``oidc.sign_in_check``) must survive a routine reload, and
    must not survive a change."""
    cache: TTLCache[_Record] = TTLCache(ttl_s=30)
    first = cache.get_or_load("app", lambda: _Record("app", "active"))
    _expire(cache, "app")
    again = cache.get_or_load("app", lambda: _Record("app", "active"))
    assert again is first
    _expire(cache, "app")
    changed = cache.get_or_load("app", lambda: _Record("app", "suspended"))
    assert changed == _Record("app", "suspended") and changed is not first
    assert cache.get_or_load("app", lambda: _Record("app", "other")) is changed
