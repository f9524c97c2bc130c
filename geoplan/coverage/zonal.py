"""Zonal sums of the population raster and areal interpolation between polygon sets.

Township population comes from the 100 m population raster. A cell cut by a
township boundary is shared in proportion to the part of the cell each
township covers (exact fractional coverage, as exactextract computes it), so
the townships of a county add up to the raster total and small polygons —
a village, a 1 km buffer — get their share of the cells they touch instead of
all or nothing.

The coverage is computed from the polygons' boundaries alone, cell by cell, in
:mod:`geoplan.coverage.cellpieces`.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geoplan._threads import background
from geoplan.coverage.cellpieces import boundary_pieces, edge_sums, pixel_edges
from geoplan.errors import CRSError, GeoplanError
from geoplan.layers.values import id_index
from geoplan.i18n import N_, _

__all__ = ["ZonalError", "zonal_sum", "zonal_stats", "coverage_fractions", "areal_interpolate"]


class ZonalError(GeoplanError):
    """Polygons or a raster that zonal statistics cannot use.

    Examples
    --------
    >>> zonal_sum(county["townships"], county.population, "township_code")
    Traceback (most recent call last):
    ...
    geoplan.coverage.zonal.ZonalError: 面图层中没有编号列 'township_code'。
    """


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def _polygon_array(polygons, raster):
    """The polygons' geometries (checked to be polygons), their GEOS type IDs and their CRS."""
    from geoplan.layers import crs as _crs

    if raster.crs is None:
        raise CRSError(_("The population raster has no coordinate system (CRS); polygons cannot be placed on it."))
    try:
        # One look-up of the geometry column: each costs a GeoDataFrame column access.
        geo = polygons.geometry
        _crs.require_crs(geo, "polygon layer")
        array = geo.values
    except AttributeError:
        raise ZonalError(_("Polygons must be a GeoDataFrame or GeoSeries with a coordinate system (CRS).")) from None
    geoms = np.asarray(array, dtype=object)
    kinds = shapely.get_type_id(geoms)
    # 3 = Polygon, 6 = MultiPolygon; missing (−1) and empty geometries count as zero area.
    bad = (kinds != 3) & (kinds != 6) & (kinds != -1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ZonalError(_("Zonal statistics need polygons; feature {n} is a {kind}. Buffer points or lines "
                           "first.").format(n=i + 1, kind=geoms[i].geom_type))
    return geoms, kinds, array.crs


def _repaired(geoms, kinds, valid):
    """``geoms`` with the invalid ones repaired, or None where all are valid.

    Self-intersecting rings would count the overlapping parts twice (or
    negatively); they are repaired the way GIS tools do, keeping only
    polygonal area. This is done in the layer's own CRS, as in a GIS:
    reprojecting moves vertices far too little to make a valid ring cross itself.
    """
    invalid = ~valid & (kinds != -1)
    if not invalid.any():
        return None
    geoms = geoms.copy()
    geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    return geoms


def _polygon_geometries(polygons, raster):
    """The polygons' geometries, repaired where invalid, in their own CRS; and that CRS."""
    geoms, kinds, crs = _polygon_array(polygons, raster)
    fixed = _repaired(geoms, kinds, shapely.is_valid(geoms))
    return (geoms if fixed is None else fixed), crs


def _raster_values(raster) -> np.ndarray:
    data = np.asarray(raster.data, dtype=np.float64)
    if data.ndim != 2:
        raise ZonalError(_("The raster must be 2-D (one band), got shape {shape}.").format(shape=data.shape))
    return data


def _ids(polygons, id_col):
    return id_index(polygons, id_col, ZonalError, N_("polygon layer"))


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

# From this many vertices on, validity is checked on another core while the sums are computed (GEOS
# releases the GIL); below it, handing the check over costs more than it saves.
_VALIDITY_IN_BACKGROUND = 1000


def _zonal_arrays(polygons, raster, id_col, with_cells=True):
    """IDs, Σ value × fraction, Σ fraction and the cell's signed area: the work of :func:`zonal_stats`."""
    ids = _ids(polygons, id_col)
    geoms, kinds, crs = _polygon_array(polygons, raster)
    values = _raster_values(raster)
    t = raster.transform
    # Invalid polygons are rare and must be repaired before their sums count. On large layers the
    # sums are computed meanwhile as if all were valid, and computed again only if one is not.
    checking = None
    if shapely.get_num_coordinates(geoms).sum() >= _VALIDITY_IN_BACKGROUND:
        checking = background(shapely.is_valid, geoms)
    else:
        fixed = _repaired(geoms, kinds, shapely.is_valid(geoms))
        geoms = geoms if fixed is None else fixed
    sums, cells, scale = _sums(geoms, crs, raster, values, with_cells)
    if checking is not None:
        fixed = _repaired(geoms, kinds, checking.result())
        if fixed is not None:
            sums, cells, scale = _sums(fixed, crs, raster, values, with_cells)
    # Round-off can leave −1e−12 where a polygon only touches a cell.
    sums[np.abs(sums) < 1e-9 * scale] = 0.0
    if with_cells:
        cells = np.clip(cells, 0.0, None)
    return ids, sums, cells, t.a * t.e - t.b * t.d


def _sums(geoms, crs, raster, values, with_cells):
    """Weighted sums of the polygons (see :mod:`~geoplan.coverage.cellpieces`), with non-finite cells counted as 0."""
    edges = pixel_edges(geoms, crs, raster)
    # A non-finite cell is caught by the sums it spoils, so the first pass must not warn about it.
    with np.errstate(invalid="ignore", over="ignore"):
        sums, cells, scale = edge_sums(edges, values, len(geoms), with_cells)
    if not np.isfinite(sums).all():
        # Non-finite cells count as 0. read_population already zeroes nodata, so the (costly)
        # cleaning pass is only made when such a cell reached a sum.
        values = np.where(np.isfinite(values), values, 0.0)
        sums, cells, scale = edge_sums(edges, values, len(geoms), with_cells)
    return sums, cells, scale


def zonal_stats(polygons, raster, id_col: str | None = None) -> pd.DataFrame:
    """Population sum and covered area of every polygon, with partial cells shared exactly.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Polygons or multipolygons in any CRS (reprojected to the raster's).
        Overlapping polygons are each counted in full.
    raster : geoplan.layers.io.PopulationRaster
        Persons per cell (``data``, ``transform``, ``crs``); non-finite cells count as 0.
    id_col : str, optional
        Column holding the polygon IDs (default: the index).

    Returns
    -------
    pandas.DataFrame
        Indexed by polygon ID: ``sum`` (Σ value × covered fraction),
        ``cells`` (Σ covered fraction, in cell equivalents), ``area_m2``
        (polygon area inside the raster, in the raster CRS's units²) and
        ``mean`` (``sum / cells``; NaN where the polygon misses the raster).

    Raises
    ------
    ZonalError, geoplan.errors.CRSError
        Non-polygon geometries, a missing CRS, a raster that is not 2-D.

    Examples
    --------
    ``county = gp.load_sample("330624")``:

    >>> s = zonal_stats(county["townships"], county.population, "code")
    >>> list(s.columns), round(float(s["sum"].sum()))
    (['sum', 'cells', 'area_m2', 'mean'], 418215)
    """
    ids, sums, cells, det = _zonal_arrays(polygons, raster, id_col)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cells > 1e-12, sums / cells, np.nan)
    return pd.DataFrame({"sum": sums, "cells": cells, "area_m2": cells * abs(det), "mean": mean},
                        index=ids)


