"""Zonal sums of the population raster and areal interpolation between polygon sets.

Township population comes from the 100 m population raster. A cell cut by a
township boundary is shared in proportion to the part of the cell each
township covers (exact fractional coverage, as exactextract computes it), so
the townships of a county add up to the raster total and small polygons —
a village, a 1 km buffer — get their share of the cells they touch instead of
all or nothing.

How the coverage is computed
----------------------------
The polygons' vertices are put in the raster's CRS and then in *pixel*
coordinates, where every cell is the unit square ``[c, c+1] × [r, r+1]``. By
Green's theorem the area of ``polygon ∩ cell(r, c)`` equals the integral,
along the polygon's boundary restricted to row ``r``, of
``clamp(x − c, 0, 1) dy`` (rings oriented so that exteriors count positive
and holes negative). Splitting every boundary edge where it crosses a grid
line — first into rows, then into cells — gives pieces lying in one cell
each; a piece in cell ``(r, c)`` adds ``(mean x − c)·dy`` to that cell and the
full ``dy`` to every cell left of it in the same row. A weighted sum
``Σ value × fraction`` therefore needs only, per piece, the value of its cell
and the prefix sum of the row left of it — no per-cell geometry, no
rasterisation, and every polygon of a layer is done in one vectorised pass.
The cost is that of the boundary pieces (vertices and grid crossings) plus
one cumulative sum over the raster window the polygons span.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import shapely

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
# Geometry → boundary pieces in pixel space
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str):
    from pyproj import CRS, Transformer

    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def _polygon_geometries(polygons, raster):
    """The polygons' geometries, repaired where invalid, in their own CRS; and that CRS."""
    from geoplan.layers import crs as _crs

    if raster.crs is None:
        raise CRSError(_("The population raster has no coordinate system (CRS); polygons cannot be placed on it."))
    try:
        _crs.require_crs(polygons, "polygon layer")
        array = polygons.geometry.values if hasattr(polygons, "geometry") else polygons.values
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
    # Self-intersecting rings would count the overlapping parts twice (or negatively); repair them the
    # way GIS tools do, keeping only polygonal area. This is done in the layer's own CRS, as in a GIS:
    # reprojecting moves vertices far too little to make a valid ring cross itself.
    invalid = ~shapely.is_valid(geoms) & (kinds != -1)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    return geoms, array.crs


