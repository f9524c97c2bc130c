"""The sample builder: sample layers for any county of Zhejiang from the data shipped with geoplan.

One module per thing built: :mod:`~.outlines` (county outlines, which
counties can be built), :mod:`~.markers` (shared boundary lines, boundary
markers, road crossings), :mod:`~.townships`, :mod:`~.population`,
:mod:`~.villages`, :mod:`~.roads`, :mod:`~.facilities`, :mod:`~.placenames`,
:mod:`~.provenance` (provenance table and ``layers/README.md``), and
:mod:`~.build` which assembles and writes them. The command line is
``geoplan sample build`` (:mod:`geoplan.cli.sample`).

What is real: county outlines and the shared lines computed from them,
township and village names and codes, the county seat, published census
totals. Everything else is illustrative, generated with fixed seeds
(``numpy.random.default_rng([county code, stream])``, or the line code for
parts two counties share) so every run gives the same data.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "build_county": "geoplan.layers.samplebuild.build",
    "build_layers": "geoplan.layers.samplebuild.build",
    "zhejiang_counties": "geoplan.layers.samplebuild.outlines",
    "check_county": "geoplan.layers.samplebuild.outlines",
    "load_zhejiang": "geoplan.layers.samplebuild.outlines",
    "county_villages": "geoplan.layers.samplebuild.villages",
    "write_docs": "geoplan.layers.samplebuild.provenance",
})
