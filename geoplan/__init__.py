"""geoplan: civil-affairs (民政) planning toolkit for a Chinese county.

Modules, one concern each:

- :mod:`geoplan.crs` — CGCS2000 storage, Gauss–Krüger metric CRS, GCJ-02.
- :mod:`geoplan.schema` — the layer kinds and their columns.
- :mod:`geoplan.io` — reading any supported file into a validated layer.
- :mod:`geoplan.validate` — checking a table against its schema.
- :mod:`geoplan.divisions` — official township codes of all of China.
- :mod:`geoplan.sample` — the bundled sample counties.
"""

__version__ = "0.1.0"