def _pixel_edges(geoms, crs, raster):
    """Boundary edges of every polygon in pixel coordinates, with the sign that makes interiors count positive.

    Only the vertex coordinates are reprojected (no geometries are rebuilt).
    Returns ``(owner, x0, y0, x1, y1, sign)`` arrays, one entry per edge;
    edges that cannot contribute (horizontal, above or below the raster)
    are left out.
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), empty, empty, empty, empty, empty
    x, y = coords[:, 0], coords[:, 1]
    if crs is not None and raster.crs is not None and not crs.equals(raster.crs):
        x, y = _transformer(crs.srs, raster.crs.srs).transform(x, y)
    inv = ~raster.transform
    px = inv.a * x + inv.b * y + inv.c
    py = inv.d * x + inv.e * y + inv.f
    same = coord_ring[1:] == coord_ring[:-1]
    ring = coord_ring[:-1][same]
    x0, y0, x1, y1 = px[:-1][same], py[:-1][same], px[1:][same], py[1:][same]
    # Orientation is taken in pixel space, whatever the CRS and the grid's axes do to it: a ring's
    # ∮ x dy is its signed area, and exteriors (the first ring of each part) must add, holes subtract.
    area = np.bincount(ring, weights=(x0 + x1) * (y1 - y0), minlength=len(rings))
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_part[1:] != ring_part[:-1]
    sign = (np.where(exterior, 1.0, -1.0) * np.sign(area))[ring]
    nrows = raster.data.shape[0]
    keep = (y0 != y1) & (sign != 0) & (np.maximum(y0, y1) > 0) & (np.minimum(y0, y1) < nrows)
    owner = part_owner[ring_part[ring[keep]]]
    return owner, x0[keep], y0[keep], x1[keep], y1[keep], sign[keep]


def _split_at_columns(x0, y0, x1, y1, sign, ncols):
    """Split the edges that cross the raster's left or right side there, then clamp x to ``[0, ncols]``.

    A cell's coverage depends on x only through ``clamp(x − c, 0, 1)``, so a
    part of an edge left of the raster can stand on its left side and a part
    right of it on its right side (where it covers the whole row): the sums
    do not change, and no edge reaches beyond the raster's columns.
    """
    lo, hi = np.minimum(x0, x1), np.maximum(x0, x1)
    cross = ((lo < 0) & (hi > 0)) | ((lo < ncols) & (hi > ncols))
    if cross.any():
        i = np.flatnonzero(cross)
        cx0, cy0, cx1, cy1 = x0[i], y0[i], x1[i], y1[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            ta = np.clip(-cx0 / (cx1 - cx0), 0.0, 1.0)
            tb = np.clip((ncols - cx0) / (cx1 - cx0), 0.0, 1.0)
        t = np.stack([np.zeros(len(i)), np.minimum(ta, tb), np.maximum(ta, tb), np.ones(len(i))])
        xs, ys = cx0 + t * (cx1 - cx0), cy0 + t * (cy1 - cy0)
        # Exact end points, so that sub-edges still meet their neighbours.
        xs[0], ys[0], xs[3], ys[3] = cx0, cy0, cx1, cy1
        keep = np.ones(len(x0), dtype=bool)
        keep[i] = False
        x0 = np.concatenate([x0[keep], xs[:3].ravel()])
        y0 = np.concatenate([y0[keep], ys[:3].ravel()])
        x1 = np.concatenate([x1[keep], xs[1:].ravel()])
        y1 = np.concatenate([y1[keep], ys[1:].ravel()])
        extra = np.tile(np.flatnonzero(cross), 3)
        order = np.concatenate([np.flatnonzero(keep), extra])
        sign = sign[order]
    else:
        order = None
    return np.clip(x0, 0, ncols), y0, np.clip(x1, 0, ncols), y1, sign, order


def _expand(first, last):
    """For every integer from ``first`` to ``last`` (inclusive) of each entry: the entry's index and the integer."""
    n = last - first + 1
    start = np.cumsum(n) - n
    idx = np.repeat(np.arange(len(n)), n)
    return idx, np.repeat(first - start, n) + np.arange(len(idx)), start


def _pieces(owner, x0, y0, x1, y1, sign, shape):
    """Split edges at the grid lines into pieces lying in a single cell.

    Returns ``(owner, row, col, own, dy)``: the cell of each piece, the area
    it adds to its own cell (``(mean x − col)·dy``) and ``dy``, which it adds
    to each cell left of it in the row. Parts of edges left of the raster
    lie on column 0's left side, those right of it in the virtual column
    ``ncols`` (covering whole rows); pieces above or below it are dropped.
    """
    nrows, ncols = shape
    x0, y0, x1, y1, sign, order = _split_at_columns(x0, y0, x1, y1, sign, ncols)
    if order is not None:
        owner = owner[order]
    # Rows first: each edge becomes segments lying in one row, from its low end up. The sign carries
    # the direction, so the split itself does not depend on it.
    up = y1 > y0
    ya, yb = np.minimum(y0, y1), np.maximum(y0, y1)
    xa, xb = np.where(up, x0, x1), np.where(up, x1, x0)
    first = np.maximum(np.floor(ya), 0)
    last = np.minimum(np.ceil(yb) - 1, nrows - 1)
    keep = (last >= first) & (yb > ya)  # splitting at the raster's sides can leave horizontal bits
    if not keep.all():
        owner, ya, yb, xa, xb, first, last = (a[keep] for a in (owner, ya, yb, xa, xb, first, last))
        up, sign = up[keep], sign[keep]
    first, last = first.astype(np.int64), last.astype(np.int64)
    slope = (xb - xa) / (yb - ya)
    e, row, start = _expand(first, last)
    end = start + (last - first)
    # A segment runs from its row's lower grid line to the next one, except where the edge starts or ends.
    lo = row.astype(np.float64)
    hi = lo + 1.0
    lo[start] = np.maximum(ya, first)
    hi[end] = np.minimum(yb, last + 1)
    xlo = xa[e] + (lo - ya[e]) * slope[e]  # exact where lo == ya: the edge's start
    xhi = np.empty_like(xlo)
    xhi[:-1] = xlo[1:]  # a segment ends where the next one of its edge starts
    xhi[end] = np.where(yb <= last + 1, xb, xa + (hi[end] - ya) * slope)
    sdy = (hi - lo) * (np.where(up, 1.0, -1.0) * sign)[e]
    # Then columns: each segment becomes pieces lying in one cell (x is already within [0, ncols]).
    # Clamped again because interpolation may overshoot an end point on the raster's side by an ulp.
    xmin, xmax = np.maximum(np.minimum(xlo, xhi), 0.0), np.minimum(np.maximum(xlo, xhi), ncols)
    fmin = np.floor(xmin)
    first = fmin.astype(np.int64)
    last = np.maximum(np.ceil(xmax) - 1, fmin).astype(np.int64)
    s, col, _start = _expand(first, last)
    colf = col.astype(np.float64)
    clo = np.maximum(xmin[s], colf)
    chi = np.minimum(xmax[s], colf + 1.0)
    # A segment's dy is shared among its cells by the length of x in each (it is straight); a segment
    # within one cell keeps all of it, exactly.
    single = last == first
    with np.errstate(invalid="ignore", divide="ignore"):
        per_x = np.where(single, 0.0, sdy / (xmax - xmin))
    pdy = (chi - clo) * per_x[s] + (sdy * single)[s]
    own = (0.5 * (clo + chi) - colf) * pdy
    return owner[e][s], row[s], col, own, pdy


