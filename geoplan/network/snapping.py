"""Snapping points to the nearest position on the nearest road edge.

The :class:`_SnapIndex` finds the nearest straight segment of all edges
for a million points at array speed (k-d tree over short pieces of the
segments, exact by a distance bound); :class:`SnappingMixin` gives
:class:`~geoplan.network.graph.RoadNetwork` its :meth:`snap` and the flat
arrays (:class:`_Pts`) the routing works on.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.errors import GeoplanError, NetworkError, Problem, ValidationError
from geoplan.layers.crs import require_crs
from geoplan.network.build import DEFAULT_ACCESS_SPEED_KMH, DEFAULT_MAX_SNAP_DISTANCE_M, _row_label

# --------------------------------------------------------------------------
# Snapped points
# --------------------------------------------------------------------------

@dataclass
class _Pts:
    """Snapped points as flat arrays (internal)."""

    ids: pd.Index
    snapped: np.ndarray
    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    to_u: np.ndarray     # seconds from u along the edge to the point
    to_v: np.ndarray     # seconds from the point along the edge to v
    two_way: np.ndarray
    access_s: np.ndarray
    dist_m: np.ndarray

    def depart(self):
        """(node, cost) options for leaving the point onto the network."""
        n1 = self.v
        c1 = self.to_v + self.access_s
        n2 = self.u
        c2 = np.where(self.two_way, self.to_u + self.access_s, np.inf)
        return n1, c1, n2, c2

    def arrive(self):
        """(node, cost) options for arriving at the point from the network."""
        n1 = self.u
        c1 = self.to_u + self.access_s
        n2 = self.v
        c2 = np.where(self.two_way, self.to_v + self.access_s, np.inf)
        return n1, c1, n2, c2


def _direct_pairs(a: _Pts, b: _Pts, a_idx=None):
    """Pairs (i in a, j in b) on the same edge and the time from a[i] to b[j] along it."""
    ai = np.flatnonzero(a.snapped) if a_idx is None else a_idx[a.snapped[a_idx]]
    bj = np.flatnonzero(b.snapped)
    if len(ai) == 0 or len(bj) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    # An inner join on the edge, in numpy: for each i (in order) every j
    # on its edge (in order), as pandas' merge would list them.
    order = np.argsort(b.edge[bj], kind="stable")
    bj, be = bj[order], b.edge[bj][order]
    lo = np.searchsorted(be, a.edge[ai], side="left")
    cnt = np.searchsorted(be, a.edge[ai], side="right") - lo
    i = np.repeat(ai, cnt).astype(np.int64)
    j = bj[np.repeat(lo, cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)].astype(np.int64)
    pa, pb = a.to_u[i], b.to_u[j]
    along = np.where(pb >= pa, pb - pa, np.where(a.two_way[i], pa - pb, np.inf))
    return i, j, along + a.access_s[i] + b.access_s[j]


def _ids_of(gdf, id_col, what):
    if id_col is None:
        ids = gdf.index
        name = gdf.index.name or "id"
    else:
        if id_col not in gdf.columns:
            raise GeoplanError(
                f"The {what} have no column {id_col!r}; columns are: {', '.join(map(str, gdf.columns))}. "
                "Pass id_col= the column holding each point's unique ID."
            )
        ids = pd.Index(gdf[id_col])
        name = id_col
    problems = []
    for i in np.flatnonzero(pd.isna(ids)):
        problems.append(Problem(what, None, _row_label(i), str(name), None, "empty ID",
                                "give every point a unique ID"))
    for i in np.flatnonzero(ids.duplicated(keep="first")):
        problems.append(Problem(what, None, _row_label(i), str(name), str(ids[i]), "duplicate ID",
                                "IDs must be unique so results can be matched back"))
    if problems:
        raise ValidationError(problems, f"{len(problems)} problem(s) with the IDs of the {what}")
    return pd.Index(ids, name=name)


def _spatial_order(xy: np.ndarray) -> np.ndarray:
    """Permutation putting points in Z-order (interleaved bits of a 2¹⁶ grid).

    k-d tree queries in this order touch tree nodes and leaves that are
    already in cache: on points in random order they ran 2–3× faster so,
    and a tree of Z-ordered points also builds faster.
    """
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    lo = xy.min(axis=0)
    span = np.maximum(xy.max(axis=0) - lo, 1e-300)
    q = ((xy - lo) * (65535.0 / span)).astype(np.uint32)

    def spread(v):
        # Move bit i of a 16-bit value to bit 2i.
        v = (v | (v << 8)) & np.uint32(0x00FF00FF)
        v = (v | (v << 4)) & np.uint32(0x0F0F0F0F)
        v = (v | (v << 2)) & np.uint32(0x33333333)
        return (v | (v << 1)) & np.uint32(0x55555555)

    return np.argsort(spread(q[:, 0]) | (spread(q[:, 1]) << 1))


def _project(rows: np.ndarray, px, py):
    """Fraction ``t`` along each segment of the foot of a point, and the distance.

    ``rows`` holds segments as ``(..., 4)`` = start x, start y, dx, dy.
    """
    dx, dy = rows[..., 2], rows[..., 3]
    qx = px - rows[..., 0]
    qy = py - rows[..., 1]
    den = dx * dx + dy * dy
    t = np.clip((qx * dx + qy * dy) / np.maximum(den, 1e-300), 0.0, 1.0)
    return t, np.hypot(qx - t * dx, qy - t * dy)


@dataclass
class _SnapIndex:
    """Straight segments of all edges and a k-d tree to find the nearest.

    Snapping works on segments rather than whole edges so that each
    distance is a two-point projection done in numpy. Segments are cut into
    pieces at most ``piece_len`` long and the tree holds the piece
    midpoints: a piece of half-length ``half`` whose midpoint is ``r`` from
    a point is at least ``r − half`` from it. So once the k-th nearest
    midpoint is farther than ``best + half`` (``best`` the smallest exact
    distance among the first k pieces), no unseen piece can be as close,
    and the answer is exact. Points not settled so (far from roads, where k
    pieces cover too short a stretch) get one ball query of radius
    ``best + half``, which holds every piece that could be nearer. One
    point per piece, rather than points sampled densely along every
    segment, keeps both the tree and the queries small. (GEOS's STRtree
    nearest query was ~15× slower on long rural roads; snapping with
    shapely's ``STRtree.query_nearest`` was still ~3× slower in the
    benchmark.)

    Attributes
    ----------
    tree : scipy.spatial.cKDTree
        Piece midpoints.
    piece_seg : numpy.ndarray
        Segment of each piece.
    piece_rows : numpy.ndarray
        ``(n_pieces, 4)`` copy of the segment row of each piece, so that a
        candidate costs one gather.
    half : float
        Upper bound of the half-length of every piece.
    seg_rows : numpy.ndarray
        ``(n_segments, 4)``: start x, start y, dx, dy.
    seg_edge, seg_len, seg_along : numpy.ndarray
        Edge of each segment, its length and the metres along the edge
        from ``u`` to its start.
    """

    mid: np.ndarray
    piece_seg: np.ndarray
    piece_rows: np.ndarray
    half: float
    seg_rows: np.ndarray
    seg_edge: np.ndarray
    seg_len: np.ndarray
    seg_along: np.ndarray
    grid: tuple | None = None
    _tree: object = None

    #: Points per block of queries: bounds the (points × k) candidate
    #: arrays and keeps them in cache.
    CHUNK = 16384
    #: Candidates fetched first: 8 settle most points (75 % of the sample
    #: county's cells, 90 % on a synthetic grid); the rest take a ball query.
    K0 = 8
    #: First look in a uniform grid (see :func:`_build_grid`); the tree only
    #: for the points it does not settle.
    GRID = True

    @classmethod
    def build(cls, geoms: np.ndarray, n_edges: int) -> "_SnapIndex":
        """Index the straight segments of ``geoms`` (edge ``i`` = ``geoms[i]``)."""
        coords, eidx = shapely.get_coordinates(geoms, return_index=True)
        same = eidx[1:] == eidx[:-1]
        a, b, seg_edge = coords[:-1][same], coords[1:][same], eidx[:-1][same]
        d = b - a
        seg_len = np.hypot(d[:, 0], d[:, 1])
        cum = np.cumsum(seg_len)
        edge_start = np.zeros(n_edges)
        first = np.ones(len(seg_edge), dtype=bool)
        first[1:] = seg_edge[1:] != seg_edge[:-1]
        edge_start[seg_edge[first]] = (cum - seg_len)[first]
        seg_along = cum - seg_len - edge_start[seg_edge]
        seg_rows = np.empty((len(a), 4))
        seg_rows[:, :2], seg_rows[:, 2:] = a, d
        # Pieces about as long as a typical segment: shorter ones enlarge
        # the tree, longer ones widen the bound and so the candidates per
        # point; the cap keeps a network of long straight segments from
        # doing the latter.
        piece_len = float(np.clip(np.median(seg_len), 10.0, 400.0)) if len(seg_len) else 10.0
        per = np.maximum(np.ceil(seg_len / piece_len), 1).astype(np.int64)
        # Pieces in Z-order of their segments (see _spatial_order).
        z = _spatial_order(a)
        per_z = per[z]
        owner = np.repeat(z, per_z)
        k = np.arange(len(owner)) - np.repeat(np.cumsum(per_z) - per_z, per_z)
        t = (k + 0.5) / np.repeat(per_z, per_z)
        piece_rows = seg_rows[owner]
        mid = piece_rows[:, :2] + t[:, None] * piece_rows[:, 2:]
        # The margin covers rounding in the midpoints (far below a micrometre).
        half = float((seg_len / per).max() / 2.0) * (1 + 1e-9) + 1e-9 if len(per) else 0.0
        del k, t
        return cls(mid, owner, piece_rows, half, seg_rows, seg_edge, seg_len, seg_along,
                   _build_grid(mid, half) if cls.GRID else None)

    @property
    def tree(self):
        """k-d tree of the piece midpoints, built on first use: points within
        the grid's reach of a road never need it."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.mid, balanced_tree=False, compact_nodes=False)
        return self._tree

    def _grid_block(self, xy):
        """Nearest segment among the pieces listed in each point's grid cell.

        Returns ``(seg, dist, settled)``: the answer is exact (same distance
        and tie rule as the tree search) where ``settled``, i.e. where the
        distance is within the grid's reach (see :func:`_build_grid`).
        """
        x0, y0, g, nx, ny, keys, starts, entries, reach = self.grid
        m = len(xy)
        cx = np.floor((xy[:, 0] - x0) / g)
        cy = np.floor((xy[:, 1] - y0) / g)
        inside = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
        key = np.where(inside, cx * ny + cy, -1).astype(np.int64)
        pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        hit = inside & (keys[pos] == key)
        lo = np.where(hit, starts[pos], 0)
        cnt = np.where(hit, starts[pos + 1] - starts[pos], 0)
        first = np.cumsum(cnt) - cnt
        total = int(cnt.sum())
        best = np.full(m, np.inf)
        seg = np.full(m, -1, dtype=np.int64)
        if total:
            owner = np.repeat(np.arange(m), cnt)
            cand = entries[np.repeat(lo - first, cnt) + np.arange(total)]
            _, d = _project(self.piece_rows[cand], xy[owner, 0], xy[owner, 1])
            has = cnt > 0
            best[has] = np.minimum.reduceat(d, first[has])
            # Of equally near segments the lowest wins, as in the tree search.
            tie = np.where(d == best[owner], self.piece_seg[cand], np.iinfo(np.int64).max)
            seg[has] = np.minimum.reduceat(tie, first[has])
        return seg, best, best <= reach

    def nearest(self, xy: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest segment and its distance for each point.

        Parameters
        ----------
        xy : numpy.ndarray
            ``(n, 2)`` point coordinates in the network CRS.
        max_distance : float
            Points farther than this from every segment are not matched.

        Returns
        -------
        seg : numpy.ndarray
            Nearest segment per point, -1 beyond ``max_distance``. Of
            equally near segments the first (lowest index, hence lowest
            edge) wins.
        dist : numpy.ndarray
            Exact distance to the nearest segment, also beyond
            ``max_distance``.
        """
        m = len(xy)
        best_seg = np.full(m, -1, dtype=np.int64)
        best_d = np.full(m, np.inf)
        z = _spatial_order(xy)
        if self.grid is not None and len(self.piece_seg):
            settled = np.zeros(m, dtype=bool)

            def grid(rows):
                seg, d, ok = self._grid_block(xy[rows])
                best_seg[rows] = np.where(ok & (d <= max_distance), seg, -1)
                best_d[rows] = d
                settled[rows] = ok

            _on_threads(grid, [z[lo:lo + self.CHUNK] for lo in range(0, m, self.CHUNK)])
            # Only what the grid left open goes to the tree (in the same order).
            z = z[~settled[z]]

        def run(rows):
            best_seg[rows], best_d[rows] = self._nearest_block(xy[rows], max_distance)

        # Tree queries and numpy's arithmetic release the GIL, so blocks on
        # threads use every core for both (the tree's own ``workers`` would
        # leave the numpy half serial).
        if len(z) and len(self.piece_seg):
            self.tree  # built here, not by two threads at once
        _on_threads(run, [z[lo:lo + self.CHUNK] for lo in range(0, len(z), self.CHUNK)])
        far = np.flatnonzero((best_seg < 0) & (best_d > max_distance) & ~(best_d <= self._reach()))
        if len(far) and len(self.piece_seg):
            # The search above stops once no road within max_distance can
            # exist; the exact distance, for the message, takes the same two
            # rounds without that bound.
            k = min(self.K0, len(self.piece_seg))
            dk, ik = self.tree.query(xy[far], k=k, workers=-1)
            dk, ik = dk.reshape(len(far), k), ik.reshape(len(far), k)
            d = _project(self.piece_rows[ik], xy[far, :1], xy[far, 1:])[1].min(axis=1)
            again = np.flatnonzero(~(dk[:, -1] - self.half > d) & (k < len(self.piece_seg)))
            if len(again):
                d[again] = np.minimum(d[again], self._ball(xy[far[again]], d[again] + self.half)[0])
            best_d[far] = d
        return best_seg, best_d

    def _reach(self) -> float:
        return self.grid[-1] if self.grid is not None else -np.inf

    def _nearest_block(self, xy, max_distance):
        """:meth:`nearest` for one block, distances exact only within ``max_distance``."""
        m, n_pieces = len(xy), len(self.piece_seg)
        best_seg = np.full(m, -1, dtype=np.int64)
        best_d = np.full(m, np.inf)
        if m == 0 or n_pieces == 0:
            return best_seg, best_d
        # Midpoints beyond this cannot belong to a piece within max_distance.
        reach = max_distance + self.half
        k = min(self.K0, n_pieces)
        dk, ik = self.tree.query(xy, k=k, distance_upper_bound=reach)
        dk, ik = dk.reshape(m, k), ik.reshape(m, k)
        found = ik < n_pieces
        ik = np.where(found, ik, 0)
        _, d = _project(self.piece_rows[ik], xy[:, :1], xy[:, 1:])
        d[~found] = np.inf
        best = d.min(axis=1)
        seg = np.where(d == best[:, None], self.piece_seg[ik], np.iinfo(np.int64).max).min(axis=1)
        # Unseen pieces are farther than dk[:, -1] − half (dk is inf where
        # the bounded query ran out of midpoints within reach).
        limit = np.minimum(best, max_distance)
        done = (dk[:, -1] - self.half > limit) | (k >= n_pieces)
        again = np.flatnonzero(~done)
        if len(again):
            # The rest (points far from roads, where a fixed k covers too
            # short a stretch of road) get every midpoint that may belong to
            # a piece within ``limit``: one ball query, so no round of
            # growing k fetches and projects ever more candidates.
            d2, s2 = self._ball(xy[again], limit[again] + self.half)
            better = (d2 < best[again]) | ((d2 == best[again]) & (s2 < seg[again]))
            best[again[better]] = d2[better]
            seg[again[better]] = s2[better]
        hit = best <= max_distance
        best_seg[hit] = seg[hit]
        return best_seg, best

    def _ball(self, xy, radius):
        """Nearest segment among the pieces whose midpoints lie within ``radius``
        of each point (distance inf and segment -1 where there are none)."""
        balls = self.tree.query_ball_point(xy, radius, return_sorted=False)
        counts = np.fromiter((len(b) for b in balls), dtype=np.int64, count=len(xy))
        pieces = np.fromiter(itertools.chain.from_iterable(balls), dtype=np.int64, count=int(counts.sum()))
        owner = np.repeat(np.arange(len(xy)), counts)
        _, d = _project(self.piece_rows[pieces], xy[owner, 0], xy[owner, 1])
        segs = self.piece_seg[pieces]
        # Per point: smallest distance, then lowest segment.
        order = np.lexsort((segs, d, owner))
        has = counts > 0
        first = order[(np.cumsum(counts) - counts)[has]]
        best = np.full(len(xy), np.inf)
        seg = np.full(len(xy), -1, dtype=np.int64)
        best[has], seg[has] = d[first], segs[first]
        return best, seg


def _far_reasons(dist: np.ndarray, max_distance_m: float, suffix: str = "") -> np.ndarray:
    """Why points at ``dist`` metres from the nearest road were not snapped."""
    out = np.full(len(dist), "empty geometry", dtype=object)
    ok = ~np.isnan(dist)
    # Whole metres repeat a lot: format each distinct value once.
    metres, inv = np.unique(np.round(dist[ok]).astype(np.int64), return_inverse=True)
    text = np.array([f"no road within {max_distance_m:g} m (nearest road about {m} m away){suffix}"
                     for m in metres.tolist()] + [""], dtype=object)
    out[ok] = text[inv.ravel()]
    return out


def _on_threads(fn, blocks) -> None:
    """``fn(block)`` for every block, on as many threads as there are cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = min(cores, len(blocks))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, blocks))
    else:
        for b in blocks:
            fn(b)


