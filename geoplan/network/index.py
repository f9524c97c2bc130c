"""The nearest-segment index behind snapping: straight segments of all
edges cut into short pieces, a uniform grid of the pieces that settles
points near roads, and a k-d tree of their midpoints for the rest.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import shapely

from geoplan._arrays import stable_order
from geoplan._threads import on_threads as _on_threads, slices as _slices

try:
    # The grid round of nearest() for the padded table's cells (_pad_block) compiled, without the GIL
    # (setup.py builds it with pip install); without a C compiler the install goes on without it and
    # the numpy version below does the same work.
    from geoplan.network import _snapgrid
except ImportError:  # pragma: no cover - exercised by installs without a compiler
    _snapgrid = None


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
    pad: tuple | None = None
    cell_pos: np.ndarray | None = None
    _tree: object = None

    #: Points per block of queries: bounds the (points × k) candidate
    #: arrays and keeps them in cache.
    CHUNK = 16384
    #: Points per block of grid lookups. Each block is some forty numpy
    #: calls whose Python overhead holds the GIL: at 2048 points two threads
    #: ran no faster than one; at 16384 they take 0.12 s instead of 0.21 s
    #: for a million points (larger blocks gained nothing more).
    GRID_CHUNK = 16384
    #: Points per block when finding their cells (a dozen numpy calls each, on threads).
    CELL_CHUNK = 65536
    #: Candidates fetched first: 8 settle most points (75 % of the sample
    #: county's cells, 90 % on a synthetic grid); the rest take a ball query.
    K0 = 8
    #: First look in a uniform grid (see :func:`_build_grid`); the tree only
    #: for the points it does not settle.
    GRID = True
    #: Widest padded candidate row (None: as wide as the fullest cell, within
    #: the memory bound of :func:`_pad_grid`); cells with more candidates take the ragged path.
    PAD_WIDTH: int | None = None
    #: Candidates (nearest the cell centre) every point looks at first; see :meth:`_pad_block`.
    PAD_FIRST = 4

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
        grid = _build_grid(mid, half, piece_rows) if cls.GRID else None
        cell_pos = None
        if grid is not None and grid[3] * grid[4] <= max(4 * len(grid[5]), 1 << 22):
            # Cell → position in the key list, one array lookup instead of a binary search per point.
            cell_pos = np.full(grid[3] * grid[4], -1, dtype=np.int32 if len(grid[5]) < 2**31 else np.int64)
            cell_pos[grid[5]] = np.arange(len(grid[5]))
        return cls(mid, owner, piece_rows, half, seg_rows, seg_edge, seg_len, seg_along, grid,
                   _pad_grid(grid, piece_rows, owner, cls.PAD_WIDTH) if grid is not None else None, cell_pos)

    @property
    def tree(self):
        """k-d tree of the piece midpoints, built on first use: points within
        the grid's reach of a road never need it."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.mid, balanced_tree=False, compact_nodes=False)
        return self._tree

    def _grid_cells(self, xy):
        """Position of each point's cell in the grid's key list, and whether that cell is listed."""
        x0, y0, g, nx, ny, keys = self.grid[:6]
        cx = np.floor((xy[:, 0] - x0) / g)
        cy = np.floor((xy[:, 1] - y0) / g)
        inside = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
        key = np.where(inside, cx * ny + cy, -1).astype(np.int64)
        if self.cell_pos is not None:
            pos = self.cell_pos[np.maximum(key, 0)].astype(np.int64)
            hit = inside & (pos >= 0)
            return np.maximum(pos, 0), hit
        pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        return pos, inside & (keys[pos] == key)

    def _grid_block(self, xy, pos=None, hit=None):
        """Nearest segment among the pieces listed in each point's grid cell.

        Returns ``(seg, dist, settled)``: the answer is exact (same distance
        and tie rule as the tree search) where ``settled``, i.e. where the
        distance is within the grid's reach (see :func:`_build_grid`).
        ``pos, hit`` are the points' :meth:`_grid_cells` when known.
        """
        if pos is None:
            pos, hit = self._grid_cells(xy)
        if self.pad is not None:
            table, width, soa, _ = self.pad
            fits = hit & (width[pos] > 0)
            if fits.all():
                return self._pad_block(xy, pos, table, soa)
            # Cells too crowded for the padded table take the general path below.
            out = (np.full(len(xy), -1, dtype=np.int64), np.full(len(xy), np.inf), np.zeros(len(xy), dtype=bool))
            f = np.flatnonzero(fits)
            r = np.flatnonzero(~fits)
            for dst, src in zip(out, self._pad_block(xy[f], pos[f], table, soa)):
                dst[f] = src
            for dst, src in zip(out, self._list_block(xy[r], pos[r], hit[r])):
                dst[r] = src
            return out
        return self._list_block(xy, pos, hit)

    def _pad_block(self, xy, pos, table, soa):
        """:meth:`_grid_block` for points whose cells are in the padded table: one
        ``(width × points)`` gather instead of ragged lists.

        Rows are sorted by distance from the cell's centre, so the first
        ``PAD_FIRST`` candidates usually hold the answer: a later one is at
        least its centre distance less the point's own distance from the
        centre away (triangle inequality), and only points whose best so far
        is not strictly below that look at the whole row.
        """
        first = self.PAD_FIRST
        if len(table) <= first:
            return self._settle(*self._pad_eval(xy, table[:, pos], soa))
        seg, best = self._pad_eval(xy, table[:first, pos], soa)
        cell = self.pad[3][pos]   # the cell's centre and next_d, one gather
        dpc = np.hypot(xy[:, 0] - cell[:, 0], xy[:, 1] - cell[:, 1])
        bound = (cell[:, 2] - dpc) * (1 - 1e-9) - 1e-9
        more = np.flatnonzero(~(best < bound))
        if len(more):
            seg[more], best[more] = self._pad_eval(xy[more], table[:, pos[more]], soa)
        return self._settle(seg, best)

    def _settle(self, seg, best):
        return seg, best, best <= self.grid[8]

    @staticmethod
    def _pad_eval(xy, cand, soa):
        """Nearest of the candidate pieces ``cand`` (columns × points), the arithmetic of :func:`_project`.

        Candidates come one row per column of the padded table, so that every
        step works on contiguous vectors: reducing over a short last axis
        (points × 4) took as long as the arithmetic.
        """
        sx, sy, sdx, sdy, sden, sseg = soa
        qx = xy[:, 0] - sx[cand]
        qy = xy[:, 1] - sy[cand]
        dx, dy = sdx[cand], sdy[cand]
        t = qx * dx
        t += qy * dy
        t /= sden[cand]
        np.clip(t, 0.0, 1.0, out=t)
        dx *= t
        dy *= t
        qx -= dx
        qy -= dy
        d = np.hypot(qx, qy, out=qx)
        best = d[0].copy()
        seg = sseg[cand[0]]
        for dj, cj in zip(d[1:], cand[1:]):
            # Of equally near segments the lowest wins, as in the tree search.
            sj = sseg[cj]
            win = (dj < best) | ((dj == best) & (sj < seg))
            np.copyto(best, dj, where=win)
            np.copyto(seg, sj, where=win)
        return seg, best

    def _list_block(self, xy, pos, hit):
        x0, y0, g, nx, ny, keys, starts, entries, reach = self.grid[:9]
        m = len(xy)
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
        xy = np.ascontiguousarray(xy, dtype=np.float64)
        best_seg = np.full(m, -1, dtype=np.int64)
        best_d = np.full(m, np.inf)
        if self.grid is not None and len(self.piece_seg):
            settled = np.zeros(m, dtype=bool)
            pos = np.empty(m, dtype=np.int64)
            hit = np.empty(m, dtype=bool)

            def cells(rows):
                pos[rows], hit[rows] = self._grid_cells(xy[rows])

            _on_threads(cells, _slices(m, self.CELL_CHUNK))
            # Blocks of points in cell order read the grid's table front to
            # back. A stable sort of the cell numbers is cheaper than the
            # Z-order (and near-linear on points that come in spatial order).
            order = np.argsort(np.where(hit, pos, -1), kind="stable")

            def grid(rows):
                if _snapgrid is not None and self.pad is not None:
                    # The padded table's cells compiled, straight into the outputs and without the GIL;
                    # only crowded cells' points come back, for the ragged lists.
                    table, width, soa, centres = self.pad
                    rows = _snapgrid.grid_nearest(
                        xy, rows, pos, hit.view(np.uint8), width, table, *soa, centres, self.PAD_FIRST,
                        self.grid[8], max_distance, best_seg, best_d, settled.view(np.uint8))
                    if not len(rows):
                        return
                    # Crowded cells are in none of the table's rows: straight to the ragged lists.
                    seg, d, ok = self._list_block(xy[rows], pos[rows], hit[rows])
                else:
                    seg, d, ok = self._grid_block(xy[rows], pos[rows], hit[rows])
                best_seg[rows] = np.where(ok & (d <= max_distance), seg, -1)
                best_d[rows] = d
                settled[rows] = ok

            _on_threads(grid, [order[lo:lo + self.GRID_CHUNK] for lo in range(0, m, self.GRID_CHUNK)])
            # Only what the grid left open goes to the tree, in Z-order.
            rest = np.flatnonzero(~settled)
            z = rest[_spatial_order(xy[rest])]
        else:
            z = _spatial_order(xy)

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
        return self.grid[8] if self.grid is not None else -np.inf

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


