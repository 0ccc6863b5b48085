"""The ``homeroom`` command line (Typer + Rich)."""
