"""geoplan: civil-affairs (民政) planning toolkit for a Chinese county.

One subpackage per job (see ``ARCHITECTURE.md``):

- :mod:`geoplan.layers` — layer kinds, reading and validating files, CRS, division codes, samples.
- :mod:`geoplan.network` — the road network: travel times, snapping, nearest facility.
- :mod:`geoplan.coverage` — plans, their evaluation, access, zonal sums, siting, reports.
- :mod:`geoplan.inspection` — boundary-marker inspection plans, routes, forms.
- :mod:`geoplan.gazetteer` — the place-name database, naming rules, romanisation.
- :mod:`geoplan.maps` — HTML maps and the printed atlas.
- :mod:`geoplan.cli` — the ``geoplan`` command line.

The names most work starts from are available at the top, imported on first use:

>>> import geoplan as gp
>>> county = gp.load_sample("330624")
>>> county["townships"].crs.to_epsg()
4490
>>> net = gp.RoadNetwork.from_roads(county["roads"])
>>> net.n_nodes > 0
True
"""

from geoplan._lazy import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "read_layer": "geoplan.layers.io",
    "write_layer": "geoplan.layers.io",
    "load_sample": "geoplan.layers.sample",
    "load_county": "geoplan.layers.sample",
    "RoadNetwork": "geoplan.network.graph",
    "load_plan": "geoplan.coverage.plans",
    "evaluate_plan": "geoplan.coverage.evaluation",
    "road_travel": "geoplan.coverage.evaluation",
    "LSCP": "geoplan.coverage.siting",
    "MCLP": "geoplan.coverage.siting",
    "PMedian": "geoplan.coverage.siting",
    "propose_sites": "geoplan.coverage.proposals",
    "plan_for_county": "geoplan.inspection.planning",
    "Gazetteer": "geoplan.gazetteer.store",
    "GeoplanError": "geoplan.errors",
})
__all__ = ["__version__", *__all__]
