"""The load-test harness behind ``homeroom loadtest``.

Pure, testable pieces (no Locust import): :mod:`.plan` (arrival schedules and the
back-to-school profile), :mod:`.histogram` and :mod:`.results` (latency from the *scheduled*
send time, timelines, errors, down minutes), :mod:`.thresholds` (``--fail-on``),
:mod:`.report` (JSON and HTML), :mod:`.checks` (OIDC response verification).
:mod:`.worker` is the only module that imports Locust (which monkey-patches the process with
gevent); the parent (:mod:`.runner`) starts it in child processes and merges their results.
"""

from __future__ import annotations

__all__: list[str] = []
