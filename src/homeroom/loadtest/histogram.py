"""A log-bucketed latency histogram: bounded memory, exact merge across processes.

Values are milliseconds. Buckets are 1 % wide (relative), the way HdrHistogram keeps a fixed
number of significant digits, so a percentile is reported to within 1 % of the true sample
while a run of millions of flows keeps a few hundred integers. Count, sum, min and max are
exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LatencyHistogram"]

_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)
_FLOOR_MS = 0.001  # 1 µs: anything faster is recorded as 1 µs


@dataclass
class LatencyHistogram:
    buckets: dict[int, int] = field(default_factory=dict)
    count: int = 0
    total_ms: float = 0.0
    min_ms: float = math.inf
    max_ms: float = 0.0

    @staticmethod
    def _key(ms: float) -> int:
        return math.floor(math.log(max(ms, _FLOOR_MS) / _FLOOR_MS) / _LOG_GROWTH)

    @staticmethod
    def _upper(key: int) -> float:
        return _FLOOR_MS * _GROWTH ** (key + 1)

    def record(self, ms: float) -> None:
        ms = max(ms, 0.0)
        key = self._key(ms)
        self.buckets[key] = self.buckets.get(key, 0) + 1
        self.count += 1
        self.total_ms += ms
        self.min_ms = min(self.min_ms, ms)
        self.max_ms = max(self.max_ms, ms)

    def merge(self, other: LatencyHistogram) -> None:
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n
        self.count += other.count
        self.total_ms += other.total_ms
        self.min_ms = min(self.min_ms, other.min_ms)
        self.max_ms = max(self.max_ms, other.max_ms)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile (the smallest value with at least p % of samples at or
        below it), reported as its bucket's upper edge clamped to [min, max]: never below
        the truth by more than the 1 % bucket width, never above the largest sample."""
        if not 0 < p <= 100:
            raise ValueError("percentile must be in (0, 100]")
        if self.count == 0:
            return 0.0
        rank = math.ceil(p / 100 * self.count)
        if rank <= 1:
            return self.min_ms  # the first-ranked sample is the minimum, known exactly
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= rank:
                return min(max(self._upper(key), self.min_ms), self.max_ms)
        return self.max_ms

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.count if self.count else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "count": self.count,
            "mean_ms": round(self.mean_ms, 3),
            "p50_ms": round(self.percentile(50), 3),
            "p95_ms": round(self.percentile(95), 3),
            "p99_ms": round(self.percentile(99), 3),
            "max_ms": round(self.max_ms, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "buckets": {str(k): v for k, v in self.buckets.items()},
            "count": self.count,
            "total_ms": self.total_ms,
            "min_ms": None if self.count == 0 else self.min_ms,
            "max_ms": self.max_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyHistogram:
        return cls(
            buckets={int(k): int(v) for k, v in data["buckets"].items()},
            count=int(data["count"]),
            total_ms=float(data["total_ms"]),
            min_ms=math.inf if data["min_ms"] is None else float(data["min_ms"]),
            max_ms=float(data["max_ms"]),
        )