def zonal_sum(polygons, raster, id_col: str | None = None) -> pd.Series:
    """Population of every polygon from the raster, partial cells shared by covered fraction.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Polygons in any CRS.
    raster : geoplan.layers.io.PopulationRaster
        Persons per cell.
    id_col : str, optional
        ID column (default: the index).

    Returns
    -------
    pandas.Series
        ``population`` per polygon ID. See :func:`zonal_stats` for details.

    Examples
    --------
    ``county = gp.load_sample("330624")``; the raster was spread from the townships' census totals
    (each cell to the township holding its centre), so the sums by covered fraction come within
    a thousand persons of those totals:

    >>> s = zonal_sum(county["townships"], county.population, "code")
    >>> s.round().astype(int).head(3).to_dict()
    {'330624001': 92089, '330624002': 63596, '330624003': 48572}
    >>> round(float((s - county["townships"].set_index("code")["population"]).abs().max()))
    963
    """
    ids, sums, _cells, _det = _zonal_arrays(polygons, raster, id_col, with_cells=False)
    return pd.Series(sums, index=ids, name="population")


def coverage_fractions(geometry, raster, crs=None):
    """Fraction of each raster cell covered by one polygon.

    Parameters
    ----------
    geometry : shapely Polygon or MultiPolygon
        In the raster's CRS unless ``crs`` says otherwise.
    raster : geoplan.layers.io.PopulationRaster
        Only its shape, ``transform`` and ``crs`` are used.
    crs : optional
        CRS of ``geometry``.

    Returns
    -------
    tuple
        ``(row0, col0, fractions)``: a 2-D array of fractions in ``[0, 1]``
        for the window of cells the polygon's bounds touch, clipped to the
        raster, whose top-left cell is ``(row0, col0)``.

    Examples
    --------
    A 150 m square on the 100 m grid covers one cell fully, two half, one a quarter:

    >>> import shapely
    >>> x0, y0 = county.population.transform.c, county.population.transform.f
    >>> frac = coverage_fractions(shapely.box(x0, y0 - 150, x0 + 150, y0), county.population)
    >>> frac
    (0, 0, array([[1.  , 0.5 ],
           [0.5 , 0.25]]))
    """
    import geopandas as gpd

    series = gpd.GeoSeries([geometry], crs=crs if crs is not None else raster.crs)
    geoms, geoms_crs = _polygon_geometries(series, raster)
    nrows, ncols = np.shape(raster.data)
    owner, row, col, own, pdy = boundary_pieces(geoms, geoms_crs, raster)
    # Parts of the boundary left of the raster leave empty pieces on its left side; they touch no cell.
    live = (pdy != 0) | (own != 0)
    owner, row, col, own, pdy = owner[live], row[live], col[live], own[live], pdy[live]
    if len(row) == 0:
        return 0, 0, np.zeros((0, 0))
    r0, r1 = int(row.min()), int(row.max())
    c0, c1 = int(col.min()), min(int(col.max()), ncols - 1)
    if c0 > c1:
        return 0, 0, np.zeros((0, 0))
    h, w = r1 - r0 + 1, c1 - c0 + 1
    row, col = row - r0, np.minimum(col - c0, w)
    own_grid = np.zeros((h, w + 1))
    np.add.at(own_grid, (row, col), own)
    left = np.zeros((h, w + 1))
    np.add.at(left, (row, col), pdy)
    # Each piece's dy reaches every cell strictly left of it: a reversed exclusive cumulative sum.
    reach = np.cumsum(left[:, ::-1], axis=1)[:, ::-1]
    frac = own_grid[:, :w] + reach[:, 1:]
    return r0, c0, np.clip(frac, 0.0, 1.0) + 0.0  # + 0.0 turns −0.0 into 0.0


