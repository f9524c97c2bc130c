"""Snapping points to the nearest position on the nearest road edge.

The :class:`~geoplan.network.index._SnapIndex` finds the nearest straight
segment of all edges for a million points at array speed (a grid of short
pieces of the segments, then a k-d tree of their midpoints, exact by a
distance bound); :class:`SnappingMixin` gives
:class:`~geoplan.network.graph.RoadNetwork` its :meth:`snap` and the flat
arrays (:class:`_Pts`) the routing works on.

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])`` (``import geoplan as gp``); pytest builds them once per
session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan._threads import on_threads as _on_threads, slices as _slices
from geoplan.errors import GeoplanError, NetworkError, Problem, ValidationError
from geoplan.i18n import N_, _, ngettext
from geoplan.layers.crs import require_crs
from geoplan.network.build import DEFAULT_ACCESS_SPEED_KMH, DEFAULT_MAX_SNAP_DISTANCE_M, _row_label
# Re-exported: graph.py and the tests import them from here.
from geoplan.network.index import (  # noqa: F401
    _build_grid, _project, _SnapIndex, _spatial_order,
)

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

    def depart(self, rows=slice(None)):
        """(node, cost) options for leaving the point onto the network (of the points ``rows``)."""
        n1 = self.v[rows]
        c1 = self.to_v[rows] + self.access_s[rows]
        n2 = self.u[rows]
        c2 = np.where(self.two_way[rows], self.to_u[rows] + self.access_s[rows], np.inf)
        return n1, c1, n2, c2

    def arrive(self, rows=slice(None)):
        """(node, cost) options for arriving at the point from the network (of the points ``rows``)."""
        n1 = self.u[rows]
        c1 = self.to_u[rows] + self.access_s[rows]
        n2 = self.v[rows]
        c2 = np.where(self.two_way[rows], self.to_v[rows] + self.access_s[rows], np.inf)
        return n1, c1, n2, c2


def _direct_pairs(a: _Pts, b: _Pts, a_idx=None):
    """Pairs (i in a, j in b) on the same edge and the time from a[i] to b[j] along it."""
    ai = np.flatnonzero(a.snapped) if a_idx is None else a_idx[a.snapped[a_idx]]
    bj = np.flatnonzero(b.snapped)
    if len(ai) and len(bj) and len(bj) * 8 < len(ai):
        # Few on one side (facilities against a million homes): keep the
        # others on those edges first, one lookup each, not two binary searches.
        ea, eb = a.edge[ai], b.edge[bj]
        on = np.zeros(int(max(ea.max(), eb.max())) + 1, dtype=bool)
        on[eb] = True
        ai = ai[on[ea]]
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
                _("The {what} have no column {column!r}; columns are: {columns}. Pass id_col= the column holding "
                  "each point's unique ID.").format(what=_(what), column=id_col,
                                                    columns=", ".join(map(str, gdf.columns)))
            )
        ids = pd.Index(gdf[id_col])
        name = id_col
    problems = []
    for i in np.flatnonzero(pd.isna(ids)):
        problems.append(Problem(_(what), None, _row_label(i), str(name), None, _("empty ID"),
                                _("give every point a unique ID")))
    for i in np.flatnonzero(ids.duplicated(keep="first")):
        problems.append(Problem(_(what), None, _row_label(i), str(name), str(ids[i]), _("duplicate ID"),
                                _("IDs must be unique so results can be matched back")))
    if problems:
        raise ValidationError(problems, ngettext("{n} problem with the IDs of the {what}",
                                                 "{n} problems with the IDs of the {what}", len(problems)).format(
            n=len(problems), what=_(what)))
    return pd.Index(ids, name=name)


def _far_reasons(dist: np.ndarray, max_distance_m: float, suffix: str = "") -> np.ndarray:
    """Why points at ``dist`` metres from the nearest road were not snapped."""
    out = np.full(len(dist), _("empty geometry"), dtype=object)
    ok = ~np.isnan(dist)
    # Whole metres repeat a lot: format each distinct value once.
    metres, inv = np.unique(np.round(dist[ok]).astype(np.int64), return_inverse=True)
    words = _("no road within {max} m (nearest road about {metres} m away)")
    text = np.array([words.format(max=f"{max_distance_m:g}", metres=m) + suffix
                     for m in metres.tolist()] + [""], dtype=object)
    out[ok] = text[inv.ravel()]
    return out


#: Points per block of the per-point work done on threads: large enough
#: that numpy's arithmetic, which releases the GIL, outweighs the Python
#: between the calls, which does not.
_CHUNK = 65536


def _point_xy(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of each geometry, and whether it has any (not missing, not empty).

    Facilities may be drawn as polygons (cemeteries): those are routed to a
    point inside, which also replaces them in the returned geometries.
    shapely's ``get_x``/``get_y`` release the GIL, so blocks run on threads
    (``get_coordinates`` took twice as long).
    """
    n = len(pts)
    xy = np.empty((n, 2))
    valid = np.empty(n, dtype=bool)

    def block(rows):
        g = pts[rows]
        try:
            x, y = shapely.get_x(g), shapely.get_y(g)
        except shapely.errors.GEOSException:
            # GEOS refuses the x of an empty point (missing ones give NaN):
            # checked only then, as it costs as much as reading x.
            x, y = np.full(len(g), np.nan), np.full(len(g), np.nan)
            ok = ~shapely.is_empty(g)
            x[ok], y[ok] = shapely.get_x(g[ok]), shapely.get_y(g[ok])
        xy[rows, 0], xy[rows, 1] = x, y
        # NaN for anything but a point, and for a point at NaN.
        valid[rows] = ~(np.isnan(x) | np.isnan(y))

    _on_threads(block, _slices(n, _CHUNK))
    if not valid.all():
        rows = np.flatnonzero(~valid)
        rows = rows[(shapely.get_type_id(pts[rows]) > 0) & ~shapely.is_empty(pts[rows])]
        if len(rows):
            pts = pts.copy()
            pts[rows] = shapely.point_on_surface(pts[rows])
            xy[rows, 0], xy[rows, 1] = shapely.get_x(pts[rows]), shapely.get_y(pts[rows])
            valid[rows] = ~np.isnan(xy[rows]).any(axis=1)
    return xy, pts, valid