# A cumulative sum costs about as much per cell as ordering the pieces and summing the runs
# between them costs per piece over ten cells (measured on the sample county); the cheaper is used.
_RUNS_OVER_PREFIX = 10


def _left_sums_by_prefix(row, col, values):
    """Σ of each piece's row left of it, from row prefix sums over the pieces' bounding box.

    Starting the sums at column c0 rather than 0 drops the same amount from
    every piece of a row, and a closed ring's pieces in a row add up to
    dy = 0, so the weighted sums are unchanged.
    """
    ncols = values.shape[1]
    r0, r1 = int(row.min()), int(row.max())
    c0, c1 = int(col.min()), min(int(col.max()), ncols - 1)
    width = max(c1 - c0 + 1, 0) + 1
    cum = np.empty((r1 - r0 + 1, width))
    cum[:, 0] = 0.0
    np.cumsum(values[r0:r1 + 1, c0:c1 + 1], axis=1, out=cum[:, 1:])
    return cum.ravel().take((row - r0) * width + (col - c0))


def _left_sums_by_runs(row, col, values):
    """Σ of each piece's row left of it (from the row's first piece), from the runs of cells between pieces.

    The pieces are ordered along the rows and the cells between neighbours
    summed in one pass (``np.add.reduceat``): this touches the cells once,
    like the prefix sums, but in a fast sum rather than a cumulative one, so
    it wins when the pieces are few for the cells they span. As in
    :func:`_left_sums_by_prefix`, a value common to a row's pieces cancels.
    """
    nrows, ncols = values.shape
    n = len(row)
    key = row * (ncols + 1) + col
    if n < 2**31 and nrows * (ncols + 1) < 2**31:
        # Sorting keys with the index packed in the low bits is several times faster than argsort.
        packed = np.sort((key << 32) | np.arange(n))
        order, key = packed & 0xFFFFFFFF, packed >> 32
    else:
        order = np.argsort(key, kind="stable")
        key = key[order]
    r = key // (ncols + 1)
    c = key - r * (ncols + 1)
    flat = values.ravel()
    # Column ncols of row r is the start of row r + 1, which ends a run there as it should.
    start = r * ncols + c
    runs = np.add.reduceat(flat, np.minimum(start, flat.size - 1))
    nxt_same_row = np.zeros(n, dtype=bool)
    nxt_same_row[:-1] = (r[1:] == r[:-1]) & (c[1:] > c[:-1])
    # reduceat gives a single cell, not 0, between equal indices, and sums across rows: keep only real runs.
    runs *= nxt_same_row
    if start[-1] >= flat.size:
        # A run ending at the clipped index misses the raster's last cell (unless it is that cell:
        # reduceat gives it for equal indices); put it back.
        ends_at_last = np.zeros(n, dtype=bool)
        ends_at_last[:-1] = nxt_same_row[:-1] & (start[1:] >= flat.size) & (start[:-1] < flat.size - 1)
        runs[ends_at_last] += flat[-1]
    left = np.cumsum(runs) - runs
    first = np.ones(n, dtype=bool)
    first[1:] = r[1:] != r[:-1]
    row_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    out = np.empty(n)
    out[order] = left - left[row_start]
    return out


