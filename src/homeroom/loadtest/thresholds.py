"""``--fail-on``: turn a run into a gate.

Grammar, comma-separated conditions that each describe a *failure*::

    p99>50ms          any step's p99 above 50 ms (also p50, p95, p999, max, mean)
    p99:token>20ms    one step (matched as a suffix: ``token`` matches ``instant_login.token``)
    errors>0          failed flows, all kinds (those of the settling stretch too)
    error_rate>1%     failed flows / all flows
    down_minutes>0    down buckets (``down_buckets`` is a synonym)
    logins_per_s<900  mean completed logins per second over the run's busiest phase

Latencies accept ``ms`` or ``s`` (default ms). A breached threshold is reported by its text.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeroom.errors import InvalidInput

__all__ = ["Threshold", "breaches", "parse_fail_on"]

_LATENCY = {"p50": "p50_ms", "p95": "p95_ms", "p99": "p99_ms", "max": "max_ms", "mean": "mean_ms"}
_SCALARS = {"errors", "error_rate", "down_minutes", "down_buckets", "logins_per_s"}
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_PATTERN = re.compile(
    r"^(?P<metric>[a-z_0-9]+)(?::(?P<step>[A-Za-z0-9_.\-]+))?\s*"
    r"(?P<op>>=|<=|>|<)\s*(?P<value>[0-9]*\.?[0-9]+)\s*(?P<unit>ms|s|%)?$"
)


@dataclass(frozen=True, slots=True)
class Threshold:
    text: str
    metric: str
    op: str
    value: float
    step: str | None = None

    def check(self, value: float) -> bool:
        """True when ``value`` breaches this threshold."""
        return _OPS[self.op](value, self.value)


def parse_fail_on(text: str) -> list[Threshold]:
    out: list[Threshold] = []
    for raw in (p.strip() for p in text.split(",")):
        if not raw:
            continue
        m = _PATTERN.match(raw.replace(" ", ""))
        if m is None:
            raise InvalidInput(f"--fail-on: cannot read {raw!r} (expected e.g. 'p99>50ms')")
        metric, unit = m["metric"], m["unit"]
        value = float(m["value"])
        if metric in _LATENCY:
            if unit == "%":
                raise InvalidInput(f"--fail-on: {raw!r}: a latency takes ms or s")
            value = value * 1000 if unit == "s" else value
        elif metric in _SCALARS:
            if m["step"]:
                raise InvalidInput(f"--fail-on: {raw!r}: {metric} takes no step")
            if unit in ("ms", "s"):
                raise InvalidInput(f"--fail-on: {raw!r}: {metric} is not a duration")
            if metric == "error_rate":
                value = value / 100 if unit == "%" else value
            elif unit == "%":
                raise InvalidInput(f"--fail-on: {raw!r}: only error_rate takes %")
            metric = "down_minutes" if metric == "down_buckets" else metric
        else:
            known = ", ".join([*_LATENCY, *sorted(_SCALARS)])
            raise InvalidInput(f"--fail-on: unknown metric {metric!r} (known: {known})")
        out.append(Threshold(raw, metric, m["op"], value, m["step"]))
    return out


def breaches(thresholds: list[Threshold], summary: Mapping[str, Any]) -> list[str]:
    """The thresholds a report summary breaches, each with the observed value."""
    found: list[str] = []
    steps: Mapping[str, Mapping[str, float]] = summary["steps"]
    for t in thresholds:
        if t.metric in _LATENCY:
            field = _LATENCY[t.metric]
            chosen = {
                name: s
                for name, s in steps.items()
                if t.step is None or name == t.step or name.endswith("." + t.step)
            }
            if t.step is not None and not chosen:
                found.append(f"{t.text} (no step named {t.step!r} in this run)")
                continue
            for name, s in sorted(chosen.items()):
                if s["count"] and t.check(float(s[field])):
                    found.append(f"{t.text} ({name}: {s[field]:.1f} ms)")
        else:
            observed = float(summary[t.metric])
            if t.metric == "errors":  # a failure while settling is a failure all the same
                observed += float(summary.get("settling", {}).get("flows_failed", 0))
            if t.check(observed):
                found.append(f"{t.text} (observed {observed:g})")
    return found
