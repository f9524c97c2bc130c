"""``pd`` for the gazetteer's modules: pandas, imported the first time one of its names is used.

Importing pandas costs about a quarter of a second, more than everything
else ``geoplan gaz search`` does with a warm index (issue 17: a call under
0.5 s). The gazetteer's modules write ``from geoplan.gazetteer.lazy_pandas
import pd`` and use ``pd.DataFrame`` as before; a process that only searches
never touches ``pd`` and never loads pandas.

Examples
--------
>>> from geoplan.gazetteer.lazy_pandas import pd
>>> pd.DataFrame({"a": [1]}).shape
(1, 1)
>>> import pandas
>>> pd.Series is pandas.Series
True
"""

from __future__ import annotations

import importlib
import types


class _LazyModule(types.ModuleType):
    """A stand-in module that imports the real one on the first attribute read and then delegates to it."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_real"] = None

    def _load(self):
        real = self.__dict__["_real"]
        if real is None:
            real = importlib.import_module(self.__name__)
            self.__dict__["_real"] = real
        return real

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # copy, pickle and doctest probe these: never load pandas for them
        return getattr(self._load(), attr)

    def __dir__(self):
        return dir(self._load())

    def __repr__(self) -> str:
        return f"<lazily imported module {self.__name__!r}>"


#: pandas, imported on first use.
pd = _LazyModule("pandas")
