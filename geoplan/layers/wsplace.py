"""Is each layer of a workspace where the county is?

A file in the wrong CRS, or the file of another county, reads without any error: the numbers are
valid coordinates, only somewhere else (a township layer 5° east lies in the sea). So
``geoplan workspace init`` checks where the layers lie:

* :func:`township_place_problems`: the township layer must lie within 5 km of the county's
  official outline shipped with geoplan (:func:`county_outline`, the Zhejiang outlines of
  :mod:`geoplan.layers.samplebuild.outlines`); the message names the file, how far and in which
  direction it lies, and what to check.
* :func:`points_outside_problems`: the rows of a point layer (facilities, villages) lying more
  than 2 km outside the townships, counted, with the first few row numbers.

Both return :class:`geoplan.errors.Problem` objects for the caller's list, so that every problem of
every file is reported together. A county without a shipped outline is not checked against one.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``);
pytest builds it once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from geoplan.errors import Problem, feature_label
from geoplan.i18n import N_, _, ngettext
from geoplan.layers import crs as _crs

__all__ = ["TOWNSHIP_MARGIN_M", "POINT_MARGIN_M", "county_outline", "reach", "township_place_problems",
           "points_outside_problems"]

#: How far the township layer may reach beyond the official outline (its drawing and the outline's differ).
TOWNSHIP_MARGIN_M = 5000.0
#: How far outside the townships a facility or village point may lie (a site across the county line).
POINT_MARGIN_M = 2000.0
#: How many row numbers a message names.
EXAMPLES = 5
# Eight compass directions, counter-clockwise from east (the angle of atan2).
_DIRECTIONS = (N_("east of"), N_("north-east of"), N_("north of"), N_("north-west of"), N_("west of"),
               N_("south-west of"), N_("south of"), N_("south-east of"))
# Vertices closer together than this are enough to find the farthest part of a layer (metres).
_STEP_M = 100.0


def county_outline(county: str) -> gpd.GeoDataFrame | None:
    """The county's official outline shipped with geoplan (EPSG:4490), or None when none is shipped.

    Examples
    --------
    >>> o = county_outline("330624")
    >>> o["name"].iloc[0], o.crs.to_epsg(), county_outline("110101") is None
    ('新昌县', 4490, True)
    """
    try:
        from geoplan.layers.samplebuild.outlines import load_zhejiang
    except ImportError:  # a geoplan without the sample builder's data
        return None
    zj = load_zhejiang()
    me = zj[zj["adcode"] == str(county)]
    return None if me.empty else me[["adcode", "name", "geometry"]].reset_index(drop=True)


def reach(layer: gpd.GeoDataFrame, outline: gpd.GeoDataFrame) -> tuple[float, str]:
    """How far (metres) the farthest part of ``layer`` lies from ``outline``, and in which direction.

    The distance is the largest distance of any point of the layer (its vertices, every 100 m along
    its edges) from the outline polygon: 0 when the layer lies inside. The direction is that from the
    outline's centre to the centre of what lies outside it, as an untranslated phrase (``"east of"``).

    Examples
    --------
    >>> towns = county["townships"]
    >>> reach(towns, county_outline("330624"))[0] < 1000
    True
    >>> far = towns.set_geometry(towns.geometry.translate(xoff=1.0))  # one degree east
    >>> d, where = reach(far, county_outline("330624"))
    >>> 90_000 < d < 100_000, where
    (True, 'east of')
    """
    metric = _crs.metric_crs(outline)
    area = shapely.union_all(outline.to_crs(metric).geometry.to_numpy())
    geoms = layer.to_crs(metric).geometry.to_numpy()
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if not len(geoms):
        return 0.0, _DIRECTIONS[0]
    whole = shapely.union_all(geoms)
    pts = shapely.points(shapely.get_coordinates(shapely.segmentize(whole, _STEP_M)))
    far = float(shapely.distance(pts, area).max())
    outside = shapely.difference(whole, area)
    target = outside if not outside.is_empty else whole
    c0, c1 = area.centroid, target.centroid
    angle = math.degrees(math.atan2(c1.y - c0.y, c1.x - c0.x)) % 360
    return far, _DIRECTIONS[int(((angle + 22.5) % 360) // 45)]


def township_place_problems(towns: gpd.GeoDataFrame, county: str, source: str, *,
                            margin_m: float = TOWNSHIP_MARGIN_M) -> list[Problem]:
    """A problem when the township layer lies more than ``margin_m`` from the county's official outline.

    Parameters
    ----------
    towns : GeoDataFrame
        The township layer as read (any CRS).
    county : str
        6-digit county code.
    source : str
        The file, as the user gave it.
    margin_m : float
        How far beyond the outline the layer may reach.

    Returns
    -------
    list of Problem
        Empty when the layer lies where the county is (or no outline is shipped for it).

    Examples
    --------
    >>> towns = county["townships"]
    >>> township_place_problems(towns, "330624", "towns.gpkg")
    []
    >>> p = township_place_problems(towns.set_geometry(towns.geometry.translate(xoff=5.0)), "330624", "towns.gpkg")
    >>> p[0].message  # doctest: +ELLIPSIS
    '乡镇界 towns.gpkg 位于新昌县官方县界以东约 48... 公里，超出县界 5 公里以上'
    """
    outline = county_outline(county)
    if outline is None or towns.crs is None:
        return []
    far, where = reach(towns, outline)
    if far <= margin_m:
        return []
    km = far / 1000
    return [Problem(str(source), None, None, None, None,
                    _("the township layer {file} lies about {km} km {direction} the official outline of {county}, "
                      "more than {margin:g} km beyond it").format(
                        file=_file_name(source), km=f"{km:.0f}" if km >= 10 else f"{km:.1f}",
                        direction=_(where), county=outline["name"].iloc[0], margin=margin_m / 1000),
                    _("check the file's coordinate system (its .prj, or give --townships-crs) and that it is "
                      "this county's township file"))]


def points_outside_problems(gdf: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, source: str, labels=None, *,
                            layer: str | None = None, margin_m: float = POINT_MARGIN_M) -> list[Problem]:
    """A problem counting the rows of a point layer that lie more than ``margin_m`` outside the townships.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer as read (any CRS); rows without geometry are left to the schema checks.
    townships : GeoDataFrame
        The workspace's townships.
    source : str
        The file, as the user gave it.
    labels : list of str, optional
        Each row's place in the file (``第 3 行``); default its feature number.
    layer : str, optional
        The layer or sheet inside the file.
    margin_m : float
        How far outside the townships a point may lie.

    Returns
    -------
    list of Problem
        One problem naming how many rows and the first few, or none.

    Examples
    --------
    >>> v = county["villages"].head(4)
    >>> v = v.set_geometry([*v.geometry[:3], v.geometry.iloc[3].__class__(125.0, 29.5)], crs=v.crs)
    >>> points_outside_problems(v, county["townships"], "村.gpkg")[0].message
    '1 行位于乡镇界之外 2 公里以上：第 4 个要素'
    """
    if gdf.crs is None or not len(gdf):
        return []
    metric = _crs.metric_crs(townships)
    area = shapely.union_all(townships.to_crs(metric).geometry.to_numpy())
    shapely.prepare(area)
    geoms = gdf.to_crs(metric).geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    out = np.flatnonzero(present & ~shapely.dwithin(area, geoms, margin_m))
    if not len(out):
        return []
    rows = [labels[i] if labels is not None else feature_label(i + 1) for i in out[:EXAMPLES]]
    more = " …" if len(out) > EXAMPLES else ""
    return [Problem(str(source), layer, None, None, None,
                    ngettext("{n} row lies more than {margin:g} km outside the townships: {rows}",
                             "{n} rows lie more than {margin:g} km outside the townships: {rows}", len(out)).format(
                        n=len(out), margin=margin_m / 1000, rows=_(", ").join(map(str, rows)) + more),
                    _("check the coordinates of these rows and the file's coordinate system (longitude and "
                      "latitude the right way round, GCJ-02 from a web map given as such)"))]


def _file_name(source) -> str:
    from pathlib import Path

    return Path(str(source)).name
