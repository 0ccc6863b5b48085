"""An upstream IdP that hangs: calls time out, the breaker opens and later calls fail at
once without touching the upstream; when it heals, a half-open trial closes the breaker."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from homeroom.errors import ServiceUnavailable
from homeroom.ops.breaker import BreakerState, CircuitOpen
from homeroom.ops.retry import RetryBudget
from homeroom.ops.upstream import UpstreamGuard
from tests.faults.servers import BlackHole

RESET_S = 1.0


@pytest.fixture
def hung_idp() -> Iterator[BlackHole]:
    server = BlackHole()
    yield server
    server.close()


def test_hanging_upstream_opens_the_breaker_and_recovers(hung_idp: BlackHole) -> None:
    upstream_hang_drill(hung_idp, "fault-idp", failure_threshold=2)


def upstream_hang_drill(hung_idp: BlackHole, name: str, failure_threshold: int) -> None:
    """The checks; ``test_mechanisms_matter`` runs them with a breaker that never opens."""
    guard = UpstreamGuard.for_upstream(
        name,
        failure_threshold=failure_threshold,
        reset_timeout_s=RESET_S,
        attempts=2,
        budget=RetryBudget(ratio=1.0, min_per_s=10),
    )
    url = f"http://127.0.0.1:{hung_idp.port}/.well-known/openid-configuration"
    http = httpx.Client(timeout=0.3)

    def fetch() -> httpx.Response:
        return http.get(url).raise_for_status()

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as first:
        guard.call(fetch)  # timeout, one jittered retry, timeout: now 2 failures -> open
    assert time.monotonic() - started < 5  # bounded by the client timeout, not a hang
    assert not isinstance(first.value, CircuitOpen)
    assert guard.breaker.state is BreakerState.OPEN
    assert REGISTRY.get_sample_value("homeroom_breaker_state", {"breaker": name}) == 2

    seen = hung_idp.connections
    for _ in range(20):
        with pytest.raises(CircuitOpen) as rejected:
            guard.call(fetch)
        assert rejected.value.retry_after >= 1
    assert hung_idp.connections == seen  # an open breaker never touches the upstream
    rejected_total = REGISTRY.get_sample_value("homeroom_breaker_rejected_total", {"breaker": name})
    assert rejected_total is not None and rejected_total >= 20

    hung_idp.answer = True  # the IdP heals
    time.sleep(RESET_S + 0.1)
    assert guard.call(fetch).json() == {"ok": True}  # the half-open trial succeeds
    assert guard.breaker.state is BreakerState.CLOSED
    assert REGISTRY.get_sample_value("homeroom_breaker_state", {"breaker": name}) == 0
    for outcome in ("error", "ok"):  # upstream latency, per outcome, on /metrics
        labels = {"upstream": name, "outcome": outcome}
        observed = REGISTRY.get_sample_value("homeroom_upstream_seconds_count", labels)
        assert observed is not None and observed >= 1, outcome
    http.close()
