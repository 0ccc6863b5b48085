"""The one sign-in guard (``identity.lockout`` on ``ops.ratelimit``): per-address limit and
per-account lockout, on the limits library's memory and Redis storage."""

from __future__ import annotations

import time

import pytest

from homeroom.config import networks
from homeroom.errors import RateLimited
from homeroom.identity.lockout import BADGE_ACCOUNT, SignInLocked, SignInLockout
from homeroom.ids import new_id
from homeroom.ops.metrics import RATE_LIMITED
from homeroom.ops.ratelimit import RateLimiter


def _guard(kv_backend: str, request: pytest.FixtureRequest, **rates: str) -> SignInLockout:
    url = "" if kv_backend == "memory" else str(request.getfixturevalue("redis_url"))
    limits = {"ip": "100/minute", "account": "3/minute"} | rates
    return SignInLockout(RateLimiter(limits, redis_url=url, timeout_s=2))


def _refused(category: str) -> float:
    return RATE_LIMITED.labels(category=category)._value.get()


def test_failures_lock_the_account_for_that_address_only(
    kv_backend: str, request: pytest.FixtureRequest
) -> None:
    guard = _guard(kv_backend, request)
    d, other = new_id("district"), new_id("district")
    for n in range(3):
        guard.admit(d, "kid", "10.0.0.1")
        assert guard.failed(d, "kid", "10.0.0.1") is (n == 2)  # the third failure locks
    before = _refused("account")
    with pytest.raises(SignInLocked) as locked:
        guard.admit(d, " KID ", "10.0.0.1")  # any spelling of the name
    assert int(locked.value.headers["Retry-After"]) >= 1
    assert locked.value.headers["X-RateLimit-Remaining"] == "0"
    assert _refused("account") == before + 1
    guard.admit(d, "kid", "10.0.0.2")  # a classmate's device is not locked out
    guard.admit(other, "kid", "10.0.0.1")  # nor the same name in another district
    guard.admit(d, "other-kid", "10.0.0.1")


def test_a_success_forgets_the_failures(kv_backend: str, request: pytest.FixtureRequest) -> None:
    guard = _guard(kv_backend, request)
    d = new_id("district")
    for _ in range(2):
        guard.failed(d, "kid", "ip")
    guard.succeeded(d, "kid", "ip")
    for _ in range(2):
        assert guard.failed(d, "kid", "ip") is False
    guard.admit(d, "kid", "ip")


def test_the_lockout_is_temporary(kv_backend: str, request: pytest.FixtureRequest) -> None:
    guard = _guard(kv_backend, request, account="2/second")
    d = new_id("district")
    guard.failed(d, "kid", "ip")
    guard.failed(d, "kid", "ip")
    with pytest.raises(SignInLocked):
        guard.admit(d, "kid", "ip")
    time.sleep(1.2)
    guard.admit(d, "kid", "ip")


def test_failures_count_against_the_address_and_successes_do_not(
    kv_backend: str, request: pytest.FixtureRequest
) -> None:
    """A school behind one NAT address signs in all at once: successes cost nothing. Guesses
    across many accounts from one address are stopped once its failures reach the limit."""
    guard = _guard(kv_backend, request, ip="3/minute")
    d = new_id("district")
    ip = f"192.0.2.7-{new_id('user')}"  # one key per run: Redis outlives a test
    for n in range(20):
        guard.admit(d, f"student{n}", ip)  # twenty sign-ins that succeed
        guard.succeeded(d, f"student{n}", ip)
    for n in range(3):
        guard.admit(d, f"guess{n}", ip)
        guard.failed(d, f"guess{n}", ip)
    before = _refused("ip")
    with pytest.raises(RateLimited) as refused:
        guard.admit(d, "student0", ip)  # even a real student, until the window moves on
    assert not isinstance(refused.value, SignInLocked)
    assert int(refused.value.headers["Retry-After"]) >= 1
    assert _refused("ip") == before + 1
    guard.admit(d, "someone-else", ip + "0")  # another address is fine


def test_badge_failures_count_against_the_address_only(
    kv_backend: str, request: pytest.FixtureRequest
) -> None:
    """A badge names no account: its failures never lock "the badge account" of a school's
    address (three here, the account limit), only the address's failure budget applies."""
    guard = _guard(kv_backend, request, ip="5/minute")
    d = new_id("district")
    ip = f"10.0.0.1-{new_id('user')}"
    for _ in range(4):
        guard.admit(d, BADGE_ACCOUNT, ip)
        assert guard.failed(d, BADGE_ACCOUNT, ip) is False
    guard.admit(d, BADGE_ACCOUNT, ip)  # past the account limit of 3: still open
    guard.failed(d, BADGE_ACCOUNT, ip)
    with pytest.raises(RateLimited) as refused:
        guard.admit(d, BADGE_ACCOUNT, ip)
    assert not isinstance(refused.value, SignInLocked)
    guard.admit(d, BADGE_ACCOUNT, ip + "9")


def test_disabled_limits_never_refuse() -> None:
    guard = SignInLockout(RateLimiter({"ip": "1/minute", "account": "1/minute"}, enabled=False))
    d = new_id("district")
    for _ in range(5):
        guard.admit(d, "kid", "ip")
        assert guard.failed(d, "kid", "ip") is False


def test_school_networks_have_a_budget_of_their_own(
    kv_backend: str, request: pytest.FixtureRequest
) -> None:
    """A district's NAT address in ``school_networks`` counts its failures against the
    ``school`` budget (larger: a whole district's typos), any other address against ``ip``."""
    url = "" if kv_backend == "memory" else str(request.getfixturevalue("redis_url"))
    limiter = RateLimiter(
        {"ip": "3/minute", "school": "6/minute", "account": "100/minute"},
        redis_url=url,
        timeout_s=2,
    )
    run = int(new_id("user")[-6:], 36) % 250  # one address per run: Redis outlives a test
    guard = SignInLockout(limiter, school_networks=networks(f"10.{run}.0.0/16, 2001:db8::/32"))
    d = new_id("district")
    school, home = f"10.{run}.4.7", f"192.0.{run}.9"
    for n in range(5):
        guard.admit(d, f"typo{n}", school)
        guard.failed(d, f"typo{n}", school)
    guard.admit(d, "kid", school)  # five failures: past the ip budget, within the school's
    for n in range(3):
        guard.failed(d, f"guess{n}", home)
    with pytest.raises(RateLimited):
        guard.admit(d, "kid", home)
    guard.failed(d, "typo5", school)
    before = _refused("school")
    with pytest.raises(RateLimited):
        guard.admit(d, "kid", school)
    assert _refused("school") == before + 1
    assert guard._address_category("2001:db8::7") == "school"
    assert guard._address_category("not-an-address") == "ip"
