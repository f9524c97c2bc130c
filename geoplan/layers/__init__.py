"""Layers and data: the layer kinds and their columns, reading and validating any supported file,
CRS handling (CGCS2000, Gauss–Krüger, GCJ-02), official division codes and the bundled sample counties.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "gk_zone_epsg": "geoplan.layers.crs",
    "metric_crs": "geoplan.layers.crs",
    "to_storage": "geoplan.layers.crs",
    "to_metric": "geoplan.layers.crs",
    "gcj02_to_cgcs2000": "geoplan.layers.crs",
    "cgcs2000_to_gcj02": "geoplan.layers.crs",
    "read_layer": "geoplan.layers.io",
    "write_layer": "geoplan.layers.io",
    "list_layers": "geoplan.layers.io",
    "read_population": "geoplan.layers.io",
    "PopulationRaster": "geoplan.layers.io",
    "validate_frame": "geoplan.layers.validate",
    "SCHEMAS": "geoplan.layers.schema",
    "get_schema": "geoplan.layers.schema",
    "LayerSchema": "geoplan.layers.schema",
    "Field": "geoplan.layers.schema",
    "official_townships": "geoplan.layers.divisions",
    "county_townships": "geoplan.layers.divisions",
    "load_sample": "geoplan.layers.sample",
    "load_county": "geoplan.layers.sample",
    "County": "geoplan.layers.sample",
})
