"""The load generator's own garbage collector, kept out of the measured window.

Latency counts from each flow's scheduled send time, so a pause of the generator's cyclic
collector is charged to the server. Before the traffic starts each worker collects
everything it built while warming up (Locust, the browsers, their sessions) and freezes it
out of the collector's reach (``gc.freeze``). It used to be one pass a fixed quarter second
ahead, untimed: whether it finished in time could not be told from a report. Now there are
two passes, a full one two seconds ahead and a short one (only what was made since) just
before, and the report's ``generator`` section says how long the longest took (27-48 ms for
200 browsers in bench/RESULTS-load.md, session 18) and how far, if at all, the last one ran
into the window, where its pause would be the generator's lateness and not the server's.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SETTLE_LEADS_S", "HeapSettling", "settle_heap"]

SETTLE_LEADS_S = (2.0, 0.25)
"""Seconds before the window of each collect-and-freeze pass: the full one, then the short one."""


@dataclass(frozen=True)
class HeapSettling:
    longest_pass_ms: float
    """The longest collect-and-freeze pass."""
    into_window_ms: float
    """How far the last pass ran past ``window_start``, the first scheduled send (the window,
    or the settling stretch before it; 0 when it finished in time): the generator's own
    lateness at the start of the traffic, not the server's."""


def settle_heap(
    window_start: float,
    sleep: Callable[[float], object],
    clock: Callable[[], float] = time.time,
    leads_s: tuple[float, ...] = SETTLE_LEADS_S,
) -> HeapSettling:
    """Collect and freeze the heap once per lead, each pass at ``window_start - lead``
    (``sleep`` is the worker's cooperative sleep, so its users keep warming up meanwhile)."""
    longest = 0.0
    for lead in leads_s:
        sleep(max(0.0, window_start - lead - clock()))
        began = time.perf_counter()
        gc.collect()
        gc.freeze()
        longest = max(longest, (time.perf_counter() - began) * 1000.0)
    return HeapSettling(
        longest_pass_ms=round(longest, 3),
        into_window_ms=round(max(0.0, (clock() - window_start) * 1000.0), 3),
    )
