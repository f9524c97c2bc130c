"""Building the road graph: speed table, topology (lines cut into edges at
shared vertices), the edge table and the CSR matrices.

Everything here is array code over all lines at once; see
:mod:`geoplan.network.graph` for the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from geoplan.errors import NetworkError, feature_label
from geoplan.i18n import _
from geoplan.layers.schema import ROAD_CLASSES, ROADS
from geoplan.layers.values import parse_yes_no


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

    Examples
    --------
    >>> s = resolve_speeds({"县道": 45})
    >>> s["tertiary"], s["secondary"], s["track"]
    (40.0, 45.0, 15.0)
    """
    table = dict(DEFAULT_SPEEDS_KMH)
    field = ROADS.field("road_class")
    for key, value in (speeds or {}).items():
        cls = field.canonical(str(key))
        if cls is None:
            raise NetworkError(
                _("Unknown road class {road_class!r} in the speed table. Known classes: {classes} (or their "
                  "Chinese names such as 县道).").format(road_class=key, classes=", ".join(ROAD_CLASSES))
            )
        try:
            kmh = float(value)
        except (TypeError, ValueError):
            kmh = math.nan
        if not (math.isfinite(kmh) and kmh > 0):
            raise NetworkError(
                _("The speed of road class {road_class!r} must be a positive number of km/h, not {value!r}.").format(
                    road_class=key, value=value)
            )
        table[cls] = kmh
    return table


def _row_label(i: int) -> str:
    return feature_label(i + 1)


def _validated_roads(gdf, source: str):
    """Roads checked against the schema (class aliases made canonical), in their own CRS.

    The network is built in a metric CRS; a trip through EPSG:4490 would
    only add rounding noise and seconds of reprojection.
    """
    from geoplan.layers.validate import validate_frame

    return validate_frame(gdf, "roads", source=source, to_storage=False)


def _oneway_array(gdf) -> np.ndarray:
    if "oneway" not in gdf.columns:
        return np.zeros(len(gdf), dtype=bool)
    col = gdf["oneway"]
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        # the one yes/no parser of the package, plus the road tables' own word for one-way
        return np.array([parse_yes_no(v) is True or str(v).strip() == "单行" for v in col], dtype=bool)
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


def _dense_codes(key: np.ndarray) -> np.ndarray:
    """Rank of each key among the distinct keys (``np.unique(key, return_inverse=True)[1]``).

    By one argsort: numpy 2's hash-based ``np.unique`` took 6 s on the 4M
    vertex keys of a regular 1000 × 1000 grid (their regular spacing
    collides in the hash table), the sort 0.5 s.
    """
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    k = key[order]
    new = np.empty(len(k), dtype=bool)
    new[0] = True
    np.not_equal(k[1:], k[:-1], out=new[1:])
    del k
    codes = np.empty(len(key), dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return codes


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
    if (shapely.get_type_id(geoms) == 1).all():
        # Plain LineStrings (the usual case) are their own parts: splitting
        # 2M of them into parts only copied them.
        parts, part_row = geoms, np.arange(len(geoms))
    else:
        parts, part_row = shapely.get_parts(geoms, return_index=True)
    coords, cpart = shapely.get_coordinates(parts, return_index=True)
    q = np.round(coords / precision).astype(np.int64)
    # Repeated vertices would give zero-length edges, which carry no travel.
    rep = np.zeros(len(q), dtype=bool)
    if len(q) > 1:
        rep[1:] = (cpart[1:] == cpart[:-1]) & (q[1:] == q[:-1]).all(axis=1)
    # Parts left exactly as given (no vertex dropped, no Z) can lend their
    # geometry to an edge spanning them whole, instead of a new copy.
    as_given = ~shapely.has_z(parts)
    as_given[cpart[rep]] = False
    coords, cpart, q = coords[~rep], cpart[~rep], q[~rep]
    per_part = np.bincount(cpart, minlength=len(parts))
    good_part = per_part >= 2
    keep = good_part[cpart]
    coords, cpart, q = coords[keep], cpart[keep], q[keep]
    has_line = np.zeros(len(geoms), dtype=bool)
    has_line[part_row[good_part]] = True
    dropped_rows = np.flatnonzero(~has_line)
    if len(coords) == 0:
        return _Topology(np.empty((0, 2)), np.empty(0, np.int64), np.empty(0, np.int64),
                         np.empty(0, np.int64), np.empty(0, dtype=object), dropped_rows)

    key = _quantised_keys(q)
    vid = _dense_codes(key)
    del key
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

    # First row of each junction (the ``return_index`` of np.unique, without its sort).
    node_vid = vid[node_rows]
    order = np.argsort(node_vid, kind="stable")
    grouped = node_vid[order]
    head = np.ones(len(order), dtype=bool)
    head[1:] = grouped[1:] != grouped[:-1]
    node_vids, node_first_row = grouped[head], order[head]
    del order, grouped, head
    vid_to_node = np.full(vid.max() + 1, -1, dtype=np.int64)
    vid_to_node[node_vids] = np.arange(len(node_vids))
    node_xy = coords[node_rows[node_first_row]]

    whole = first[s] & last[e] & as_given[cpart[s]]
    edge_geoms = np.empty(len(s), dtype=object)
    edge_geoms[whole] = parts[cpart[s[whole]]]
    cut = np.flatnonzero(~whole)
    lens = e[cut] - s[cut] + 1
    starts = np.cumsum(lens) - lens
    take = np.arange(lens.sum()) - np.repeat(starts, lens) + np.repeat(s[cut], lens)
    if len(cut):
        edge_geoms[cut] = shapely.linestrings(coords[take], indices=np.repeat(np.arange(len(cut)), lens))
    return _Topology(
        node_xy=node_xy,
        u=vid_to_node[vid[s]],
        v=vid_to_node[vid[e]],
        row=part_row[cpart[s]],
        geoms=edge_geoms,
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

