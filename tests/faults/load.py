"""A small closed-loop load generator: N threads calling one URL until told to stop."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

__all__ = ["Load", "Result"]


@dataclass(frozen=True)
class Result:
    started: float  # monotonic
    seconds: float
    status: int  # 0 = transport error (no HTTP answer)
    retry_after: str | None
    error: str | None  # the JSON "error" member, if any


@dataclass
class Load:
    url: str
    clients: int
    pause_after_refusal_s: float = 0.05
    timeout_s: float = 10.0
    results: list[Result] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    r = client.get(self.url)
                    try:
                        error = r.json().get("error") if r.status_code != 200 else None
                    except ValueError:
                        error = "<not json>"
                    result = Result(
                        started,
                        time.monotonic() - started,
                        r.status_code,
                        r.headers.get("retry-after"),
                        error,
                    )
                except httpx.TransportError as exc:
                    result = Result(started, time.monotonic() - started, 0, None, repr(exc))
                with self._lock:
                    self.results.append(result)
                if result.status != 200:
                    time.sleep(self.pause_after_refusal_s)  # a polite client backs off

    def start(self) -> Load:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout_s + 5)
        return self.snapshot()

    def snapshot(self) -> list[Result]:
        with self._lock:
            return list(self.results)


def bad_answers(results: list[Result]) -> list[Result]:
    """Answers that break the contract: anything but 200, 429/503 with Retry-After."""
    return [
        r
        for r in results
        if not (r.status == 200 or (r.status in (429, 503) and r.retry_after is not None))
    ]
