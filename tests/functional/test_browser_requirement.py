"""The browser tests skip without Chromium, and error (fail) instead under
``HOMEROOM_REQUIRE_SERVICES=1`` (CI sets it): a CI machine that lost its browser cannot pass
by skipping them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(("required", "outcome"), [("0", "1 skipped"), ("1", "1 error")])
def test_missing_chromium(required: str, outcome: str) -> None:
    env = dict(os.environ)
    env["HOMEROOM_TEST_CHROMIUM"] = "/nonexistent/chromium"
    env["HOMEROOM_REQUIRE_SERVICES"] = required
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/browser/test_portal_browser.py",
            "-k",
            "bare_404 and sqlite",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert outcome in result.stdout, result.stdout[-2000:]
    assert result.returncode == (1 if required == "1" else 0)
