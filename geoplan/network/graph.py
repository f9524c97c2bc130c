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

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])``, ``tmp`` (an empty folder) (``import geoplan as gp``);
pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import geopandas as gpd
import shapely
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from geoplan.errors import NetworkError
from geoplan.i18n import _
from geoplan.layers.crs import metric_crs, require_crs
# Re-exported: other modules and users import these from here.
from geoplan.network.build import (  # noqa: F401
    _BLOCK_BYTES, DEFAULT_ACCESS_SPEED_KMH, DEFAULT_MAX_SNAP_DISTANCE_M, DEFAULT_NODE_PRECISION_M,
    DEFAULT_SPEEDS_KMH, DIRECTIONS, _build_topology, _csr_sorted, _min_per_pair, _oneway_array,
    _quantised_keys, _row_label, _Topology, _validated_roads, resolve_speeds,
)
from geoplan.network.routing import RoutingMixin, _merge_intervals, _substrings, _take_labels  # noqa: F401
from geoplan.network.snapping import (  # noqa: F401
    SnappingMixin, _direct_pairs, _far_reasons, _ids_of, _project, _Pts, _SnapIndex, _spatial_order,
)


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


class RoadNetwork(SnappingMixin, RoutingMixin):
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

    Examples
    --------
    ``net`` below is ``gp.RoadNetwork.from_roads(county["roads"])`` on the 新昌县 sample
    (``county = gp.load_sample("330624")``).

    >>> net
    RoadNetwork(348 nodes, 474 edges, 1 component(s), crs=EPSG:4549, source='道路图层')
    >>> net.n_nodes, net.n_edges, round(float(net.edges["length_m"].sum() / 1000))
    (348, 474, 767)
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

        Examples
        --------
        >>> n = RoadNetwork.from_roads(county["roads"], speeds={"tertiary": 30})
        >>> n.n_nodes, n.n_edges, n.crs.to_epsg()
        (348, 474, 4549)
        >>> bool(n.edges["seconds"].sum() > net.edges["seconds"].sum())  # slower county roads
        True
        """
        source = source or _("roads layer")
        table = resolve_speeds(speeds)
        if roads is None or len(roads) == 0:
            raise NetworkError(
                _("The roads layer {source} is empty: a travel-time network needs road centre lines. "
                  "Check the file and layer name, or build the network from an OSM extract.").format(source=source)
            )
        if not isinstance(roads, gpd.GeoDataFrame):
            raise NetworkError(_("The roads from {source} are not a GeoDataFrame with geometries.").format(source=source))
        require_crs(roads, source if source == _("roads layer") else _("roads layer {source}").format(source=source))
        # No local reference to the validated copy: its geometries are freed once the topology is built.
        return cls._from_valid_roads(_validated_roads(roads, source).reset_index(drop=True), table, source,
                                     node_precision_m, require_connected, roads)

    @classmethod
    def _from_valid_roads(cls, roads, table, source, node_precision_m, require_connected,
                          given=None) -> "RoadNetwork":
        """:meth:`from_roads` on a roads layer already validated (same rows as ``given``)."""
        crs = metric_crs(roads)
        if roads.crs.equals(crs):
            geoms = roads.geometry.to_numpy()
        elif given is not None and given.crs is not None and given.crs.equals(crs):
            # The caller's layer is already in the working zone: use its
            # coordinates rather than a second reprojection (3 s on 2M
            # lines) that only brings them back with rounding noise.
            geoms = given.geometry.to_numpy()
        else:
            geoms = roads.geometry.to_crs(crs).to_numpy()
        n_roads = len(roads)
        road_ids = roads["road_id"].astype(str).to_numpy()
        classes = roads["road_class"].astype(str).to_numpy()
        if "speed_kmh" in roads.columns:
            own = pd.to_numeric(roads["speed_kmh"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            own = np.full(n_roads, np.nan)
        oneway = _oneway_array(roads)
        # 2M storage-CRS geometries are half a gigabyte: let them go before the edges are made.
        del roads, given
        topo = _build_topology(geoms, node_precision_m)
        del geoms
        dropped = pd.DataFrame({
            "road_id": road_ids[topo.dropped_rows],
            "reason": "empty or zero-length line",
        })
        if len(topo.u) == 0:
            raise NetworkError(
                _("No usable road line in {source}: all {n} features are empty or have zero length. Check the "
                  "geometries (and their CRS) in a GIS.").format(source=source, n=n_roads)
            )
        codes, names = pd.factorize(classes)
        class_speed = np.array([table[c] for c in names], dtype=float)[codes]
        speed = np.where(np.isfinite(own), own, class_speed)
        if not np.all(speed > 0):
            i = int(np.flatnonzero(~(speed > 0))[0])
            raise NetworkError(
                _("{source}, {row}, column 'speed_kmh': the speed must be positive (value: {value}); correct it or "
                  "leave it empty to use the class default.").format(source=source, row=_row_label(i), value=speed[i])
            )
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

        Examples
        --------
        >>> from geoplan.layers.sample import sample_paths
        >>> RoadNetwork.from_file(sample_paths("330624")[0], layer="roads").n_edges
        474
        """
        from geoplan.layers.io import read_layer

        table = resolve_speeds(speeds)
        # read_layer has validated the layer: build without checking it again.
        return cls._from_valid_roads(read_layer(path, "roads", layer=layer).reset_index(drop=True), table, str(path),
                                     kwargs.pop("node_precision_m", DEFAULT_NODE_PRECISION_M),
                                     kwargs.pop("require_connected", False), **kwargs)

    @classmethod
    def from_osm(cls, path, speeds: dict | None = None, use_maxspeed: bool = True,
                 **kwargs) -> "RoadNetwork":
        """Build a network from an OpenStreetMap extract (.osm, .osm.pbf, .osm.bz2).

        Drivable ``highway=*`` ways are read with pyosmium and mapped to the
        roads schema by :func:`geoplan.network.osm.read_osm_roads` (see there for
        the tag rules); the network is then built exactly as by
        :meth:`from_roads`.

        Examples
        --------
        A three-node OpenStreetMap way, written on the fly:

        >>> nodes = "".join(f'<node id="{i}" version="1" lat="29.5" lon="{120.9 + i / 100}"/>' for i in (1, 2, 3))
        >>> _ = (tmp / "line.osm").write_text(f'<osm version="0.6">{nodes}<way id="7" version="1"><nd ref="1"/>'
        ...     '<nd ref="2"/><nd ref="3"/><tag k="highway" v="tertiary"/></way></osm>', encoding="utf-8")
        >>> n = RoadNetwork.from_osm(tmp / "line.osm")
        >>> n.n_nodes, n.n_edges, round(float(n.edges["length_m"].sum()))  # one edge end to end, 0.02° at 29.5°N
        (2, 1, 1940)
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

        Examples
        --------
        >>> g = net.to_networkx()
        >>> g.number_of_nodes() == net.n_nodes, g.is_directed()
        (True, True)
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

        Examples
        --------
        >>> r = net.connectivity_report()
        >>> list(r.columns), len(r), int(r["n_edges"].iloc[0]) == net.n_edges
        (['component', 'n_nodes', 'n_edges', 'length_km', 'road_ids'], 1, True)
        """
        return self.components.copy()

    def check_connected(self) -> None:
        """Raise :class:`NetworkError` unless the network is one connected piece.

        Examples
        --------
        >>> net.check_connected()  # the sample's roads are one strongly connected graph
        """
        comps = self.components
        if len(comps) <= 1:
            return
        lines = [
            f"  - component {r.component}: {r.n_edges} road piece(s), {r.length_km:.2f} km (roads {r.road_ids})"
            for r in comps.iloc[1:11].itertuples()
        ]
        more = len(comps) - 11
        if more > 0:
            lines.append("  " + _("... and {n} more").format(n=more))
        raise NetworkError(
            _("The road network from {source} falls into {n} disconnected pieces; the main one has {edges} road "
              "pieces. Points on the others cannot reach it:").format(source=self.source, n=len(comps),
                                                                      edges=comps.n_edges.iloc[0])
            + "\n" + "\n".join(lines) + "\n"
            + _("Join the roads where they should meet (shared vertex at the junction) or remove the strays.")
        )