def areal_interpolate(source, values, target, target_id: str | None = None, crs=None) -> pd.DataFrame:
    """Move extensive values (counts) from one polygon set to another by area.

    Each target polygon receives ``Σ value_s × area(s ∩ t) / area(s)`` over
    the source polygons ``s`` — people, households, beds spread evenly over
    each source polygon. Where the targets do not cover a source polygon,
    that share of its value is not assigned to any target.

    Parameters
    ----------
    source : geopandas.GeoDataFrame
        Source polygons.
    values : str, list of str, array-like or pandas.DataFrame
        Column name(s) of ``source``, or values aligned with its rows.
    target : geopandas.GeoDataFrame
        Target polygons (any CRS).
    target_id : str, optional
        ID column of ``target`` (default: its index).
    crs : optional
        Metric CRS for areas; default the Gauss–Krüger zone of ``source``.

    Returns
    -------
    pandas.DataFrame
        One column per value, indexed by target ID.

    Examples
    --------
    Two 2 km² squares of 100 and 300 people onto a rectangle over half of each:

    >>> import geopandas as gpd, shapely
    >>> x, y = 500_000, 3_260_000  # metres in the Gauss–Krüger zone of 120°E (EPSG:4549)
    >>> src = gpd.GeoDataFrame(geometry=[shapely.box(x, y, x + 1000, y + 2000),
    ...                                  shapely.box(x + 1000, y, x + 2000, y + 2000)], crs=4549)
    >>> tgt = gpd.GeoDataFrame({"id": ["t"]}, geometry=[shapely.box(x + 500, y, x + 1500, y + 2000)], crs=4549)
    >>> areal_interpolate(src, pd.DataFrame({"people": [100, 300]}), tgt, "id", crs=4549)
        people
    id        
    t    200.0
    """
    from geoplan.layers import crs as _crs

    if isinstance(values, str):
        table = source[[values]]
    elif isinstance(values, (list, tuple)) and all(isinstance(v, str) for v in values):
        table = source[list(values)]
    elif isinstance(values, pd.DataFrame):
        table = values
    else:
        arr = np.asarray(values, dtype=float)
        table = pd.DataFrame(arr.reshape(len(source), -1))
        if table.shape[1] == 1:
            table.columns = ["value"]
    if len(table) != len(source):
        raise ZonalError(_("{n_values} values given for {n} source polygons.").format(
            n_values=len(table), n=len(source)))
    vals = table.to_numpy(dtype=float)
    src = _crs.to_metric(source, crs)
    tgt = _crs.to_metric(target, src.crs)
    ids = _ids(target, target_id)
    sg, tg = np.asarray(src.geometry.values), np.asarray(tgt.geometry.values)
    for what, g in (("source", sg), ("target", tg)):
        kinds = shapely.get_type_id(g)
        if (~np.isin(kinds, (-1, 3, 6))).any():
            raise ZonalError(_("Areal interpolation needs polygons; the {what} layer has other geometries.").format(
                what=what))
    tree = shapely.STRtree(tg)
    si, ti = tree.query(sg, predicate="intersects")
    inter = shapely.area(shapely.intersection(sg[si], tg[ti]))
    area = shapely.area(sg)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(area[si] > 0, inter / area[si], 0.0)
    out = np.zeros((len(tg), vals.shape[1]))
    for k in range(vals.shape[1]):
        out[:, k] = np.bincount(ti, weights=share * np.nan_to_num(vals[si, k]), minlength=len(tg))
    return pd.DataFrame(out, index=ids, columns=table.columns)
