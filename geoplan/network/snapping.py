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

from geoplan.errors import GeoplanError, NetworkError, Problem, ValidationError
from geoplan.i18n import N_, _, ngettext
from geoplan.layers.crs import require_crs
from geoplan.network.build import DEFAULT_ACCESS_SPEED_KMH, DEFAULT_MAX_SNAP_DISTANCE_M, _row_label
# Re-exported: graph.py and the tests import them from here.
from geoplan.network.index import _build_grid, _on_threads, _project, _SnapIndex, _spatial_order  # noqa: F401

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

    def _nearest_segment(self, xy: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest segment and distance for each point (see :class:`_SnapIndex`)."""
        return self._segments.nearest(xy, max_distance)

    def _points_metric(self, points, what):
        if not isinstance(points, gpd.GeoDataFrame):
            raise GeoplanError(_("The {what} must be a GeoDataFrame of points, not {type}.").format(
                what=_(what), type=type(points).__name__))
        require_crs(points, _(what))
        geo = points.geometry
        pts = (geo if geo.crs.equals(self.crs) else geo.to_crs(self.crs)).to_numpy()
        # Facilities may be drawn as polygons (cemeteries); route to a point inside.
        # (get_type_id is -1 for missing geometries; is_empty only on the few others.)
        non_point = shapely.get_type_id(pts) > 0
        if non_point.any():
            non_point[non_point] = ~shapely.is_empty(pts[non_point])
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
        missing = shapely.is_missing(pts) | shapely.is_empty(pts)
        valid = np.flatnonzero(~missing)
        edge = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        index = self._segments
        if len(valid) == n:
            # Every point present (the usual case): no copies of the million-row arrays by index.
            xy = shapely.get_coordinates(pts)
            seg, dist = index.nearest(xy, max_distance_m)
        else:
            seg = np.full(n, -1, dtype=np.int64)
            xy = np.full((n, 2), np.nan)
            if len(valid):
                xy[valid] = shapely.get_coordinates(pts[valid])
                seg[valid], dist[valid] = index.nearest(xy[valid], max_distance_m)
        snapped = seg >= 0
        e = self.edges
        sec = e["seconds"].to_numpy()
        length = e["length_m"].to_numpy()
        along = np.full(n, np.nan)
        frac = np.full(n, np.nan)
        where = slice(None) if snapped.all() else np.flatnonzero(snapped)
        on = None
        if geometry:
            on = np.empty(n, dtype=object)
            on[:] = pts
        if snapped.any():
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

