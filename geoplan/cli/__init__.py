"""The ``geoplan`` command line: one module per command group, each a thin click layer over the library.

``main`` is the entry point; ``gaz``, ``inspect``, ``map`` and ``site`` are the
command groups registered on it.
"""

from geoplan.cli.main import main

__all__ = ["main"]
