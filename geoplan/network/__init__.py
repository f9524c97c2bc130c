"""The road network: a CSR graph built from a roads layer or OpenStreetMap, snapping of points
with the walk to the road, nearest facility, cost matrices and isochrones.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "RoadNetwork": "geoplan.network.graph",
    "read_osm_roads": "geoplan.network.osm",
})
