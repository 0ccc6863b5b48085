"""Signing an access token once the key ring's memory of verified tokens is full (issue 9).

    taskset -c 0 .venv/bin/python -m bench.bench_remembered_tokens

Every access token Homeroom signs is remembered (``KeyRing.remember``) so that userinfo and
the roster API need not verify it again; the memory keeps the last ``REMEMBERED_TOKENS``
and forgets the oldest. On a busy server it is always full, so every token signed also
evicts one: this times ``TokenSigner.access_token`` with the memory empty and then full,
on a real key ring (SQLite file, in-process stores).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.conftest import seeded_container
from homeroom.oidc.keys import REMEMBERED_TOKENS
from homeroom.oidc.tokens import TokenSigner

TOKENS = 20_000


def main() -> None:
    container, data = seeded_container(Path(tempfile.mkdtemp(prefix="homeroom-bench-")), "warning")
    signer = TokenSigner(container.settings.issuer, container.key_ring)

    def sign(n: int) -> float:
        """Mean µs per access token over ``n`` tokens."""
        started = time.perf_counter()
        for i in range(n):
            signer.access_token(
                client_id="app_bench",
                district_id=data["district"],
                subject=f"usr_{i}",
                scope="openid profile",
                ttl_s=600,
            )
        return (time.perf_counter() - started) / n * 1e6

    empty = sign(REMEMBERED_TOKENS // 2)  # the memory fills as it goes, still under its bound
    sign(REMEMBERED_TOKENS)  # now full
    full = sign(TOKENS)
    print(
        f"access token signed and remembered: {empty:.1f} µs each with the memory filling, "
        f"{full:.1f} µs each with it full ({REMEMBERED_TOKENS:,} tokens, the oldest evicted)"
    )


if __name__ == "__main__":
    main()
