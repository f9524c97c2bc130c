"""Read drivable roads from an OpenStreetMap extract into the ``roads`` schema.

Extracts (``.osm``, ``.osm.pbf``, ``.osm.bz2``; e.g. a Geofabrik China or
province download cut to the county with ``osmium extract``) are read with
pyosmium, the reference OSM library, keeping node locations so that every
way comes out as a line. The result is an ordinary ``roads`` layer in
EPSG:4490 that :meth:`geoplan.network.graph.RoadNetwork.from_roads` turns into a
network; OSM ways share node IDs at junctions, hence identical coordinates,
which is exactly what the network builder joins on.

Tag rules
---------
- ``highway``: :data:`OSM_HIGHWAY_CLASSES` maps drivable values to the
  roads schema classes (``*_link`` to their road's class, ``living_street``
  and ``road`` to residential / unclassified). Footways, paths, cycleways,
  steps, construction and proposed roads are skipped.
- ``access`` / ``motor_vehicle`` ``= no | private`` ways are skipped: they
  cannot be used by the public.
- ``oneway``: ``yes/true/1`` one-way in drawing direction, ``-1/reverse``
  one-way against it (the line is reversed), ``no`` two-way; absent means
  one-way for motorways and roundabouts and two-way otherwise.
- ``maxspeed`` (km/h, or ``mph``), when ``use_maxspeed`` is true, becomes
  ``speed_kmh``; otherwise the class default applies.
- ``name:zh`` / ``name`` / ``ref`` give the name.

OSM data are WGS84; CGCS2000 agrees with WGS84 to centimetres, so
coordinates are labelled EPSG:4490 unchanged (see :mod:`geoplan.layers.crs`).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import shapely

from geoplan.layers.crs import STORAGE_CRS
from geoplan.errors import DataFileError
from geoplan.i18n import _
from geoplan.layers.values import parse_yes_no

#: OSM ``highway`` value → roads-schema ``road_class``.
OSM_HIGHWAY_CLASSES: dict[str, str] = {
    "motorway": "motorway", "motorway_link": "motorway",
    "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary",
    "unclassified": "unclassified", "road": "unclassified",
    "residential": "residential", "living_street": "residential",
    "service": "service",
    "track": "track",
}

_REVERSE = {"-1", "reverse"}
_NO_ACCESS = {"no", "private"}
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)


def parse_maxspeed(value: str | None) -> float | None:
    """km/h from an OSM ``maxspeed`` value, or None if it is not a plain number.

    Examples
    --------
    >>> parse_maxspeed("60"), parse_maxspeed("30 mph"), parse_maxspeed("CN:urban")
    (60.0, 48.28032, None)
    """
    if not value:
        return None
    m = _SPEED_RE.match(value)
    if not m:
        return None
    kmh = float(m.group(1))
    if m.group(2) and m.group(2).lower() == "mph":
        kmh *= 1.609344
    return kmh if 0 < kmh <= 200 else None


def _oneway(tags, highway: str) -> tuple[bool, bool]:
    """(oneway, reversed) from the tags."""
    value = (tags.get("oneway") or "").strip().lower()
    if parse_yes_no(value):
        return True, False
    if value in _REVERSE:
        return True, True
    if value:
        return False, False
    implied = highway in ("motorway", "motorway_link") or tags.get("junction") in ("roundabout", "circular")
    return implied, False


def read_osm_roads(path, use_maxspeed: bool = True, classes: dict | None = None) -> gpd.GeoDataFrame:
    """Drivable roads of an OSM extract as a ``roads`` layer.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.pbf`` or ``.osm.bz2`` file.
    use_maxspeed : bool
        Use ``maxspeed`` tags as ``speed_kmh`` where they are numbers.
    classes : dict, optional
        Replacement for :data:`OSM_HIGHWAY_CLASSES`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``road_id`` (``w`` + OSM way ID), ``name``, ``road_class``,
        ``speed_kmh``, ``oneway``, ``osm_highway``; LineString, or
        MultiLineString where nodes are missing from a clipped extract (the
        gap is not bridged); EPSG:4490.

    Raises
    ------
    DataFileError
        Missing or unreadable file, or no drivable road in it.
    """
    import osmium

    path = Path(path)
    if not path.exists():
        raise DataFileError(f"OSM file {path} does not exist.")
    classes = OSM_HIGHWAY_CLASSES if classes is None else classes
    rows: dict[str, list] = {k: [] for k in ("road_id", "name", "road_class", "speed_kmh",
                                             "oneway", "osm_highway", "geometry")}
    try:
        processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
                     .with_locations()
                     .with_filter(osmium.filter.KeyFilter("highway")))
        for obj in processor:
            if not obj.is_way():
                continue
            tags = obj.tags
            highway = tags.get("highway")
            cls = classes.get(highway)
            if cls is None:
                continue
            if tags.get("access") in _NO_ACCESS or tags.get("motor_vehicle") in _NO_ACCESS:
                continue
            # Clipped extracts lack some nodes; split there instead of
            # drawing a straight line across the gap.
            runs, run = [], []
            for nd in obj.nodes:
                loc = nd.location
                if loc.valid():
                    run.append((loc.lon, loc.lat))
                else:
                    if len(run) >= 2:
                        runs.append(run)
                    run = []
            if len(run) >= 2:
                runs.append(run)
            if not runs:
                continue
            oneway, reverse = _oneway(tags, highway)
            if reverse:
                runs = [r[::-1] for r in runs[::-1]]
            geom = (shapely.LineString(runs[0]) if len(runs) == 1
                    else shapely.MultiLineString(runs))
            rows["road_id"].append(f"w{obj.id}")
            rows["name"].append(tags.get("name:zh") or tags.get("name") or tags.get("ref"))
            rows["road_class"].append(cls)
            rows["speed_kmh"].append(parse_maxspeed(tags.get("maxspeed")) if use_maxspeed else None)
            rows["oneway"].append(oneway)
            rows["osm_highway"].append(highway)
            rows["geometry"].append(geom)
    except (RuntimeError, OSError) as exc:
        raise DataFileError(_("Cannot read OSM file {path}: {error}").format(path=path, error=exc)) from exc
    if not rows["road_id"]:
        raise DataFileError(
            _("{path} contains no drivable road (highway={classes}); check the extract covers the county.").format(
                path=path, classes=", ".join(sorted(set(classes))))
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)
    gdf["speed_kmh"] = gdf["speed_kmh"].astype("float64")
    return gdf
