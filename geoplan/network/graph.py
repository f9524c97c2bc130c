"""Road-network travel times: routable graph, snapping, nearest facility,
cost matrices and isochrones.

A :class:`RoadNetwork` is built from a ``roads`` layer (see
:data:`geoplan.layers.schema.ROADS`) or from an OpenStreetMap extract
(:meth:`RoadNetwork.from_osm`). Lines are cut into graph edges wherever two
roads share a vertex (and at every line end), which is how both OSM and
properly digitised GIS layers express a junction; roads that merely cross
without a shared vertex (bridges, tunnels) stay unconnected. Lengths are
measured in the data's CGCS2000 Gauss–Krüger zone (:func:`geoplan.layers.crs.to_metric`)
and travel time per edge is ``length / speed``, the speed coming from the
row's ``speed_kmh`` or, when that is empty, from the road class
(:data:`DEFAULT_SPEEDS_KMH`, overridable).

Points (facilities, villages, population cells, markers) are *snapped* to
the nearest point on the nearest edge, not to the nearest junction: a point
at fraction ``t`` along edge ``u → v`` is reached from ``u`` after
``t × seconds`` and from ``v`` after ``(1 − t) × seconds`` (the latter only
where the road is two-way). The straight leg from the point to the road is
added at an access speed (walking by default). Points farther than
``max_distance_m`` from every road are not snapped and are reported as such.
The travel times are exactly those of a graph in which every snapped point
is inserted as a node splitting its edge (the tests check this against
networkx).

Routing uses :func:`scipy.sparse.csgraph.dijkstra` on a CSR matrix of travel
seconds. Sources sit on edges, so each source becomes a virtual node with
edges to its edge's end nodes weighted by the part-edge and access times;
one multi-source run with ``min_only=True`` then gives every node its
nearest source.

Results are keyed by the input IDs. Nothing is turned into a silent zero or
infinity: a point that cannot be reached has ``minutes`` = NaN, a ``status``
saying why (``not_snapped``, ``unreachable``, ``beyond_cutoff``) and a
``reason`` a planner can act on.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from geoplan.layers.crs import STORAGE_CRS, metric_crs, require_crs
from geoplan.errors import GeoplanError, NetworkError, Problem, ValidationError
from geoplan.layers.schema import ROAD_CLASSES, ROADS

#: Default travel speed (km/h) per road class, used where a road's
#: ``speed_kmh`` is empty. They are typical *driving* speeds on rural county
#: roads of each class in China, below the design speeds of JTG B01 because
#: of junctions, villages and mixed traffic: 高速公路 100, 国道 70, 省道 60,
#: 县道 50, 乡道 40, 村道 30, 城市道路 30, 专用公路 20, 机耕路 15.
DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 70.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "service": 20.0,
    "track": 15.0,
}

#: Speed of the off-network leg between a point and the road (walking).
DEFAULT_ACCESS_SPEED_KMH = 5.0
#: Points farther than this from every road are reported, not snapped.
DEFAULT_MAX_SNAP_DISTANCE_M = 1000.0
#: Vertices closer than this are the same junction (absorbs the sub-millimetre
#: noise a CRS round trip leaves in coordinates that were identical).
DEFAULT_NODE_PRECISION_M = 0.01

DIRECTIONS = ("to_facility", "from_facility")

# Peak memory of one block of many-to-many Dijkstra rows; bounds memory for
# large origin sets at the cost of more (cheap) dijkstra calls.
_BLOCK_BYTES = 256 * 2**20


# --------------------------------------------------------------------------
# Building the graph
# --------------------------------------------------------------------------

def resolve_speeds(speeds: dict | None = None) -> dict[str, float]:
    """The speed table in use: :data:`DEFAULT_SPEEDS_KMH` updated by ``speeds``.

    Parameters
    ----------
    speeds : dict, optional
        ``{road_class: km/h}``; classes may use the Chinese aliases of the
        roads schema (``{"县道": 45}``).

    Raises
    ------
    NetworkError
        For an unknown class or a speed that is not a positive number.
    """
    table = dict(DEFAULT_SPEEDS_KMH)
    field = ROADS.field("road_class")
    for key, value in (speeds or {}).items():
        cls = field.canonical(str(key))
        if cls is None:
            raise NetworkError(
                f"Unknown road class {key!r} in the speed table. Known classes: "
                f"{', '.join(ROAD_CLASSES)} (or their Chinese names such as 县道)."
            )
        try:
            kmh = float(value)
        except (TypeError, ValueError):
            kmh = math.nan
        if not (math.isfinite(kmh) and kmh > 0):
            raise NetworkError(
                f"Speed for road class {key!r} must be a positive number of km/h, got {value!r}."
            )
        table[cls] = kmh
    return table


def _row_label(i: int) -> str:
    return f"feature {i + 1}"


def _validated_roads(gdf, source: str):
    """Roads checked against the schema (class aliases made canonical, EPSG:4490)."""
    from geoplan.layers.validate import validate_frame

    return validate_frame(gdf, "roads", source=source)


def _oneway_array(gdf) -> np.ndarray:
    if "oneway" not in gdf.columns:
        return np.zeros(len(gdf), dtype=bool)
    col = gdf["oneway"]
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        truthy = {"true", "1", "yes", "y", "t", "是", "单行"}
        return np.array([str(v).strip().lower() in truthy if v is not None and v == v else False
                         for v in col], dtype=bool)
    return col.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _quantised_keys(q: np.ndarray) -> np.ndarray:
    """One int64 per quantised (x, y) pair, equal iff the pairs are equal."""
    qx = q[:, 0] - q[:, 0].min()
    qy = q[:, 1] - q[:, 1].min()
    span_y = int(qy.max()) + 1
    if (int(qx.max()) + 1) * span_y < 2**62:
        return qx * span_y + qy
    # Continental extents at fine precision: fall back to row-wise unique.
    return np.unique(q, axis=0, return_inverse=True)[1].ravel().astype(np.int64)


@dataclass
class _Topology:
    node_xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    row: np.ndarray
    geoms: np.ndarray
    dropped_rows: np.ndarray


def _build_topology(geoms: np.ndarray, precision: float) -> _Topology:
    """Cut lines into edges at ends and shared vertices (vectorised)."""
    parts, part_row = shapely.get_parts(geoms, return_index=True)
    coords, cpart = shapely.get_coordinates(parts, return_index=True)
    q = np.round(coords / precision).astype(np.int64)
    # Repeated vertices would give zero-length edges, which carry no travel.
    rep = np.zeros(len(q), dtype=bool)
    if len(q) > 1:
        rep[1:] = (cpart[1:] == cpart[:-1]) & (q[1:] == q[:-1]).all(axis=1)
    coords, cpart, q = coords[~rep], cpart[~rep], q[~rep]
    per_part = np.bincount(cpart, minlength=len(parts))
    good_part = per_part >= 2
    keep = good_part[cpart]
    coords, cpart, q = coords[keep], cpart[keep], q[keep]
    rows_with_line = np.unique(part_row[good_part])
    dropped_rows = np.setdiff1d(np.arange(len(geoms)), rows_with_line)
    if len(coords) == 0:
        return _Topology(np.empty((0, 2)), np.empty(0, np.int64), np.empty(0, np.int64),
                         np.empty(0, np.int64), np.empty(0, dtype=object), dropped_rows)

    key = _quantised_keys(q)
    _, vid = np.unique(key, return_inverse=True)
    vid = vid.ravel()
    n_rows = len(vid)
    first = np.ones(n_rows, dtype=bool)
    first[1:] = cpart[1:] != cpart[:-1]
    last = np.ones(n_rows, dtype=bool)
    last[:-1] = cpart[1:] != cpart[:-1]
    shared = np.bincount(vid)[vid] >= 2
    is_node = first | last | shared

    node_rows = np.flatnonzero(is_node)
    s, e = node_rows[:-1], node_rows[1:]
    same = cpart[s] == cpart[e]
    s, e = s[same], e[same]

    node_vids, node_first_row = np.unique(vid[node_rows], return_index=True)
    vid_to_node = np.full(vid.max() + 1, -1, dtype=np.int64)
    vid_to_node[node_vids] = np.arange(len(node_vids))
    node_xy = coords[node_rows[node_first_row]]

    lens = e - s + 1
    starts = np.cumsum(lens) - lens
    take = np.arange(lens.sum()) - np.repeat(starts, lens) + np.repeat(s, lens)
    edge_geoms = shapely.linestrings(coords[take], indices=np.repeat(np.arange(len(s)), lens))
    return _Topology(
        node_xy=node_xy,
        u=vid_to_node[vid[s]],
        v=vid_to_node[vid[e]],
        row=part_row[cpart[s]],
        geoms=np.asarray(edge_geoms, dtype=object),
        dropped_rows=dropped_rows,
    )


def _min_per_pair(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int) -> np.ndarray:
    """Indices of the entries to keep, ordered by (row, col): the smallest
    ``data`` of each (row, col) pair, the first given on ties.

    One sort of a single int64 key: a three-key ``np.lexsort`` over millions
    of arcs took seconds. Parallel arcs are rare, so only their groups are
    ordered again to apply the weight and tie rules.
    """
    key = rows.astype(np.int64) * np.int64(max(n, 1)) + cols
    order = np.argsort(key)
    k = key[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = k[1:] != k[:-1]
    if not new.all():
        grp = np.cumsum(new) - 1
        in_dup = np.bincount(grp)[grp] > 1
        idx = order[in_dup]
        # Each duplicated key keeps its block of positions, so re-sorting the
        # members among themselves (key first) leaves every block in place.
        order[in_dup] = idx[np.lexsort((idx, data[idx], key[idx]))]
    return order[new]


def _csr_sorted(rows, cols, data, n) -> sp.csr_matrix:
    """CSR matrix from entries already unique and ordered by (row, col)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    idx_dtype = np.int32 if max(n, len(cols)) < 2**31 else np.int64
    # Built from arrays rather than COO so that explicit zero weights (two
    # junctions a centimetre apart) survive as edges.
    m = sp.csr_matrix((np.asarray(data, dtype=float), cols.astype(idx_dtype), indptr.astype(idx_dtype)),
                      shape=(n, n))
    m.has_sorted_indices = True
    return m


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

    tree: object
    piece_seg: np.ndarray
    piece_rows: np.ndarray
    half: float
    seg_rows: np.ndarray
    seg_edge: np.ndarray
    seg_len: np.ndarray
    seg_along: np.ndarray

    #: Points per block of queries: bounds the (points × k) candidate
    #: arrays and keeps them in cache.
    CHUNK = 16384
    #: Candidates fetched first: 8 settle most points (75 % of the sample
    #: county's cells, 90 % on a synthetic grid); the rest take a ball query.
    K0 = 8

    @classmethod
    def build(cls, geoms: np.ndarray, n_edges: int) -> "_SnapIndex":
        """Index the straight segments of ``geoms`` (edge ``i`` = ``geoms[i]``)."""
        from scipy.spatial import cKDTree

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
        tree = cKDTree(mid, balanced_tree=False, compact_nodes=False)
        return cls(tree, owner, piece_rows, half, seg_rows, seg_edge, seg_len, seg_along)

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
        blocks = [z[lo:lo + self.CHUNK] for lo in range(0, m, self.CHUNK)]

        def run(rows):
            best_seg[rows], best_d[rows] = self._nearest_block(xy[rows], max_distance)

        # Tree queries and numpy's arithmetic release the GIL, so blocks on
        # threads use every core for both (the tree's own ``workers`` would
        # leave the numpy half serial).
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = min(cores, len(blocks))
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(run, blocks))
        else:
            for rows in blocks:
                run(rows)
        far = np.flatnonzero(best_seg < 0)
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


