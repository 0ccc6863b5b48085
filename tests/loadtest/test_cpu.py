"""Server CPU accounting from /proc (Linux)."""

from __future__ import annotations

import os
import time

import pytest

from homeroom.errors import InvalidInput
from homeroom.loadtest.cpu import CpuWindow, process_cpu_seconds


def burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_seconds_grow_with_work() -> None:
    before = process_cpu_seconds(os.getpid())
    burn(0.3)
    assert process_cpu_seconds(os.getpid()) - before >= 0.2


def test_window_measures_only_between_start_and_end() -> None:
    now = time.time()
    window = CpuWindow((os.getpid(),), now + 1.0, now + 4.0)
    window.begin()
    burn(0.1)  # before the window: not counted
    time.sleep(max(0.0, now + 1.1 - time.time()))
    burn(0.3)  # inside the window (generous margins: the machine may be shared)
    seconds = window.finish()
    assert seconds is not None and 0.25 <= seconds <= 0.38


def test_unknown_pid_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="no such process"):
        process_cpu_seconds(2**22 + 12345)