def _build_grid(mid: np.ndarray, half: float, piece_rows: np.ndarray | None = None):
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
    wx, wy = ix1 - ix0, iy1 - iy0   # the square's cells a side, less one
    total = int(((wx + 1) * (wy + 1)).sum())
    if total > 16 * len(mid) or float(nx) * ny >= 2**62:
        return None
    idx_dtype = np.int32 if len(mid) < 2**31 else np.int64
    # A piece may be nearest within ``reach`` only if it comes within
    # ``reach`` of the cell, and it is at least its distance from the cell's
    # centre less the half-diagonal: pieces the square listed beyond that
    # (over a third on a street grid) are left out, so each point projects
    # onto fewer candidates.
    limit = reach + g / math.sqrt(2.0)
    # The square spans at most a few cells a side: one pass over all pieces
    # per offset (i, j) from the square's first cell, on contiguous columns,
    # instead of one row per (piece, cell) pair built with np.repeat and
    # gathers (that took 6 s on 2M road pieces).
    ids = np.arange(len(mid), dtype=idx_dtype)
    if piece_rows is not None:
        # Columns of their own: strided (n, 4) rows made each pass twice as slow.
        px, py, pdx, pdy = (np.ascontiguousarray(piece_rows[:, c]) for c in range(4))
        pden = np.maximum(pdx * pdx + pdy * pdy, 1e-300)
    offsets = [(i, j) for i in range(int(wx.max()) + 1) for j in range(int(wy.max()) + 1)]
    parts = [None] * len(offsets)

    def one_offset(k):
        i, j = offsets[k]
        sel = (wx >= i) & (wy >= j)
        sel = slice(None) if sel.all() else np.flatnonzero(sel)
        kx, ky = ix0[sel] + i, iy0[sel] + j
        d = None
        if piece_rows is not None:
            # _project's arithmetic, in place on the columns
            # (pdx[sel] is a view when sel takes every piece: never written to)
            dx, dy = pdx[sel], pdy[sel]
            qx = x0 + (kx + 0.5) * g - px[sel]
            qy = y0 + (ky + 0.5) * g - py[sel]
            t = qx * dx
            t += qy * dy
            t /= pden[sel]
            np.clip(t, 0.0, 1.0, out=t)
            qx -= t * dx
            qy -= t * dy
            d = np.hypot(qx, qy, out=qx)
            del qy, dx, dy, t
            near = d <= limit * (1 + 1e-9) + 1e-9
            kx, ky, d = kx[near], ky[near], d[near]
            own = ids[sel][near]
        else:
            own = ids[sel]
        parts[k] = (kx * ny + ky, own, d)

    # The offsets are independent passes of large numpy calls, which release the GIL: on threads.
    _on_threads(one_offset, range(len(offsets)))
    parts_keys, parts_owner, parts_d = zip(*parts)
    parts.clear()
    keys = np.concatenate(parts_keys)
    owner = np.concatenate(parts_owner)
    centre_d = np.concatenate(parts_d) if piece_rows is not None else None
    del parts_keys, parts_owner, parts_d
    total = len(keys)
    # Each offset's keys come in the pieces' Z-order runs, which stable_order's timsort merges, in
    # place (0.26 s instead of argsort's 0.37 s for 12M entries; each new array of 12M costs as much
    # in fresh pages as the arithmetic).
    order, keys = stable_order(keys)
    entries = owner[order]
    if centre_d is not None:
        centre_d = centre_d[order]
    del order, owner
    new = np.empty(total, dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    starts = np.append(np.flatnonzero(new), total)
    return (float(x0), float(y0), g, nx, ny, keys[new], starts, entries, reach, centre_d)


def _pad_grid(grid, piece_rows: np.ndarray, piece_seg: np.ndarray, cap: int | None = None):
    """The grid's candidate lists as a padded table (stored ``(width, cells)``), plus the
    pieces' columns one array each (the gathers of :meth:`_SnapIndex._pad_block`).

    The ragged lists need ``np.repeat`` and ``reduceat`` over every
    candidate; a rectangle needs one gather. The width is the largest list
    unless that would make the table more than four times the lists (a few
    crowded town cells): cells longer than the width keep the ragged path
    (their ``width`` entry is 0). Padding points at an extra piece so far
    away that it never wins.
    """
    starts, entries = grid[6], grid[7]
    cnt = np.diff(starts)
    if len(cnt) == 0:
        return None
    limit = 4 * len(entries) + (1 << 16)
    width = min(int(cnt.max()), limit // len(cnt), cap if cap is not None else len(entries))
    if width <= 0:
        return None
    n_pieces = len(piece_rows)
    dtype = np.int32 if n_pieces + 1 < 2**31 else np.int64
    table = np.full((len(cnt), width), n_pieces, dtype=dtype)
    ok = cnt <= width
    rows = np.repeat(np.flatnonzero(ok), cnt[ok])
    first = starts[:-1][ok]
    col = np.arange(len(rows)) - np.repeat(np.cumsum(cnt[ok]) - cnt[ok], cnt[ok])
    table[rows, col] = entries[np.repeat(first, cnt[ok]) + col]
    # Each row nearest-to-the-cell-centre first, and the centre distance of
    # the first candidate not looked at in the first round (see _pad_block).
    next_d = np.full(len(cnt), np.inf)
    centre_d = grid[9]
    if centre_d is not None:
        dist = np.full((len(cnt), width), np.inf)
        dist[rows, col] = centre_d[np.repeat(first, cnt[ok]) + col]
        order = np.argsort(dist, axis=1, kind="stable")
        table = np.take_along_axis(table, order, axis=1)
        if width > _SnapIndex.PAD_FIRST:
            next_d = np.take_along_axis(dist, order[:, _SnapIndex.PAD_FIRST:_SnapIndex.PAD_FIRST + 1], axis=1)[:, 0]
        del dist, order
    far = 1e300
    sx = np.append(piece_rows[:, 0], far)
    sy = np.append(piece_rows[:, 1], far)
    sdx = np.append(piece_rows[:, 2], 0.0)
    sdy = np.append(piece_rows[:, 3], 0.0)
    # As in _project: the same den, floored the same way.
    sden = np.maximum(sdx * sdx + sdy * sdy, 1e-300)
    sseg = np.append(piece_seg, np.iinfo(np.int64).max)
    # Per cell: its centre and next_d, the bound of _SnapIndex._pad_block.
    x0, y0, g, nx, ny, keys = grid[:6]
    cells = np.stack([x0 + (keys // ny + 0.5) * g, y0 + (keys % ny + 0.5) * g, next_d], axis=1)
    # Stored one row per column (width × cells): see _SnapIndex._pad_eval.
    return np.ascontiguousarray(table.T), np.where(ok, cnt, 0), (sx, sy, sdx, sdy, sden, sseg), cells
