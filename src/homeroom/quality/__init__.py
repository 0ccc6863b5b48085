"""Data-quality checks of the usage pipeline (``homeroom data check``).

``checks`` holds the three checks (freshness, volume, reconciliation); each reads one
district inside its ``TenantScope`` and returns plain results, so the CLI (and any future
scheduler or probe) only renders them.
"""