class SnappingMixin:
    """Snapping for :class:`~geoplan.network.graph.RoadNetwork` (needs ``edges``, ``crs``, ``n_edges``).

    Examples
    --------
    >>> sorted(m for m in vars(SnappingMixin) if not m.startswith("_"))  # see :meth:`snap`
    ['snap']
    """

    # -- snapping -----------------------------------------------------------

    @property
    def _segments(self) -> "_SnapIndex":
        """Straight segments of all edges and a k-d tree to find them (built once)."""
        if self._index is None:
            self._index = _SnapIndex.build(self.edges.geometry.to_numpy(), self.n_edges)
        return self._index

    def _points_metric(self, points, what):
        if not isinstance(points, gpd.GeoDataFrame):
            raise GeoplanError(_("The {what} must be a GeoDataFrame of points, not {type}.").format(
                what=_(what), type=type(points).__name__))
        require_crs(points, _(what))
        geo = points.geometry
        return (geo if geo.crs.equals(self.crs) else geo.to_crs(self.crs)).to_numpy()

    def _snap_arrays(self, points, id_col, max_distance_m, access_speed_kmh, what,
                     geometry: bool = True) -> tuple[_Pts, np.ndarray, np.ndarray | None]:
        if not (access_speed_kmh and access_speed_kmh > 0):
            raise NetworkError(_("access_speed_kmh must be a positive speed, got {value!r}.").format(
                value=access_speed_kmh))
        if not (max_distance_m is not None and max_distance_m >= 0):
            raise NetworkError(_("max_distance_m must be a distance ≥ 0 in metres, got {value!r}.").format(
                value=max_distance_m))
        ids = _ids_of(points, id_col, what)
        pts = self._points_metric(points, what)
        xy, pts, valid = _point_xy(pts)
        n = len(pts)
        index = self._segments
        if valid.all():
            # Every point present (the usual case): no copies of the million-row arrays by index.
            seg, dist = index.nearest(xy, max_distance_m)
        else:
            seg = np.full(n, -1, dtype=np.int64)
            dist = np.full(n, np.nan)
            if valid.any():
                seg[valid], dist[valid] = index.nearest(xy[valid], max_distance_m)
        # Filled block by block below (points not snapped: -1, NaN, False).
        edge, u, v = (np.empty(n, dtype=np.int64) for _ in range(3))
        along, to_u, to_v = (np.empty(n) for _ in range(3))
        two_way = np.empty(n, dtype=bool)
        e = self.edges
        cols = (e["seconds"].to_numpy(), e["length_m"].to_numpy(), e["u"].to_numpy(), e["v"].to_numpy(),
                ~e["oneway"].to_numpy(bool))
        foot_xy = np.empty((n, 2)) if geometry else None

        def fill(rows):
            # Where each point meets its road, in blocks on threads: a dozen
            # gathers and sums per point took as long as finding the segment.
            s = seg[rows]
            ok = s >= 0
            if not ok.all():
                for a, missing in ((edge, -1), (u, -1), (v, -1), (along, np.nan), (to_u, np.nan),
                                   (to_v, np.nan), (two_way, False), (foot_xy, np.nan)):
                    if a is not None:
                        a[rows][~ok] = missing
                rows = np.arange(rows.start, rows.stop)[ok]
                s = s[ok]
            if not len(s):
                return
            sec, length, eu, ev, two = cols
            r = index.seg_rows[s]
            t = _project(r, xy[rows, 0], xy[rows, 1])[0]
            ew = index.seg_edge[s]
            edge[rows] = ew
            a = np.minimum(index.seg_along[s] + t * index.seg_len[s], length[ew])
            along[rows] = a
            frac = np.clip(a / length[ew], 0.0, 1.0)
            se = sec[ew]
            to_u[rows] = frac * se
            to_v[rows] = (1.0 - frac) * se
            u[rows] = eu[ew]
            v[rows] = ev[ew]
            two_way[rows] = two[ew]
            if foot_xy is not None:
                foot_xy[rows, 0] = r[:, 0] + t * r[:, 2]
                foot_xy[rows, 1] = r[:, 1] + t * r[:, 3]

        _on_threads(fill, _slices(n, _CHUNK))
        snapped = seg >= 0
        on = None
        if geometry:
            on = np.empty(n, dtype=object)
            on[:] = pts
            if snapped.any():
                on[snapped] = shapely.points(foot_xy[snapped])
        p = _Pts(
            ids=ids,
            snapped=snapped,
            edge=edge,
            u=u,
            v=v,
            to_u=to_u,
            to_v=to_v,
            two_way=two_way,
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

        Examples
        --------
        >>> s = net.snap(county["villages"], id_col="code")
        >>> int(s["snapped"].sum()), round(float(s["distance_to_road_m"].max())), s["road_id"].iloc[0]
        (292, 122, '330624R0006')
        """
        p, along, on = self._snap_arrays(points, id_col, max_distance_m, access_speed_kmh, N_("points"))
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

