"""Routing on the road graph: nearest facility, cost matrices, isochrones.

Sources sit on edges, so each becomes a virtual node joined to its edge's
end nodes (:meth:`RoutingMixin._augmented`); one multi-source
:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True`` then gives
every node its nearest source.

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])`` (``import geoplan as gp``); pytest builds them once per
session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from geoplan._threads import on_threads as _on_threads, slices as _slices
from geoplan.errors import NetworkError
from geoplan.i18n import N_, _
from geoplan.layers.crs import STORAGE_CRS
from geoplan.network.build import (
    _BLOCK_BYTES, DEFAULT_ACCESS_SPEED_KMH, DEFAULT_MAX_SNAP_DISTANCE_M, DIRECTIONS,
)
from geoplan.network.snapping import _CHUNK, _direct_pairs, _far_reasons, _Pts


class RoutingMixin:
    """Queries of :class:`~geoplan.network.graph.RoadNetwork` (needs the graph and snapping).

    Examples
    --------
    >>> sorted(m for m in vars(RoutingMixin) if not m.startswith("_"))  # each has its own example
    ['cost_matrix', 'isochrones', 'nearest_facility']
    """

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
        size = n + k
        idx_dtype = np.int32 if max(size, len(graph.indices) + len(cols)) < 2**31 else np.int64
        # Made in the final dtype: the graph's own arrays are copied once, not
        # cast and copied again (they hold millions of arcs).
        indptr = np.concatenate([graph.indptr, int(graph.indptr[-1]) + vptr[1:]], dtype=idx_dtype)
        indices = np.concatenate([graph.indices, cols], dtype=idx_dtype)
        weights = np.concatenate([graph.data, data], dtype=np.float64)
        return sp.csr_matrix((weights, indices, indptr), shape=(size, size), copy=False)

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
        m = len(dst.ids)
        best = np.empty(m)
        who = np.empty(m, dtype=np.int64)

        def step(rows):
            # The better end of each point's edge, in blocks on threads (numpy
            # releases the GIL): a million points' gathers took a tenth of the search.
            ok = dst.snapped[rows]
            b = np.full(len(ok), np.inf)
            w = np.full(len(ok), -1, dtype=np.int64)
            n1, c1, n2, c2 = dst.depart(rows) if reverse else dst.arrive(rows)
            for node, cost in ((n1, c1), (n2, c2)):
                node = np.where(ok, node, 0)
                t = np.where(ok, dist[node] + cost, np.inf)
                better = t < b
                np.copyto(b, t, where=better)
                np.copyto(w, nearest[node], where=better)
            best[rows], who[rows] = b, w

        _on_threads(step, _slices(m, _CHUNK))
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
        """Why a snapped point reaches no ``what_src`` (an English word marked with ``N_``), in the reader's language."""
        row = self.components.iloc[dst_comp]
        what = _(what_src)
        if dst_comp in src_comps:
            return _("one-way roads allow no route between it and any {what} although both lie on network component "
                     "{component}; check the oneway flags near roads {roads}").format(
                what=what, component=dst_comp, roads=row.road_ids)
        where = _(", ").join(str(c) for c in sorted(src_comps)[:5])
        return _("its road is on network component {component} ({n} road piece(s), {km} km; roads {roads}) which is "
                 "not connected to any {what} (they are on component(s) {where}); join the roads or add a {what} "
                 "there").format(component=dst_comp, n=row.n_edges, km=f"{row.length_km:.2f}", roads=row.road_ids,
                                 what=what, where=where)

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

        Examples
        --------
        >>> centres = county["elderly_care"].query("kind == '居家养老服务中心'")
        >>> t = net.nearest_facility(county["villages"], centres, demand_id="code", facility_id="facility_id")
        >>> len(t), int((t["minutes"] <= 15).sum()), round(float(t["minutes"].max()), 1)
        (292, 234, 30.4)
        """
        if direction not in DIRECTIONS:
            raise NetworkError(_("direction must be one of {choices}, got {value!r}.").format(
                choices=DIRECTIONS, value=direction))
        fac = self._as_pts(facilities, facility_id, max_distance_m, access_speed_kmh, N_("facilities"))
        if not fac.snapped.any():
            raise NetworkError(
                _("None of the {n} facilities lies within {metres:g} m of a road in {source}; check that the "
                  "facility and road layers cover the same area (and their CRSs), or raise max_distance_m.").format(
                    n=len(fac.ids), metres=max_distance_m, source=self.source)
            )
        dem = self._as_pts(demand, demand_id, max_distance_m, access_speed_kmh, "demand points")
        best, who = self._multi_source(fac, dem, reverse=(direction == "to_facility"))
        return self._nearest_table(fac, dem, best, who, max_distance_m, direction)

    def _nearest_table(self, fac: _Pts, dem: _Pts, best, who, max_distance_m, direction) -> pd.DataFrame:
        """The result table of :meth:`nearest_facility` (no per-row Python)."""
        reachable = np.isfinite(best)
        status = _take_labels(np.array(["ok", "unreachable", "not_snapped"]),
                              np.where(reachable, 0, np.where(dem.snapped, 1, 2)))
        # Reasons as codes into the distinct messages (0: none): a column of a
        # million Python strings took longer to make and to type than the rest of the table.
        texts = [""]
        code = np.zeros(len(best), dtype=np.int64)
        far = np.flatnonzero(~dem.snapped)
        if len(far):
            msgs, inv = np.unique(_far_reasons(dem.dist_m[far], max_distance_m,
                                               _("; add the missing road or raise max_distance_m")),
                                  return_inverse=True)
            code[far] = len(texts) + inv.ravel()
            texts += msgs.tolist()
        bad = np.flatnonzero(dem.snapped & ~reachable)
        if len(bad):
            fac_comps = set(self._component_of(fac)[fac.snapped].tolist())
            # One message per network component, shared by its points.
            comps, inv = np.unique(self._component_of(dem)[bad], return_inverse=True)
            code[bad] = len(texts) + inv.ravel()
            texts += [self._unreachable_reason(int(c), fac_comps, N_("facility")) for c in comps]
        reason = _take_labels(np.array(texts), code)
        out = pd.DataFrame(
            {
                "facility_id": _take_labels(fac.ids.to_numpy(), np.where(reachable, who, -1)),
                "minutes": np.where(reachable, best / 60.0, np.nan),
                "reachable": reachable,
                "status": status,
                "reason": reason,
                # A copy: dist_m may be a view of the caller's snapped frame.
                "distance_to_road_m": dem.dist_m.copy(),
            },
            index=dem.ids,
            # The columns are made here (10 ms of copying a million rows otherwise).
            copy=False,
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

        Examples
        --------
        >>> towns = county["townships"].set_index("code").head(3)
        >>> m = net.cost_matrix(towns, towns, wide=True).round(1)
        >>> m
        code       330624001  330624002  330624003
        code                                      
        330624001        2.4       10.9       11.2
        330624002       10.9        6.0       19.0
        330624003       11.2       19.1        8.0
        """
        if cutoff_min is not None and not (cutoff_min >= 0):
            raise NetworkError(_("cutoff_min must be a number of minutes ≥ 0, got {value!r}.").format(value=cutoff_min))
        org = self._as_pts(origins, origin_id, max_distance_m, access_speed_kmh, N_("origins"))
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

        Examples
        --------
        >>> iso = net.isochrones(county["elderly_care"].head(2), facility_id="facility_id", minutes=(10, 20))
        >>> iso[["facility_id", "minutes"]].values.tolist()
        [['330624YL001', 10.0], ['330624YL001', 20.0], ['330624YL002', 10.0], ['330624YL002', 20.0]]
        >>> bool((iso.groupby("facility_id")["road_km"].diff().dropna() > 0).all())  # 20 min reach further than 10
        True
        """
        if direction not in DIRECTIONS:
            raise NetworkError(_("direction must be one of {choices}, got {value!r}.").format(
                choices=DIRECTIONS, value=direction))
        mins = sorted(float(m) for m in np.atleast_1d(minutes))
        if not mins or any(not (m > 0) for m in mins):
            raise NetworkError(_("minutes must be positive numbers, got {value!r}.").format(value=minutes))
        fac = self._as_pts(facilities, facility_id, max_distance_m, access_speed_kmh, N_("facilities"))
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


