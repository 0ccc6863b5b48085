"""Micro benchmarks (pytest-benchmark). Not part of the test suite: run them on purpose,

    .venv/bin/pytest bench -p no:cacheprovider --benchmark-enable --benchmark-only

and compare runs with ``--benchmark-autosave`` / ``--benchmark-compare``. Never assert times.
"""
