"""Lazy re-exports for package ``__init__`` modules.

``import geoplan`` (and every CLI start) stays fast: a name such as
``geoplan.RoadNetwork`` imports its module — and geopandas, scipy … — only
when it is first used.
"""

from __future__ import annotations

import importlib


def lazy_exports(package: str, names: dict[str, str]):
    """Module ``__getattr__``/``__dir__`` that import ``names[attr]`` on first use.

    Parameters
    ----------
    package : str
        The ``__name__`` of the package whose ``__init__`` calls this.
    names : dict of str to str
        Public name → dotted module it lives in.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__, __all__)`` to assign in the package.
    """

    def __getattr__(attr):
        if attr not in names:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        value = getattr(importlib.import_module(names[attr]), attr)
        globals_ = importlib.import_module(package).__dict__
        globals_[attr] = value
        return value

    def __dir__():
        return sorted(set(names) | set(importlib.import_module(package).__dict__))

    return __getattr__, __dir__, sorted(names)