def _weighted_sums(pieces, values: np.ndarray, n_owners: int, with_cells: bool = True):
    """Σ value × covered fraction per owner; and Σ covered fraction (None unless ``with_cells``).

    Also returns the largest cell value under a piece (at least 1), the scale of the round-off.
    """
    owner, row, col, own, pdy = pieces
    nrows, ncols = values.shape
    if len(row) == 0:
        return np.zeros(n_owners), (np.zeros(n_owners) if with_cells else None), 1.0
    window = (int(row.max()) - int(row.min()) + 1) * (int(col.max()) - int(col.min()) + 1)
    if window > _RUNS_OVER_PREFIX * len(row):
        left_sum = _left_sums_by_runs(row, col, values)
    else:
        left_sum = _left_sums_by_prefix(row, col, values)
    # Pieces in the virtual column ncols own nothing (they stand on the raster's right side).
    cell_value = values.ravel().take(row * ncols + np.minimum(col, ncols - 1))
    sums = np.bincount(owner, weights=own * cell_value + pdy * left_sum, minlength=n_owners)
    scale = max(1.0, float(np.abs(cell_value).max()))
    if not with_cells:
        return sums, None, scale
    return sums, np.bincount(owner, weights=own + pdy * col, minlength=n_owners), scale


def _raster_values(raster) -> np.ndarray:
    data = np.asarray(raster.data, dtype=np.float64)
    if data.ndim != 2:
        raise ZonalError(f"The raster must be 2-D (one band), got shape {data.shape}.")
    return data


def _ids(polygons, id_col):
    return id_index(polygons, id_col, ZonalError, N_("polygon layer"))


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def _zonal_arrays(polygons, raster, id_col, with_cells=True):
    """IDs, Σ value × fraction, Σ fraction and the cell's signed area: the work of :func:`zonal_stats`."""
    ids = _ids(polygons, id_col)
    geoms, crs = _polygon_geometries(polygons, raster)
    values = _raster_values(raster)
    t = raster.transform
    pieces = _pieces(*_pixel_edges(geoms, crs, raster), values.shape)
    sums, cells, scale = _weighted_sums(pieces, values, len(geoms), with_cells)
    if not np.isfinite(sums).all():
        # Non-finite cells count as 0. read_population already zeroes nodata, so the (costly)
        # cleaning pass is only made when such a cell reached a sum.
        values = np.where(np.isfinite(values), values, 0.0)
        sums, cells, scale = _weighted_sums(pieces, values, len(geoms), with_cells)
    # Round-off can leave −1e−12 where a polygon only touches a cell.
    sums[np.abs(sums) < 1e-9 * scale] = 0.0
    if with_cells:
        cells = np.clip(cells, 0.0, None)
    return ids, sums, cells, t.a * t.e - t.b * t.d


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
    owner, row, col, own, pdy = _pieces(*_pixel_edges(geoms, geoms_crs, raster), (nrows, ncols))
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
        raise ZonalError(f"{len(table)} values given for {len(source)} source polygons.")
    vals = table.to_numpy(dtype=float)
    src = _crs.to_metric(source, crs)
    tgt = _crs.to_metric(target, src.crs)
    ids = _ids(target, target_id)
    sg, tg = np.asarray(src.geometry.values), np.asarray(tgt.geometry.values)
    for what, g in (("source", sg), ("target", tg)):
        kinds = shapely.get_type_id(g)
        if (~np.isin(kinds, (-1, 3, 6))).any():
            raise ZonalError(f"Areal interpolation needs polygons; the {what} layer has other geometries.")
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
