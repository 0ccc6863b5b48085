"""Server CPU seconds over the measured window, read from ``/proc/<pid>/stat``.

On a shared machine wall-clock throughput depends on the neighbours; CPU seconds the server
spent per completed flow do much less. ``flows per server CPU-second`` is the figure the
per-core targets are stated in ("1,000 verified flows/s per core"). Linux only.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from homeroom.errors import InvalidInput

__all__ = ["CpuWindow", "process_cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (fields 14 and 15 of ``/proc/<pid>/stat``)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        raise InvalidInput(f"--server-pid {pid}: no such process (or not Linux)") from None
    fields = raw[raw.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass
class CpuWindow:
    """Samples the given processes' CPU at ``start`` and ``end`` (epoch seconds)."""

    pids: tuple[int, ...]
    start: float
    end: float
    seconds: float | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for pid in self.pids:
            process_cpu_seconds(pid)  # fail fast on a wrong pid

    def _total(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.pids)

    def _run(self) -> None:
        time.sleep(max(0.0, self.start - time.time()))
        before = self._total()
        time.sleep(max(0.0, self.end - time.time()))
        try:
            self.seconds = self._total() - before
        except InvalidInput:
            self.seconds = None  # the server exited mid-run

    def begin(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cpu-window", daemon=True)
        self._thread.start()

    def finish(self) -> float | None:
        if self._thread is not None:
            self._thread.join(timeout=max(0.0, self.end - time.time()) + 5)
        return self.seconds
