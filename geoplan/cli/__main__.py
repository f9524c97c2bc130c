"""``python -m geoplan.cli``: the same as the ``geoplan`` command."""

from geoplan.cli.main import main

main()
