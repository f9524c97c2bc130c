"""Exact coverage of raster cells by polygons, from the polygons' boundaries alone.

The engine behind :mod:`geoplan.coverage.zonal`: it turns polygons into
*boundary pieces*, each lying in one raster cell, and sums raster values
weighted by the fraction of each cell the polygons cover.

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
one pass over the raster window the polygons span.

:func:`edge_sums` computes the sums in one compiled pass over the edges
(``_cellsums.pyx``, same formulas); the numpy functions here are its
reference in the tests and its fallback where it was not compiled.

Summing a row left of every piece is the only work that grows with the
polygons' area. The pieces of an edge within a row (a *segment*) lie in
consecutive cells, so the row left of a piece is the row left of its
segment plus the segment's cells before it: the row sums are needed once a
segment. They are taken either from row prefix sums (``np.cumsum``) over
the window the segments span or, when that window has many cells per
segment, by ordering the segments along the rows and summing the runs of
cells between them (``np.add.reduceat``), which reads each cell once at a
lower cost.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import functools

import numpy as np
import shapely

from geoplan._arrays import stable_order
from geoplan._threads import background
from geoplan.errors import CRSError
from geoplan.i18n import _

try:
    # The same arithmetic compiled (setup.py builds it with pip install). Without a C compiler the
    # install goes on without it, and edge_sums falls back on the numpy functions of this module.
    from geoplan.coverage import _cellsums
except ImportError:  # pragma: no cover - exercised by installs without a compiler
    _cellsums = None

__all__ = ["Pieces", "pixel_edges", "boundary_pieces", "weighted_sums", "edge_sums"]


# Building a Transformer costs about 0.5 ms, as much as reprojecting a few thousand vertices; the
# cache is keyed by the CRSs' definitions because hashing a pyproj CRS exports it to WKT every time.
@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str):
    from pyproj import CRS, Transformer

    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


# From this many vertices on, half of them are reprojected on another core (PROJ releases the GIL and
# pyproj's Transformer is thread-safe). PROJ takes about 0.15 µs a vertex; below this, handing half of
# them over costs about what it saves.
_REPROJECT_IN_HALVES = 4000


def _reprojected(transformer, x, y):
    """``transformer.transform(x, y)``, the first half on a worker thread when there are many vertices."""
    if len(x) < _REPROJECT_IN_HALVES:
        return transformer.transform(x, y)
    h = len(x) // 2
    first = background(transformer.transform, x[:h], y[:h])
    x1, y1 = transformer.transform(x[h:], y[h:])
    x0, y0 = first.result()
    return np.concatenate([x0, x1]), np.concatenate([y0, y1])


def pixel_edges(geoms, crs, raster):
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
        x, y = _reprojected(_transformer(crs.srs, raster.crs.srs), x, y)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        # PROJ gives inf for coordinates outside the CRS's range, typically metres labelled as degrees;
        # counted as they are, they would silently give the polygon no population.
        feature = int(part_owner[ring_part[coord_ring[np.flatnonzero(~finite)[0]]]]) + 1
        raise CRSError(_("Feature {n} of the polygon layer has coordinates that cannot be placed on the "
                         "population raster: they are not numbers, or lie outside the range of the layer's "
                         "coordinate system ({crs}). Check the layer's CRS: coordinates in metres labelled as "
                         "degrees are the usual cause.").format(n=feature, crs=crs.to_string() if crs else "?"))
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
    s, col, seg_start = _expand(first, last)
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
    seg_owner = owner[e]
    pieces = Pieces((seg_owner[s], row[s], col, own, pdy))
    # Each segment's pieces lie in consecutive cells of its row, in order (see weighted_sums).
    pieces.segments = (s, seg_start, seg_owner, row, first, sdy)
    return pieces


class Pieces(tuple):
    """``(owner, row, col, own, dy)``: see :func:`boundary_pieces`.

    ``segments``, when set, groups the pieces into segments, pieces in
    consecutive cells of one row and one polygon: ``(segment of each piece,
    first piece of each segment, and each segment's polygon, row, first
    column and Σ dy)``. It lets :func:`weighted_sums` look up the row left of
    each segment instead of each piece.
    """

    segments = None


def boundary_pieces(geoms, crs, raster):
    """The polygons' boundaries cut into pieces that each lie in one raster cell.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Valid polygons and multipolygons (None and empty ones have no pieces).
    crs : pyproj.CRS or None
        The CRS of ``geoms``; their vertices are reprojected to the raster's.
    raster : geoplan.layers.io.PopulationRaster
        Only its shape, ``transform`` and ``crs`` are used.

    Returns
    -------
    Pieces
        A tuple ``(owner, row, col, own, dy)``, one entry per piece: the index of its
        polygon in ``geoms``, its cell, the area it adds to its own cell and
        the ``dy`` it adds to every cell left of it in the row (in cells,
        signed so that interiors count positive). Pieces right of the raster
        are in column ``ncols`` (owning nothing, covering the whole row).

    Examples
    --------
    A square of two by two cells has two vertical sides crossing two rows each, each side one piece
    per row (the horizontal sides add nothing):

    >>> import geopandas as gpd, shapely
    >>> pop = county.population
    >>> x0, y0 = pop.transform.c, pop.transform.f
    >>> square = gpd.GeoSeries([shapely.box(x0 + 100, y0 - 300, x0 + 300, y0 - 100)], crs=pop.crs).values
    >>> owner, row, col, own, dy = boundary_pieces(square, pop.crs, pop)
    >>> sorted(zip(row.tolist(), col.tolist(), dy.tolist()))
    [(1, 1, -1.0), (1, 3, 1.0), (2, 1, -1.0), (2, 3, 1.0)]
    """
    return _pieces(*pixel_edges(geoms, crs, raster), np.shape(raster.data))


# Prefix sums cost about 4 ns per cell of the window (numpy's cumsum is sequential); ordering the
# segments and summing the runs between them about 40 ns per segment and under 1 ns per cell
# (measured on the sample county), so the runs win once the window has more than about ten cells
# per segment.
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
    # The pieces come in runs along each boundary, which stable_order's timsort merges.
    order, key = stable_order(row * (ncols + 1) + col)
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


def weighted_sums(pieces, values: np.ndarray, n_owners: int, with_cells: bool = True):
    """Σ value × covered fraction of the cells, per polygon, from its boundary pieces.

    Parameters
    ----------
    pieces : Pieces or tuple
        What :func:`boundary_pieces` returns; a plain tuple of its five
        arrays gives the same sums, each piece counting as a segment of its own.
    values : numpy.ndarray
        The raster's cells (2-D, float64). A non-finite cell makes the sums
        it reaches non-finite.
    n_owners : int
        Number of polygons (the length of the output).
    with_cells : bool
        Also sum the covered fractions themselves.

    Returns
    -------
    tuple
        ``(sums, cells, scale)``: Σ value × fraction per polygon; Σ fraction
        per polygon in cell equivalents (None unless ``with_cells``); and the
        largest magnitude of a cell under a piece (at least 1), the scale of
        the round-off in ``sums``.

    Examples
    --------
    A 150 m square on the 100 m grid covers one cell fully, two half, one a quarter:

    >>> import geopandas as gpd, shapely
    >>> pop = county.population
    >>> t = pop.transform  # north up: the top-left corner of a populated cell (row 4, column 214)
    >>> x0, y0 = t.c + 214 * t.a, t.f + 4 * t.e
    >>> square = gpd.GeoSeries([shapely.box(x0, y0 - 150, x0 + 150, y0)], crs=pop.crs).values
    >>> sums, cells, _ = weighted_sums(boundary_pieces(square, pop.crs, pop), pop.data, 1)
    >>> v = pop.data[4:6, 214:216]
    >>> expected = v[0, 0] + (v[0, 1] + v[1, 0]) / 2 + v[1, 1] / 4
    >>> float(cells[0]), float(expected) > 0, bool(np.isclose(sums[0], expected, rtol=1e-12))
    (2.25, True, True)
    """
    owner, row, col, own, pdy = pieces
    nrows, ncols = values.shape
    if len(row) == 0:
        return np.zeros(n_owners), (np.zeros(n_owners) if with_cells else None), 1.0
    # Pieces in the virtual column ncols own nothing (they stand on the raster's right side).
    cell_value = values.ravel().take(row * ncols + np.minimum(col, ncols - 1))
    segments = getattr(pieces, "segments", None)
    if segments is None:
        # Every piece a segment of its own.
        segments = (None, None, owner, row, col, pdy)
    seg_of, seg_start, seg_owner, seg_row, seg_col, seg_dy = segments
    # The row left of a piece is the row left of its segment plus the segment's cells before the
    # piece, so the row sums (the costly part) are looked up once a segment.
    window = (int(seg_row.max()) - int(seg_row.min()) + 1) * (int(seg_col.max()) - int(seg_col.min()) + 1)
    if window > _RUNS_OVER_PREFIX * len(seg_row):
        left_sum = _left_sums_by_runs(seg_row, seg_col, values)
    else:
        left_sum = _left_sums_by_prefix(seg_row, seg_col, values)
    sums = np.bincount(seg_owner, weights=seg_dy * left_sum, minlength=n_owners)
    if seg_of is None:
        sums += np.bincount(owner, weights=own * cell_value, minlength=n_owners)
    else:
        before = np.cumsum(cell_value)
        before -= cell_value
        before -= before[seg_start][seg_of]
        before *= pdy
        before += own * cell_value
        sums += np.bincount(owner, weights=before, minlength=n_owners)
    scale = max(1.0, float(np.abs(cell_value).max()))
    if not with_cells:
        return sums, None, scale
    return sums, np.bincount(owner, weights=own + pdy * col, minlength=n_owners), scale


def edge_sums(edges, values: np.ndarray, n_owners: int, with_cells: bool = True):
    """:func:`weighted_sums` of the polygons whose :func:`pixel_edges` are ``edges``.

    Computed in one compiled pass (``geoplan.coverage._cellsums``) where the
    extension was built, else from :func:`boundary_pieces`' arrays: the same
    formulas, so the two agree to rounding (about 1e-14 of the sums).

    Parameters
    ----------
    edges : tuple
        What :func:`pixel_edges` returns.
    values, n_owners, with_cells
        As for :func:`weighted_sums`.

    Returns
    -------
    tuple
        ``(sums, cells, scale)`` as :func:`weighted_sums` returns them.

    Examples
    --------
    A 200 × 100 m strip starting half a cell into cell (4, 214) covers half of it, all of the next
    cell and half of the one after:

    >>> import geopandas as gpd, shapely
    >>> pop = county.population
    >>> t = pop.transform  # north up: the top-left corner of cell (row 4, column 214)
    >>> x, y = t.c + 214 * t.a, t.f + 4 * t.e
    >>> strip = gpd.GeoSeries([shapely.box(x + 50, y - 100, x + 250, y)], crs=pop.crs).values
    >>> sums, cells, _ = edge_sums(pixel_edges(strip, pop.crs, pop), pop.data, 1)
    >>> pop.data[4, 214:217].tolist(), float(cells[0]), round(float(sums[0]), 9)
    ([58.0, 77.0, 70.0], 2.0, 141.0)
    """
    if _cellsums is not None:
        owner, x0, y0, x1, y1, sign = edges
        return _cellsums.edge_sums(np.ascontiguousarray(owner, dtype=np.int64), *(
            np.ascontiguousarray(a, dtype=np.float64) for a in (x0, y0, x1, y1, sign)),
            np.ascontiguousarray(values, dtype=np.float64), n_owners, with_cells)
    return weighted_sums(_pieces(*edges, np.shape(values)), values, n_owners, with_cells)
