"""Start-up resolution of 2,000 secrets (the scale Clever reported), measured.

    .venv/bin/python bench/bench_secrets.py [--n 2000] [--runs 5] [--database-url URL]

Setup (not timed): a fresh database, migrated, holding N secrets under
``production/homeroom-web/``, each its own version with its own data key. Each timed run is
what a starting web worker does: open the database, load the key-encryption key from its
file, build a store, and resolve all N references as ``homeroom-web`` in one transaction —
policy check, one query, N data-key unwraps and N AES-256-GCM decryptions, N audit
records appended to the hash chain. Prints each run and the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from homeroom.secrets import ADMIN, WEB, LocalFileKEK, SecretStore
from homeroom.secrets.redaction import Redactor
from homeroom.storage.sql import Database
from homeroom.storage.sql.migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        kek_path = Path(tmp) / "kek.json"
        setup_db = Database(url, pool_size=2)
        store = SecretStore(setup_db, LocalFileKEK(kek_path), redactor=Redactor())
        refs = [f"secret://production/homeroom-web/bench-{n:05d}" for n in range(args.n)]
        started = time.perf_counter()
        for ref in refs:
            store.put(ADMIN, ref, os.urandom(32))
        print(f"setup: stored {args.n} secrets in {time.perf_counter() - started:.1f} s")
        setup_db.dispose()

        timings = []
        for run in range(args.runs):
            started = time.perf_counter()
            db = Database(url, pool_size=2)
            worker = SecretStore(db, LocalFileKEK(kek_path, create=False), redactor=Redactor())
            values = worker.resolve_many(WEB, refs)
            elapsed = time.perf_counter() - started
            db.dispose()
            assert len(values) == args.n
            timings.append(elapsed)
            print(f"run {run + 1}: resolved {len(values)} secrets in {elapsed * 1000:.0f} ms")
        median = statistics.median(timings)
        print(
            f"median: {median * 1000:.0f} ms for {args.n} secrets "
            f"({sys.platform}, {url.split(':')[0]})"
        )


if __name__ == "__main__":
    main()