def _first_unique_per_group(group: np.ndarray, values: np.ndarray, limit: int, ngroup: int):
    """First ``limit`` distinct values of each group, in order of appearance.

    ``group`` must be sorted (rows of one group together, in their original
    order). Returns ``(names, counts)``: a dict ``{group: [values…]}`` and
    the number of distinct values found per group, capped at ``limit``.
    """
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    pair = group * np.int64(max(len(values), 1)) + codes
    _, first = np.unique(pair, return_index=True)
    first.sort()
    g = group[first]
    rank = np.arange(len(first)) - np.searchsorted(g, g)
    keep = first[rank < limit]
    counts = np.minimum(np.bincount(g, minlength=ngroup), limit)
    gk = group[keep]
    bounds = np.searchsorted(gk, np.arange(ngroup + 1))
    vals = values[keep]
    names = {c: list(vals[bounds[c]:bounds[c + 1]]) for c in range(ngroup)}
    return names, counts


class RoadNetwork:
    """A routable road graph with travel seconds and metres on every edge.

    Build one with :meth:`from_roads`, :meth:`from_file` or
    :meth:`from_osm` rather than calling the constructor.

    Attributes
    ----------
    crs : pyproj.CRS
        Metric (Gauss–Krüger) CRS of all coordinates and lengths.
    node_xy : numpy.ndarray
        ``(n_nodes, 2)`` junction coordinates in :attr:`crs`.
    edges : geopandas.GeoDataFrame
        One row per edge: ``u``, ``v`` (node indices), ``road_id``,
        ``road_class``, ``speed_kmh``, ``oneway``, ``length_m``,
        ``seconds``, ``component`` and the edge geometry in :attr:`crs`.
    graph_seconds, graph_metres : scipy.sparse.csr_matrix
        Directed ``n_nodes × n_nodes`` adjacency: travel seconds, and the
        length of that (fastest) edge. A two-way road gives two entries.
    components : pandas.DataFrame
        Weakly connected components, largest first (see
        :meth:`connectivity_report`).
    speeds : dict
        The speed table used (km/h per road class).
    source : str
        Where the roads came from, for messages.
    """

    def __init__(self, node_xy, edges: gpd.GeoDataFrame, crs, speeds, source="roads",
                 dropped: pd.DataFrame | None = None):
        self.node_xy = np.asarray(node_xy, dtype=float)
        self.crs = crs
        self.speeds = dict(speeds)
        self.source = source
        self.dropped = dropped if dropped is not None else pd.DataFrame(columns=["road_id", "reason"])
        n = len(self.node_xy)
        u = edges["u"].to_numpy(np.int64)
        v = edges["v"].to_numpy(np.int64)
        sec = edges["seconds"].to_numpy(float)
        met = edges["length_m"].to_numpy(float)
        two = ~edges["oneway"].to_numpy(bool)
        loop = u == v
        fw = ~loop
        bw = two & ~loop
        rows = np.concatenate([u[fw], v[bw]])
        cols = np.concatenate([v[fw], u[bw]])
        w = np.concatenate([sec[fw], sec[bw]])
        # The metres are those of the fastest parallel edge.
        m = np.concatenate([met[fw], met[bw]])
        sel = _min_per_pair(rows, cols, w, n)
        rows, cols = rows[sel], cols[sel]
        self.graph_seconds = _csr_sorted(rows, cols, w[sel], n)
        self.graph_metres = _csr_sorted(rows, cols, m[sel], n)
        self._graph_t = None
        self._index = None
        self._strong = None

        ncomp, labels = connected_components(self.graph_seconds, directed=True, connection="weak")
        # Renumber components largest first so component 0 is the main network.
        sizes = np.bincount(labels, minlength=ncomp)
        rank = np.empty(ncomp, dtype=np.int64)
        rank[np.argsort(-sizes, kind="stable")] = np.arange(ncomp)
        self.node_component = rank[labels] if n else np.empty(0, np.int64)
        # Shallow: the caller's frame must not gain the column, but its
        # geometries need not be duplicated.
        edges = edges.copy(deep=False)
        edges["component"] = self.node_component[u] if n else np.empty(0, np.int64)
        self.edges = edges
        self.components = self._component_table()

    # -- construction -------------------------------------------------------

    @classmethod
    def from_roads(cls, roads, speeds: dict | None = None, source: str | None = None,
                   node_precision_m: float = DEFAULT_NODE_PRECISION_M,
                   require_connected: bool = False) -> "RoadNetwork":
        """Build a network from a ``roads`` layer.

        Parameters
        ----------
        roads : geopandas.GeoDataFrame
            The roads layer (:data:`geoplan.layers.schema.ROADS`): ``road_id``,
            ``road_class``, optional ``speed_kmh``, ``oneway``, ``name``;
            LineString/MultiLineString in any CRS pyproj knows (geoplan
            stores EPSG:4490).
        speeds : dict, optional
            Travel speed per road class in km/h, overriding
            :data:`DEFAULT_SPEEDS_KMH` for the classes given. A row's own
            ``speed_kmh`` wins over the table.
        source : str, optional
            File name used in error messages.
        node_precision_m : float
            Vertices within this grid size are one junction.
        require_connected : bool
            Raise :class:`NetworkError` if the roads form more than one
            connected piece (default: build anyway; unreachable points are
            reported per query).

        Returns
        -------
        RoadNetwork

        Raises
        ------
        NetworkError
            Empty layer, no usable line, bad speed table, or (with
            ``require_connected``) a disconnected network.
        CRSError
            The layer has no CRS or one that cannot be related to CGCS2000.
        ValidationError
            Schema problems (missing column, unknown road class, negative
            speed, non-line geometry …), all listed with their feature.
        """
        source = source or "roads layer"
        table = resolve_speeds(speeds)
        if roads is None or len(roads) == 0:
            raise NetworkError(
                f"The roads layer {source} is empty: a travel-time network needs road centre lines. "
                "Check the file and layer name, or build the network from an OSM extract."
            )
        if not isinstance(roads, gpd.GeoDataFrame):
            raise NetworkError(f"The roads from {source} are not a GeoDataFrame with geometries.")
        require_crs(roads, f"roads layer {source}")
        roads = _validated_roads(roads, source).reset_index(drop=True)

        crs = metric_crs(roads)
        metric = roads.to_crs(crs)
        topo = _build_topology(metric.geometry.to_numpy(), node_precision_m)
        road_ids = roads["road_id"].astype(str).to_numpy()
        dropped = pd.DataFrame({
            "road_id": road_ids[topo.dropped_rows],
            "reason": "empty or zero-length line",
        })
        if len(topo.u) == 0:
            raise NetworkError(
                f"No usable road line in {source}: all {len(roads)} features are empty or have zero "
                "length. Check the geometries (and their CRS) in a GIS."
            )
        classes = roads["road_class"].astype(str).to_numpy()
        if "speed_kmh" in roads.columns:
            own = pd.to_numeric(roads["speed_kmh"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            own = np.full(len(roads), np.nan)
        class_speed = np.array([table[c] for c in classes], dtype=float)
        speed = np.where(np.isfinite(own), own, class_speed)
        if not np.all(speed > 0):
            i = int(np.flatnonzero(~(speed > 0))[0])
            raise NetworkError(
                f"{source}, {_row_label(i)}, column 'speed_kmh': speed must be positive "
                f"(value: {speed[i]}); correct it or leave it empty to use the class default."
            )
        oneway = _oneway_array(roads)
        r = topo.row
        length = shapely.length(topo.geoms)
        edges = gpd.GeoDataFrame(
            {
                "u": topo.u,
                "v": topo.v,
                "road_id": road_ids[r],
                "road_class": classes[r],
                "speed_kmh": speed[r],
                "oneway": oneway[r],
                "length_m": length,
                "seconds": length / (speed[r] / 3.6),
            },
            geometry=topo.geoms,
            crs=crs,
        )
        net = cls(topo.node_xy, edges, crs, table, source=source, dropped=dropped)
        if require_connected:
            net.check_connected()
        return net

    @classmethod
    def from_file(cls, path, layer: str | None = None, speeds: dict | None = None,
                  **kwargs) -> "RoadNetwork":
        """Read a roads layer (GeoPackage, GeoJSON, Shapefile) and build the network.

        Reading and schema checks are :func:`geoplan.layers.io.read_layer`'s
        (``layer`` defaults to the table named ``roads``, or the only one);
        other keyword arguments go to :meth:`from_roads`.
        """
        from geoplan.layers.io import read_layer

        roads = read_layer(path, "roads", layer=layer)
        return cls.from_roads(roads, speeds=speeds, source=str(path), **kwargs)

    @classmethod
    def from_osm(cls, path, speeds: dict | None = None, use_maxspeed: bool = True,
                 **kwargs) -> "RoadNetwork":
        """Build a network from an OpenStreetMap extract (.osm, .osm.pbf, .osm.bz2).

        Drivable ``highway=*`` ways are read with pyosmium and mapped to the
        roads schema by :func:`geoplan.network.osm.read_osm_roads` (see there for
        the tag rules); the network is then built exactly as by
        :meth:`from_roads`.
        """
        from geoplan.network.osm import read_osm_roads

        roads = read_osm_roads(path, use_maxspeed=use_maxspeed)
        return cls.from_roads(roads, speeds=speeds, source=str(path), **kwargs)

    # -- basic properties ---------------------------------------------------

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def node_strong_component(self) -> np.ndarray:
        """Strongly connected component of every node (computed on first use)."""
        if self._strong is None:
            self._strong = connected_components(self.graph_seconds, directed=True, connection="strong")[1]
        return self._strong

    def __repr__(self) -> str:
        return (f"RoadNetwork({self.n_nodes} nodes, {self.n_edges} edges, "
                f"{len(self.components)} component(s), crs=EPSG:{self.crs.to_epsg()}, "
                f"source={self.source!r})")

    @property
    def graph_seconds_t(self) -> sp.csr_matrix:
        """Transpose of :attr:`graph_seconds` (routing *towards* a point)."""
        if self._graph_t is None:
            t = self.graph_seconds.T.tocsr()
            t.sort_indices()
            self._graph_t = t
        return self._graph_t

    def to_networkx(self, weight: str = "seconds"):
        """The graph as a :class:`networkx.DiGraph` (``seconds`` and ``length_m`` on edges).

        Parallel roads keep the fastest. Node ``i`` has ``x``, ``y`` from
        :attr:`node_xy`.
        """
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(self.node_xy))
        coo = self.graph_seconds.tocoo()
        metres = self.graph_metres.tocoo()
        g.add_edges_from(
            (int(a), int(b), {"seconds": float(s), "length_m": float(m)})
            for a, b, s, m in zip(coo.row, coo.col, coo.data, metres.data)
        )
        return g

    # -- connectivity -------------------------------------------------------

    def _component_table(self) -> pd.DataFrame:
        e = self.edges
        if len(e) == 0:
            return pd.DataFrame(columns=["component", "n_nodes", "n_edges", "length_km", "road_ids"])
        comp = e["component"].to_numpy(np.int64)
        # A junction left without edges (synthetic graphs) is a component
        # of its own that the table omits.
        ncomp = int(max(comp.max(), self.node_component.max())) + 1
        n_edges = np.bincount(comp, minlength=ncomp)
        length_km = np.bincount(comp, weights=e["length_m"].to_numpy(float), minlength=ncomp) / 1000.0
        road_ids = e["road_id"].to_numpy()
        order = np.argsort(comp, kind="stable")
        starts = np.cumsum(n_edges) - n_edges

        def first_ids(comps, limit):
            # Edges of ``comps`` in table order, at most ``limit`` per component.
            cnt = np.minimum(n_edges[comps], limit)
            pos = np.repeat(starts[comps], cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            return _first_unique_per_group(comp[order[pos]], road_ids[order[pos]], 6, ncomp)

        # Naming a component needs only its first few distinct roads, so
        # look at its first edges and go further only where they repeat.
        names, counts = first_ids(np.arange(ncomp), 64)
        redo = np.flatnonzero((counts < 6) & (n_edges > 64))
        if len(redo):
            more_names, more_counts = first_ids(redo, n_edges.max())
            counts[redo] = more_counts[redo]
            for c in redo:
                names[c] = more_names[c]
        labels = [", ".join(map(str, names[c][:5])) + (" …" if counts[c] > 5 else "") for c in range(ncomp)]
        nodes = np.bincount(self.node_component, minlength=ncomp)
        has = n_edges > 0
        return pd.DataFrame({
            "component": np.arange(ncomp)[has],
            "n_nodes": nodes[has],
            "n_edges": n_edges[has],
            "length_km": length_km[has],
            "road_ids": np.array(labels, dtype=object)[has],
        })

    def connectivity_report(self) -> pd.DataFrame:
        """Weakly connected pieces of the network, the main one first.

        Returns
        -------
        pandas.DataFrame
            ``component`` (0 = largest), ``n_nodes``, ``n_edges``,
            ``length_km`` and up to five ``road_ids`` to look up in a GIS.
            More than one row means some roads do not connect to the rest
            (missing link, undershoot, or an island served by ferry).
        """
        return self.components.copy()

    def check_connected(self) -> None:
        """Raise :class:`NetworkError` unless the network is one connected piece."""
        comps = self.components
        if len(comps) <= 1:
            return
        lines = [
            f"  - component {r.component}: {r.n_edges} road piece(s), {r.length_km:.2f} km (roads {r.road_ids})"
            for r in comps.iloc[1:11].itertuples()
        ]
        more = len(comps) - 11
        if more > 0:
            lines.append(f"  ... and {more} more")
        raise NetworkError(
            f"The road network from {self.source} falls into {len(comps)} disconnected pieces; the main "
            f"one has {comps.n_edges.iloc[0]} road pieces. Points on the others cannot reach it:\n"
            + "\n".join(lines)
            + "\nJoin the roads where they should meet (shared vertex at the junction) or remove the strays."
        )

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

    # -- routing kernels ----------------------------------------------------

    def _augmented(self, graph: sp.csr_matrix, nodes1, cost1, nodes2, cost2) -> sp.csr_matrix:
        """``graph`` plus one virtual source row per entry (appended, outgoing only)."""
        n = graph.shape[0]
        k = len(nodes1)
        rows = np.concatenate([np.arange(k), np.arange(k)])
        cols = np.concatenate([nodes1, nodes2])
        data = np.concatenate([cost1, cost2])
        ok = np.isfinite(data)
        rows, cols, data = rows[ok], cols[ok], data[ok]
        order = np.lexsort((data, cols, rows))
        rows, cols, data = rows[order], cols[order], data[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, data = rows[first], cols[first], data[first]
        vptr = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=k), out=vptr[1:])
        indptr = np.concatenate([graph.indptr.astype(np.int64), graph.indptr[-1] + vptr[1:]])
        indices = np.concatenate([graph.indices, cols.astype(graph.indices.dtype)])
        weights = np.concatenate([graph.data, data])
        size = n + k
        idx_dtype = np.int32 if max(size, len(indices)) < 2**31 else np.int64
        return sp.csr_matrix((weights, indices.astype(idx_dtype), indptr.astype(idx_dtype)),
                             shape=(size, size))

    def _multi_source(self, src: _Pts, dst: _Pts, reverse: bool):
        """Nearest source for every destination point.

        ``reverse=False``: time from the source to the point; ``True``: from
        the point to the source (search on the transposed graph).

        Returns (seconds, source index) per destination, inf / -1 where none.
        """
        n = self.n_nodes
        s_idx = np.flatnonzero(src.snapped)
        graph = self.graph_seconds_t if reverse else self.graph_seconds
        opts = src.arrive() if reverse else src.depart()
        aug = self._augmented(graph, *(a[s_idx] for a in opts))
        dist, _, sources = dijkstra(aug, directed=True, indices=n + np.arange(len(s_idx)),
                                    min_only=True, return_predecessors=True)
        nearest = np.where(sources >= n, s_idx[np.clip(sources - n, 0, None)], -1)
        best = np.full(len(dst.ids), np.inf)
        who = np.full(len(dst.ids), -1, dtype=np.int64)
        ok = dst.snapped
        n1, c1, n2, c2 = dst.depart() if reverse else dst.arrive()
        for node, cost in ((n1, c1), (n2, c2)):
            node = np.where(ok, node, 0)
            t = np.where(ok, dist[node] + cost, np.inf)
            better = t < best
            best = np.where(better, t, best)
            who = np.where(better, nearest[node], who)
        # Same-edge pairs travel directly along the edge.
        if reverse:
            i, j, t = _direct_pairs(dst, src)
        else:
            j, i, t = _direct_pairs(src, dst)
        if len(t):
            order = np.lexsort((t, i))
            i, j, t = i[order], j[order], t[order]
            first = np.ones(len(i), dtype=bool)
            first[1:] = i[1:] != i[:-1]
            i, j, t = i[first], j[first], t[first]
            better = t < best[i]
            best[i[better]] = t[better]
            who[i[better]] = j[better]
        return best, who

    def _component_of(self, p: _Pts) -> np.ndarray:
        comp = self.edges["component"].to_numpy()
        return np.where(p.snapped, comp[np.where(p.snapped, p.edge, 0)], -1)

    def _unreachable_reason(self, dst_comp: int, src_comps: set, what_src: str) -> str:
        row = self.components.iloc[dst_comp]
        if dst_comp in src_comps:
            return (f"one-way roads allow no route between it and any {what_src} although both lie on "
                    f"network component {dst_comp}; check the oneway flags near roads {row.road_ids}")
        where = ", ".join(str(c) for c in sorted(src_comps)[:5])
        return (f"its road is on network component {dst_comp} ({row.n_edges} road piece(s), "
                f"{row.length_km:.2f} km; roads {row.road_ids}) which is not connected to any "
                f"{what_src} (they are on component(s) {where}); join the roads or add a {what_src} there")

    # -- public queries -----------------------------------------------------

    def nearest_facility(self, demand, facilities, demand_id: str | None = None,
                         facility_id: str | None = None, direction: str = "to_facility",
                         max_distance_m: float = DEFAULT_MAX_SNAP_DISTANCE_M,
                         access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH) -> pd.DataFrame:
        """Travel time from every demand point to its nearest facility.

        Parameters
        ----------
        demand, facilities : geopandas.GeoDataFrame
            Points (any CRS), or the output of :meth:`snap` on this network
            (then ``max_distance_m`` / ``access_speed_kmh`` are not reapplied).
        demand_id, facility_id : str, optional
            ID columns (default: the index).
        direction : {"to_facility", "from_facility"}
            ``to_facility``: residents travel to the facility (the default);
            ``from_facility``: staff travel out (home visits). They differ
            only where roads are one-way.
        max_distance_m, access_speed_kmh : float
            Snapping limits and off-network speed, see :meth:`snap`.

        Returns
        -------
        pandas.DataFrame
            Indexed by the demand IDs: ``facility_id`` (nearest), ``minutes``
            (door to door, access legs included), ``reachable``, ``status``
            (``ok``, ``not_snapped``, ``unreachable``), ``reason`` (empty
            when ok) and ``distance_to_road_m``. ``minutes`` is NaN unless
            ``status == "ok"``. ``attrs["facilities_not_snapped"]`` lists
            facilities too far from any road (they take no part).

        Raises
        ------
        NetworkError
            If no facility lies within ``max_distance_m`` of a road.
        """
        if direction not in DIRECTIONS:
            raise NetworkError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
        fac = self._as_pts(facilities, facility_id, max_distance_m, access_speed_kmh, "facilities")
        if not fac.snapped.any():
            raise NetworkError(
                f"None of the {len(fac.ids)} facilities lies within {max_distance_m:g} m of a road in "
                f"{self.source}; check that the facility and road layers cover the same area "
                "(and their CRSs), or raise max_distance_m."
            )
        dem = self._as_pts(demand, demand_id, max_distance_m, access_speed_kmh, "demand points")
        best, who = self._multi_source(fac, dem, reverse=(direction == "to_facility"))
        return self._nearest_table(fac, dem, best, who, max_distance_m, direction)

    def _nearest_table(self, fac: _Pts, dem: _Pts, best, who, max_distance_m, direction) -> pd.DataFrame:
        """The result table of :meth:`nearest_facility` (no per-row Python)."""
        reachable = np.isfinite(best)
        status = _take_labels(np.array(["ok", "unreachable", "not_snapped"]),
                              np.where(reachable, 0, np.where(dem.snapped, 1, 2)))
        reason = np.full(len(best), "", dtype=object)
        reason[~dem.snapped] = _far_reasons(dem.dist_m[~dem.snapped], max_distance_m,
                                            "; add the missing road or raise max_distance_m")
        bad = np.flatnonzero(dem.snapped & ~reachable)
        if len(bad):
            fac_comps = set(self._component_of(fac)[fac.snapped].tolist())
            # One message per network component, shared by its points.
            comps, inv = np.unique(self._component_of(dem)[bad], return_inverse=True)
            text = np.array([self._unreachable_reason(int(c), fac_comps, "facility") for c in comps], dtype=object)
            reason[bad] = text[inv.ravel()]
        out = pd.DataFrame(
            {
                "facility_id": _take_labels(fac.ids.to_numpy(), np.where(reachable, who, -1)),
                "minutes": np.where(reachable, best / 60.0, np.nan),
                "reachable": reachable,
                "status": status,
                "reason": reason,
                "distance_to_road_m": dem.dist_m,
            },
            index=dem.ids,
        )
        out.attrs["facilities_not_snapped"] = fac.ids[~fac.snapped].tolist()
        out.attrs["direction"] = direction
        return out

    def cost_matrix(self, origins, destinations, origin_id: str | None = None,
                    destination_id: str | None = None, cutoff_min: float | None = None,
                    wide: bool = False, max_distance_m: float = DEFAULT_MAX_SNAP_DISTANCE_M,
                    access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH) -> pd.DataFrame:
        """Travel minutes from every origin to every destination.

        Parameters
        ----------
        origins, destinations : geopandas.GeoDataFrame
            Points, or outputs of :meth:`snap` on this network.
        origin_id, destination_id : str, optional
            ID columns (default: the index).
        cutoff_min : float, optional
            Stop searching beyond this many minutes (much faster on large
            networks); longer pairs get status ``beyond_cutoff``.
        wide : bool
            Return an origins × destinations table of minutes (NaN where the
            status is not ``ok``) instead of the long table.

        Returns
        -------
        pandas.DataFrame
            Long form: ``origin_id``, ``destination_id``, ``minutes`` (NaN
            unless ok), ``status`` in ``ok``, ``beyond_cutoff``,
            ``unreachable``, ``origin_not_snapped``,
            ``destination_not_snapped``.
        """
        if cutoff_min is not None and not (cutoff_min >= 0):
            raise NetworkError(f"cutoff_min must be a number of minutes ≥ 0, got {cutoff_min!r}.")
        org = self._as_pts(origins, origin_id, max_distance_m, access_speed_kmh, "origins")
        dst = self._as_pts(destinations, destination_id, max_distance_m, access_speed_kmh, "destinations")
        limit = np.inf if cutoff_min is None else cutoff_min * 60.0
        times = self._many_to_many(org, dst, limit)

        no, nd = len(org.ids), len(dst.ids)
        status = np.full((no, nd), "ok", dtype=object)
        finite = np.isfinite(times)
        if cutoff_min is not None:
            over = finite & (times > limit)
            times[over] = np.inf
            finite &= ~over
        missing = ~finite
        both = org.snapped[:, None] & dst.snapped[None, :]
        status[missing & both] = "unreachable"
        if cutoff_min is not None and (missing & both).any():
            status[missing & both] = self._cutoff_status(org, dst, missing & both)
        status[~dst.snapped[None, :].repeat(no, 0)] = "destination_not_snapped"
        status[~org.snapped[:, None].repeat(nd, 1)] = "origin_not_snapped"
        minutes = np.where(finite, times / 60.0, np.nan)
        if wide:
            out = pd.DataFrame(minutes, index=org.ids, columns=dst.ids)
            out.attrs["status"] = pd.DataFrame(status, index=org.ids, columns=dst.ids)
            return out
        return pd.DataFrame({
            "origin_id": np.repeat(org.ids.to_numpy(), nd),
            "destination_id": np.tile(dst.ids.to_numpy(), no),
            "minutes": minutes.ravel(),
            "status": status.ravel(),
        })

    def _many_to_many(self, org: _Pts, dst: _Pts, limit: float) -> np.ndarray:
        n = self.n_nodes
        no, nd = len(org.ids), len(dst.ids)
        times = np.full((no, nd), np.inf)
        o_idx = np.flatnonzero(org.snapped)
        if len(o_idx) == 0 or not dst.snapped.any():
            return times
        aug = self._augmented(self.graph_seconds, *(a[o_idx] for a in org.depart()))
        n1, c1, n2, c2 = dst.arrive()
        ok = dst.snapped
        n1, n2 = np.where(ok, n1, 0), np.where(ok, n2, 0)
        c1, c2 = np.where(ok, c1, np.inf), np.where(ok, c2, np.inf)
        block = max(1, int(_BLOCK_BYTES // (8 * (n + len(o_idx)))))
        for start in range(0, len(o_idx), block):
            rows = o_idx[start:start + block]
            d = dijkstra(aug, directed=True, indices=n + np.arange(start, start + len(rows)), limit=limit)
            times[rows] = np.minimum(d[:, n1] + c1, d[:, n2] + c2)
        i, j, t = _direct_pairs(org, dst)
        if len(t):
            np.minimum.at(times, (i, j), t)
        return times

    def _cutoff_status(self, org: _Pts, dst: _Pts, mask: np.ndarray) -> np.ndarray:
        """``beyond_cutoff`` or ``unreachable`` for pairs a limited search did not reach."""
        oi, dj = np.nonzero(mask)
        oc, dc = self._component_of(org)[oi], self._component_of(dst)[dj]
        result = np.where(oc == dc, "beyond_cutoff", "unreachable").astype(object)
        strong = self.node_strong_component
        # Inside one weak component a pair is surely reachable when all end
        # nodes share a strong component; otherwise one-way roads may block
        # it, so ask an unlimited search (rare: one-way dead ends).
        same_strong = (strong[org.u[oi]] == strong[org.v[oi]]) & (strong[dst.u[dj]] == strong[dst.v[dj]]) \
            & (strong[org.u[oi]] == strong[dst.u[dj]])
        doubt = (oc == dc) & ~same_strong
        if doubt.any():
            rows = np.unique(oi[doubt])
            full = self._many_to_many(
                _Pts(org.ids[rows], org.snapped[rows], org.edge[rows], org.u[rows], org.v[rows],
                     org.to_u[rows], org.to_v[rows], org.two_way[rows], org.access_s[rows], org.dist_m[rows]),
                dst, np.inf)
            pos = np.searchsorted(rows, oi[doubt])
            result[doubt] = np.where(np.isfinite(full[pos, dj[doubt]]), "beyond_cutoff", "unreachable")
        return result

    def isochrones(self, facilities, facility_id: str | None = None, minutes=(15, 30),
                   direction: str = "to_facility", buffer_m: float = 250.0,
                   max_distance_m: float = DEFAULT_MAX_SNAP_DISTANCE_M,
                   access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH) -> gpd.GeoDataFrame:
        """Area within ``minutes`` of each facility by road.

        The reachable road network (whole edges, and the reachable part of
        edges at the edge of the area) is buffered by ``buffer_m`` to give
        a polygon for maps. For exact per-household figures use
        :meth:`nearest_facility` on population cells instead.

        Parameters
        ----------
        facilities : geopandas.GeoDataFrame
            Facility points, or the output of :meth:`snap`.
        minutes : sequence of float
            Travel-time thresholds.
        direction : {"to_facility", "from_facility"}
            As in :meth:`nearest_facility`.
        buffer_m : float
            Half-width of the band around reachable roads.

        Returns
        -------
        geopandas.GeoDataFrame
            ``facility_id``, ``minutes``, ``road_km`` (reachable road
            length), ``area_km2`` and the polygon, in EPSG:4490. Facilities
            not snapped get an empty geometry and ``road_km`` 0.
        """
        if direction not in DIRECTIONS:
            raise NetworkError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
        mins = sorted(float(m) for m in np.atleast_1d(minutes))
        if not mins or any(not (m > 0) for m in mins):
            raise NetworkError(f"minutes must be positive numbers, got {minutes!r}.")
        fac = self._as_pts(facilities, facility_id, max_distance_m, access_speed_kmh, "facilities")
        reverse = direction == "to_facility"
        n = self.n_nodes
        e = self.edges
        eu, ev = e["u"].to_numpy(), e["v"].to_numpy()
        sec = e["seconds"].to_numpy()
        two = ~e["oneway"].to_numpy(bool)
        geoms = e.geometry.to_numpy()
        f_idx = np.flatnonzero(fac.snapped)
        graph = self.graph_seconds_t if reverse else self.graph_seconds
        aug = self._augmented(graph, *(a[f_idx] for a in (fac.arrive() if reverse else fac.depart())))
        limit = mins[-1] * 60.0
        records = []
        for k, fi in enumerate(f_idx):
            d = dijkstra(aug, directed=True, indices=n + k, limit=limit)
            for m in mins:
                t = m * 60.0
                # Forward search reaches an edge from its u end always and
                # from v only if two-way; a search towards the facility is
                # the mirror image.
                from_u = np.clip((t - d[eu]) / sec, 0.0, 1.0)
                from_v = np.clip((t - d[ev]) / sec, 0.0, 1.0)
                if reverse:
                    from_u = np.where(two, from_u, 0.0)
                else:
                    from_v = np.where(two, from_v, 0.0)
                own = fac.edge[fi]
                spans = []
                if from_u[own] > 0:
                    spans.append((0.0, from_u[own]))
                if from_v[own] > 0:
                    spans.append((1.0 - from_v[own], 1.0))
                from_u[own] = from_v[own] = 0.0
                full = from_u + from_v >= 1.0
                pieces = [geoms[full]]
                pu = np.flatnonzero(~full & (from_u > 0))
                pv = np.flatnonzero(~full & (from_v > 0))
                pieces.append(_substrings(geoms[pu], np.zeros(len(pu)), from_u[pu]))
                pieces.append(_substrings(geoms[pv], 1.0 - from_v[pv], np.ones(len(pv))))
                # The facility's own edge is also reached directly along it;
                # merge that with what arrives via its end nodes so nothing
                # is counted twice.
                rem = t - fac.access_s[fi]
                if rem > 0:
                    f0 = fac.to_u[fi] / sec[own]
                    r = rem / sec[own]
                    ahead = (f0, min(1.0, f0 + r))
                    behind = (max(0.0, f0 - r), f0)
                    spans.append(behind if reverse else ahead)
                    if two[own]:
                        spans.append(ahead if reverse else behind)
                for a, b in _merge_intervals(spans):
                    pieces.append(_substrings(geoms[[own]], np.array([a]), np.array([b])))
                lines = np.concatenate([np.asarray(p, dtype=object) for p in pieces])
                lines = lines[shapely.get_type_id(lines) == 1]
                road_km = float(shapely.length(lines).sum()) / 1000.0 if len(lines) else 0.0
                if len(lines):
                    poly = shapely.buffer(shapely.multilinestrings(lines), buffer_m, quad_segs=4)
                else:
                    poly = shapely.Polygon()
                records.append((fac.ids[fi], m, road_km, poly))
        for fi in np.flatnonzero(~fac.snapped):
            for m in mins:
                records.append((fac.ids[fi], m, 0.0, shapely.Polygon()))
        out = gpd.GeoDataFrame(
            pd.DataFrame(records, columns=["facility_id", "minutes", "road_km", "geometry"]),
            geometry="geometry", crs=self.crs,
        )
        out["area_km2"] = out.area / 1e6
        out = out[["facility_id", "minutes", "road_km", "area_km2", "geometry"]]
        return out.to_crs(STORAGE_CRS)


def _substrings(geoms: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Parts of lines between two fractions of their length."""
    from shapely.ops import substring

    return np.array([substring(g, a, b, normalized=True) for g, a, b in zip(geoms, start, end)],
                    dtype=object)


def _merge_intervals(spans):
    """Union of [a, b] intervals as a sorted list of disjoint ones (empty ones dropped)."""
    out: list[list[float]] = []
    for a, b in sorted(sp_ for sp_ in spans if sp_[1] > sp_[0]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [tuple(x) for x in out]


def _take_labels(labels: np.ndarray, codes: np.ndarray):
    """``labels[codes]`` (None where ``codes`` is -1) as a pandas array.

    Same values and dtype as ``pd.array`` of the equivalent object array,
    but only the labels in use are inferred and converted: per-row strings
    cost seconds on a million rows.
    """
    present = np.bincount(codes + 1, minlength=len(labels) + 1) > 0
    used = np.flatnonzero(present) - 1
    pos = np.cumsum(present) - 1
    inv = pos[codes + 1]
    small = np.empty(len(used), dtype=object)
    small[:] = [None if c < 0 else labels[c] for c in used]
    # Unicode numpy arrays become pandas' default string dtype, as a
    # column of them would.
    kind = "str" if labels.dtype.kind == "U" else None
    return pd.array(small, dtype=kind).take(inv)


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
