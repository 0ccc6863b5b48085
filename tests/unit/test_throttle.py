"""Sign-in throttling on every KV backend. Each test fails when its mechanism is removed:
no lock key → the account is never refused; no IP counter → the IP is never refused."""

from __future__ import annotations

import time

from homeroom.identity.throttle import LoginThrottle
from homeroom.ids import new_id
from homeroom.storage.kv import KV


def test_account_locks_after_max_failures_and_unlocks_later(kv: KV) -> None:
    throttle = LoginThrottle(kv, max_failures=3, lockout_s=1)
    d = new_id("district")
    for _ in range(2):
        assert throttle.check(d, "10.0.0.1", "kid") is None
        assert throttle.failed(d, "kid") is False
    assert throttle.check(d, "10.0.0.1", "kid") is None
    assert throttle.failed(d, "kid") is True  # the third failure locks
    refusal = throttle.check(d, "10.0.0.2", "KID ")  # any IP, any spelling of the name
    assert refusal is not None and refusal.reason == "locked" and refusal.retry_after >= 1
    time.sleep(1.2)
    assert throttle.check(d, "10.0.0.1", "kid") is None  # temporary, not forever


def test_success_resets_the_failure_count(kv: KV) -> None:
    throttle = LoginThrottle(kv, max_failures=3)
    d = new_id("district")
    throttle.failed(d, "kid")
    throttle.failed(d, "kid")
    throttle.succeeded(d, "kid")
    assert throttle.failed(d, "kid") is False
    assert throttle.failed(d, "kid") is False
    assert throttle.check(d, "ip", "kid") is None


def test_lockout_is_per_district(kv: KV) -> None:
    throttle = LoginThrottle(kv, max_failures=1)
    a, b = new_id("district"), new_id("district")
    assert throttle.failed(a, "kid") is True
    assert throttle.check(a, "ip", "kid") is not None
    assert throttle.check(b, "ip", "kid") is None


def test_ip_is_throttled_across_accounts(kv: KV) -> None:
    throttle = LoginThrottle(kv, max_attempts_per_ip=3, ip_window_s=60)
    d = new_id("district")
    for n in range(3):
        assert throttle.check(d, "192.0.2.7", f"user{n}") is None
    refusal = throttle.check(d, "192.0.2.7", "someone-else")
    assert refusal is not None and refusal.reason == "throttled"
    assert 1 <= refusal.retry_after <= 60
    assert throttle.check(d, "192.0.2.8", "someone-else") is None  # another IP is fine
