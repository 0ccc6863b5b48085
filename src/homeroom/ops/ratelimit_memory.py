"""An exact moving-window rate limit kept in this process's memory.

Same semantics as the ``limits`` library's ``MovingWindowRateLimiter`` (a hit of cost ``c``
passes when the hits of the last ``expiry`` seconds plus ``c`` stay within the amount; no
2x burst at a window edge), for the one-process quick-start server. Why not the library's
``MemoryStorage``: a profile of the token endpoint put a third of a client_credentials
grant in it (a list insert at the head per hit, a bisect per stats read, and a new expiry
timer thread started per hit). Here a key is a deque of ``[time, cost]`` entries with a
running total: a hit is a few pops and one append, and idle keys are swept on the way,
at most once per ``_SWEEP_EVERY_S``.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from limits import RateLimitItem
from limits.util import WindowStats

__all__ = ["InProcessMovingWindow", "WindowStats"]

_SWEEP_EVERY_S = 10.0


class _Window:
    __slots__ = ("entries", "expiry", "total")

    def __init__(self, expiry: int) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.expiry = expiry
        self.total = 0

    def expire(self, now: float) -> None:
        cutoff = now - self.expiry
        entries = self.entries
        while entries and entries[0][0] <= cutoff:
            self.total -= entries.popleft()[1]


class InProcessMovingWindow:
    """The strategy interface ``RateLimiter`` uses: ``hit``, ``get_window_stats``, ``clear``.

    Thread-safe (handlers run in a thread pool when the SQL store is PostgreSQL)."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + _SWEEP_EVERY_S

    @staticmethod
    def _key(item: RateLimitItem, identifiers: tuple[str, ...]) -> str:
        return item.key_for(*identifiers)

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        return self.hit_with_stats(item, identifiers, cost)[0]

    def hit_with_stats(
        self, item: RateLimitItem, identifiers: tuple[str, ...], cost: int = 1
    ) -> tuple[bool, WindowStats]:
        """One hit and the window after it, under one lock (``RateLimiter.hit`` needs both)."""
        key = self._key(item, identifiers)
        now = time.time()
        with self._lock:
            if time.monotonic() >= self._next_sweep:
                self._sweep(now)
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(item.get_expiry())
            window.expire(now)
            allowed = cost <= item.amount and window.total + cost <= item.amount
            if allowed:
                window.entries.append((now, cost))
                window.total += cost
            start = window.entries[0][0] if window.entries else now
            return allowed, WindowStats(start + window.expiry, item.amount - window.total)

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """(when the oldest hit in the window leaves it, hits still allowed)."""
        now = time.time()
        with self._lock:
            window = self._windows.get(self._key(item, identifiers))
            if window is None:
                return WindowStats(now + item.get_expiry(), item.amount)
            window.expire(now)
            start = window.entries[0][0] if window.entries else now
            return WindowStats(start + window.expiry, item.amount - window.total)

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        with self._lock:
            self._windows.pop(self._key(item, identifiers), None)

    def _sweep(self, now: float) -> None:
        """Drop keys with no hit left in their window (memory stays bounded by live keys)."""
        self._next_sweep = time.monotonic() + _SWEEP_EVERY_S
        idle = [
            k
            for k, w in self._windows.items()
            if not w.entries or w.entries[-1][0] <= now - w.expiry
        ]
        for k in idle:
            del self._windows[k]

    def __len__(self) -> int:
        return len(self._windows)
