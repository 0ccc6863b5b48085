"""``--fail-on`` parsing and evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from homeroom.errors import InvalidInput
from homeroom.loadtest.thresholds import breaches, parse_fail_on


def summary(**overrides: Any) -> dict[str, Any]:
    step = {"count": 10, "p50_ms": 3.0, "p95_ms": 20.0, "p99_ms": 60.0, "max_ms": 90.0}
    base: dict[str, Any] = {
        "steps": {
            "instant_login.token": step,
            "instant_login.userinfo": {**step, "p99_ms": 10.0},
            "idle.step": {**step, "count": 0, "p99_ms": 999.0},
        },
        "errors": 0,
        "error_rate": 0.0,
        "down_minutes": 0,
        "logins_per_s": 1000.0,
    }
    return {**base, **overrides}


def test_parse_units_and_metrics() -> None:
    ts = parse_fail_on("p99>50ms, max>=1.5s,errors>0,error_rate>1%,down_buckets>0,logins_per_s<900")
    assert [(t.metric, t.op, t.value) for t in ts] == [
        ("p99", ">", 50.0),
        ("max", ">=", 1500.0),
        ("errors", ">", 0.0),
        ("error_rate", ">", 0.01),
        ("down_minutes", ">", 0.0),
        ("logins_per_s", "<", 900.0),
    ]
    step = parse_fail_on("p95:token>20")[0]
    assert step.step == "token" and step.value == 20.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99 50ms", "cannot read"),
        ("p42>1ms", "unknown metric"),
        ("p99>5%", "ms or s"),
        ("errors>1ms", "not a duration"),
        ("errors:token>1", "takes no step"),
        ("down_minutes>5%", "only error_rate"),
    ],
)
def test_parse_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_fail_on(text)


def test_breaches_name_the_threshold_and_the_step() -> None:
    ts = parse_fail_on("p99>50ms,errors>0,down_minutes>0,logins_per_s<900")
    assert breaches(ts, summary()) == ["p99>50ms (instant_login.token: 60.0 ms)"]
    found = breaches(ts, summary(errors=3, down_minutes=1, logins_per_s=850.0))
    assert found[1:] == [
        "errors>0 (observed 3)",
        "down_minutes>0 (observed 1)",
        "logins_per_s<900 (observed 850)",
    ]
    assert breaches(parse_fail_on("p99:userinfo>50ms"), summary()) == []
    assert breaches(parse_fail_on("p99:nope>1ms"), summary()) == [
        "p99:nope>1ms (no step named 'nope' in this run)"
    ]


def test_a_failure_while_settling_breaks_the_errors_gate() -> None:
    settling = {"seconds": 5.0, "flows_ok": 99, "flows_failed": 1}
    assert breaches(parse_fail_on("errors>0"), summary(settling=settling)) == [
        "errors>0 (observed 1)"
    ]
    assert (
        breaches(parse_fail_on("errors>0"), summary(settling={**settling, "flows_failed": 0})) == []
    )
