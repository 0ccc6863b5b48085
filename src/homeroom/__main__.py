"""``python -m homeroom`` is the same as the ``homeroom`` command."""

from homeroom.cli.main import main

main()