def _build_grid(mid: np.ndarray, half: float):
    """Uniform grid listing, for each cell, the pieces that may be nearest to a point in it.

    Cells are ``2 × half`` wide; a piece is listed in every cell that meets
    the square of side ``2 × (half + reach)`` around its midpoint, with
    ``reach = half``. If a segment lies within ``reach`` of a point, the
    piece holding the segment's nearest point has its midpoint within
    ``reach + half`` of the point, so it is listed in the point's cell: the
    nearest of a cell's candidates is exact whenever it is within
    ``reach``. That settles points near roads with one array lookup and
    about nine candidates each (the k-d tree's queries took 2–3 s for a
    million points); the others go to the tree.

    Returns ``(x0, y0, cell, nx, ny, keys, starts, entries, reach)``, or
    None where the grid would be too large (few pieces over a wide area).
    """
    if len(mid) == 0 or not half > 0:
        return None
    reach = half
    g = 2.0 * half
    ext = (half + reach) * (1 + 1e-9) + 1e-9
    x0, y0 = mid.min(axis=0) - ext - g
    ix0 = np.floor((mid[:, 0] - ext - x0) / g).astype(np.int64)
    ix1 = np.floor((mid[:, 0] + ext - x0) / g).astype(np.int64)
    iy0 = np.floor((mid[:, 1] - ext - y0) / g).astype(np.int64)
    iy1 = np.floor((mid[:, 1] + ext - y0) / g).astype(np.int64)
    nx, ny = int(ix1.max()) + 2, int(iy1.max()) + 2
    cy = iy1 - iy0 + 1
    per = (ix1 - ix0 + 1) * cy
    total = int(per.sum())
    if total > 16 * len(mid) or float(nx) * ny >= 2**62:
        return None
    idx_dtype = np.int32 if len(mid) < 2**31 else np.int64
    keys = np.empty(total, dtype=np.int64)
    owner = np.empty(total, dtype=idx_dtype)
    # In slices, so the temporaries stay small on millions of pieces.
    step = 1 << 20
    out = 0
    for lo in range(0, len(mid), step):
        sl = slice(lo, lo + step)
        p = per[sl]
        cnt = int(p.sum())
        k = np.arange(cnt) - np.repeat(np.cumsum(p) - p, p)
        c = np.repeat(cy[sl], p)
        keys[out:out + cnt] = (np.repeat(ix0[sl], p) + k // c) * ny + np.repeat(iy0[sl], p) + k % c
        owner[out:out + cnt] = np.repeat(np.arange(lo, lo + len(p), dtype=idx_dtype), p)
        out += cnt
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    entries = owner[order]
    del order, owner
    new = np.empty(total, dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    starts = np.append(np.flatnonzero(new), total)
    return (float(x0), float(y0), g, nx, ny, keys[new], starts, entries, reach)


class SnappingMixin:
    """Snapping for :class:`~geoplan.network.graph.RoadNetwork` (needs ``edges``, ``crs``, ``n_edges``)."""

    # -- snapping -----------------------------------------------------------

    @property
    def _segments(self) -> "_SnapIndex":
        """Straight segments of all edges and a k-d tree to find them (built once)."""
        if self._index is None:
            self._index = _SnapIndex.build(self.edges.geometry.to_numpy(), self.n_edges)
        return self._index

    def _nearest_segment(self, xy: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest segment and distance for each point (see :class:`_SnapIndex`)."""
        return self._segments.nearest(xy, max_distance)

    def _points_metric(self, points, what):
        if not isinstance(points, gpd.GeoDataFrame):
            raise GeoplanError(f"The {what} must be a GeoDataFrame of points, got {type(points).__name__}.")
        require_crs(points, what)
        geo = points.geometry
        pts = (geo if geo.crs.equals(self.crs) else geo.to_crs(self.crs)).to_numpy()
        kinds = shapely.get_type_id(pts)
        # Facilities may be drawn as polygons (cemeteries); route to a point inside.
        non_point = (kinds != 0) & ~shapely.is_empty(pts) & ~pd.isna(pts)
        if non_point.any():
            pts = pts.copy()
            pts[non_point] = shapely.point_on_surface(pts[non_point])
        return pts

    def _snap_arrays(self, points, id_col, max_distance_m, access_speed_kmh, what,
                     geometry: bool = True) -> tuple[_Pts, np.ndarray, np.ndarray | None]:
        if not (access_speed_kmh and access_speed_kmh > 0):
            raise NetworkError(f"access_speed_kmh must be a positive speed, got {access_speed_kmh!r}.")
        if not (max_distance_m is not None and max_distance_m >= 0):
            raise NetworkError(f"max_distance_m must be a distance ≥ 0 in metres, got {max_distance_m!r}.")
        ids = _ids_of(points, id_col, what)
        pts = self._points_metric(points, what)
        n = len(pts)
        missing = pd.isna(pts) | shapely.is_empty(pts)
        valid = np.flatnonzero(~missing)
        edge = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        index = self._segments
        seg = np.full(n, -1, dtype=np.int64)
        xy = np.full((n, 2), np.nan)
        if len(valid):
            xy[valid] = shapely.get_coordinates(pts[valid])
            near, d = index.nearest(xy[valid], max_distance_m)
            dist[valid] = d
            seg[valid] = near
        snapped = seg >= 0
        e = self.edges
        sec = e["seconds"].to_numpy()
        length = e["length_m"].to_numpy()
        along = np.full(n, np.nan)
        frac = np.full(n, np.nan)
        where = np.flatnonzero(snapped)
        on = None
        if geometry:
            on = np.empty(n, dtype=object)
            on[:] = pts
        if len(where):
            sw = seg[where]
            ew = index.seg_edge[sw]
            edge[where] = ew
            rows = index.seg_rows[sw]
            t, _ = _project(rows, xy[where, 0], xy[where, 1])
            along[where] = np.minimum(index.seg_along[sw] + t * index.seg_len[sw], length[ew])
            frac[where] = np.clip(along[where] / length[ew], 0.0, 1.0)
            if geometry:
                on[where] = shapely.points(rows[:, 0] + t * rows[:, 2], rows[:, 1] + t * rows[:, 3])
        safe_e = np.where(snapped, edge, 0)
        to_u = np.where(snapped, frac * sec[safe_e], np.nan)
        to_v = np.where(snapped, (1.0 - frac) * sec[safe_e], np.nan)
        p = _Pts(
            ids=ids,
            snapped=snapped,
            edge=edge,
            u=np.where(snapped, e["u"].to_numpy()[safe_e], -1),
            v=np.where(snapped, e["v"].to_numpy()[safe_e], -1),
            to_u=to_u,
            to_v=to_v,
            two_way=snapped & ~e["oneway"].to_numpy(bool)[safe_e],
            access_s=np.where(snapped, dist / (access_speed_kmh / 3.6), np.nan),
            dist_m=dist,
        )
        return p, along, on

    def snap(self, points, id_col: str | None = None, max_distance_m: float = DEFAULT_MAX_SNAP_DISTANCE_M,
             access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH) -> gpd.GeoDataFrame:
        """Snap points to the nearest position on the nearest road edge.

        Of edges equally near (a point beyond the end of a junction is as
        near to every road meeting there), the first in :attr:`edges` wins.

        Parameters
        ----------
        points : geopandas.GeoDataFrame
            Points in any CRS (polygons are represented by a point inside).
        id_col : str, optional
            Column holding unique IDs; default the index.
        max_distance_m : float
            Points farther than this from every road are not snapped.
        access_speed_kmh : float
            Speed of the straight leg between the point and the road.

        Returns
        -------
        geopandas.GeoDataFrame
            Indexed by the IDs, in the network CRS, geometry = the snapped
            position on the road (the original point if not snapped), with
            ``snapped``, ``distance_to_road_m`` (exact, also for points
            not snapped),
            ``edge``, ``road_id``, ``u``, ``v``, ``along_m`` (metres from
            ``u``), ``fraction``, ``to_u_s`` / ``to_v_s`` (seconds along the
            edge from ``u`` to the point and from the point to ``v``),
            ``oneway``, ``access_s``, ``component`` and ``reason``.
        """
        p, along, on = self._snap_arrays(points, id_col, max_distance_m, access_speed_kmh, "points")
        return self._snap_frame(p, along, on, max_distance_m)

    def _snap_frame(self, p: _Pts, along, on, max_distance_m) -> gpd.GeoDataFrame:
        e = self.edges
        safe = np.where(p.snapped, p.edge, 0)
        frac = np.where(p.snapped, along / np.where(p.snapped, e["length_m"].to_numpy()[safe], 1.0), np.nan)
        reason = np.full(len(p.snapped), "", dtype=object)
        reason[~p.snapped] = _far_reasons(p.dist_m[~p.snapped], max_distance_m)
        out = gpd.GeoDataFrame(
            {
                "snapped": p.snapped,
                "distance_to_road_m": p.dist_m,
                "edge": p.edge,
                "road_id": np.where(p.snapped, e["road_id"].to_numpy()[safe], None),
                "u": p.u,
                "v": p.v,
                "along_m": along,
                "fraction": np.clip(frac, 0, 1),
                "to_u_s": p.to_u,
                "to_v_s": p.to_v,
                "oneway": p.snapped & ~p.two_way,
                "access_s": p.access_s,
                "component": np.where(p.snapped, e["component"].to_numpy()[safe], -1),
                "reason": reason,
            },
            geometry=on,
            crs=self.crs,
            index=p.ids,
        )
        out.attrs["geoplan_snapped"] = id(self)
        return out

    def _as_pts(self, obj, id_col, max_distance_m, access_speed_kmh, what) -> _Pts:
        """Snap a GeoDataFrame, or reuse the output of :meth:`snap` on this network."""
        if isinstance(obj, pd.DataFrame) and obj.attrs.get("geoplan_snapped") == id(self):
            s = obj
            snapped = s["snapped"].to_numpy(bool)
            oneway = s["oneway"].to_numpy(bool)
            return _Pts(
                ids=s.index, snapped=snapped, edge=s["edge"].to_numpy(np.int64),
                u=s["u"].to_numpy(np.int64), v=s["v"].to_numpy(np.int64),
                to_u=s["to_u_s"].to_numpy(float), to_v=s["to_v_s"].to_numpy(float),
                two_way=snapped & ~oneway, access_s=s["access_s"].to_numpy(float),
                dist_m=s["distance_to_road_m"].to_numpy(float),
            )
        return self._snap_arrays(obj, id_col, max_distance_m, access_speed_kmh, what, geometry=False)[0]

