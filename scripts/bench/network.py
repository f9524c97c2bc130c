"""Benchmark of geoplan.network.graph: nearest-facility travel time.

Usage::

    python scripts/bench/network.py [--county 330624] [--grid 1000] [--facilities 100] [--nx-grid 300]
    python scripts/bench/network.py --issue 1000 [--networkx] [--rounds 7]   # the performance issue's figures

1. Sample county: nearest home-care facility (``to_facility``) for every
   populated 100 m cell, geoplan against the baseline the network issue
   asks for: networkx ``multi_source_dijkstra_path_length`` from the
   facilities on the *same* road graph (facilities joined to the ends of
   their snapped edge by their part-edge + access time), followed by the
   same per-point step geoplan does, in numpy (access leg + the better end
   of the snapped edge, plus points sharing an edge with a facility), so
   both give identical minutes (checked). Two ratios are printed:

   * routing alone: both sides get the same snapped points; geoplan's time
     is ``nearest_facility`` on snapped frames *including* building its
     result table; networkx's is the Dijkstra plus the numpy step (no
     table, and no facility identity, which geoplan also returns);
   * whole pipeline (snap + route + table): geoplan's one
     ``nearest_facility`` call on the raw points, against networkx with the
     snapping a networkx user would write (shapely ``STRtree.query_nearest``
     + ``line_locate_point``), and against networkx fed by geoplan's snap.

   Building the networkx graph is timed apart and in no ratio (geoplan's
   network build is not in its times either). The split-graph reference of
   the tests (every point a node splitting its road) checks exactness;
   pandana runs if installed (it snaps to the nearest *node* and has no
   access leg, so it answers a coarser question).
2. Regional scale (``--nx-grid``, default 300 × 300 = 90 000 junctions):
   routing alone against the same networkx baseline, on a graph where the
   search itself, not the per-point work, takes the time; also the graph
   search alone (networkx's Dijkstra against geoplan's routing kernel).
3. Province scale: a perturbed grid (default 1000 × 1000 junctions ≈ 1 M
   nodes / 2 M edges, 300 m apart ≈ 90 000 km²), 100 facilities and one
   demand point per junction: geoplan's build, index, snap, route and table
   times, the total nearest-facility time and peak memory.

One run of each; wall-clock times vary with machine load, so the load
average is printed with them.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from geoplan.network.graph import DEFAULT_SPEEDS_KMH, RoadNetwork  # noqa: E402
from geoplan.network import index as snap_index  # noqa: E402


class PeakRSS:
    """Sample the process's resident memory in a thread; report the peak."""

    def __init__(self, interval=0.02):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.base = self.peak = self.proc.memory_info().rss

    def __enter__(self):
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def timed(fn, *a, repeat=1, **kw):
    """``fn(*a, **kw)`` and its wall time; the best of ``repeat`` runs (for
    the short timings, where one busy moment of the machine would decide)."""
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*a, **kw)
        best = min(best, time.perf_counter() - t)
    return out, best


def nx_timed(net, road_rev, sf, sd, repeat=3):
    """:func:`nx_to_facility`, best of ``repeat`` runs."""
    runs = [nx_to_facility(net, road_rev, sf, sd) for _ in range(repeat)]
    return runs[0][0], min(r[1] for r in runs), min(r[2] for r in runs)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def split_graph(net, snaps):
    """networkx graph with every snapped point inserted as a node splitting its edge."""
    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_nodes_from(range(net.n_nodes))
    on_edge = {}
    for tag, s in snaps.items():
        s = s[s["snapped"]]
        for pid, e, t, acc in zip(s.index, s["edge"], s["to_u_s"], s["access_s"]):
            on_edge.setdefault(int(e), []).append((t, (tag, pid), acc))
    edges = []
    for k, (u, v, sec, one) in enumerate(zip(net.edges["u"], net.edges["v"], net.edges["seconds"],
                                              net.edges["oneway"])):
        pts = on_edge.get(k, [])
        cuts = sorted({t for t, _, _ in pts})
        split = {t: ("on", k, t) for t in cuts}
        for t, key, acc in pts:
            edges += [(key, split[t], acc), (split[t], key, acc)]
        chain = [(0.0, u)] + [(t, split[t]) for t in cuts] + [(sec, v)]
        for (ta, a), (tb, b) in zip(chain[:-1], chain[1:]):
            edges.append((a, b, max(tb - ta, 0.0)))
            if not one:
                edges.append((b, a, max(tb - ta, 0.0)))
    g.add_weighted_edges_from(edges, weight="seconds")
    return g


def nx_to_facility(net, road_rev, sf, sd):
    """Seconds from every demand point to its nearest facility, the networkx way.

    ``road_rev`` is the reversed road graph (searching *from* the
    facilities gives times *towards* them). Facilities become nodes joined
    to the ends of their edge that lead to them; each demand point then
    leaves by the end(s) of its edge it may drive to — exactly geoplan's
    model, including points sharing an edge with a facility. The facility
    nodes are removed again afterwards (not timed).

    Returns
    -------
    best : numpy.ndarray
        Seconds per demand point (inf where none is reached).
    t_search, t_total : float
        Seconds in ``multi_source_dijkstra_path_length`` and in all of it.
    """
    import networkx as nx

    t_start = time.perf_counter()
    f = sf[sf["snapped"]]
    g = road_rev
    for fid, u, v, tu, tv, acc, one in zip(f.index, f.u, f.v, f.to_u_s, f.to_v_s, f.access_s, f.oneway):
        g.add_edge(("F", fid), int(u), seconds=tu + acc)
        if not one:
            g.add_edge(("F", fid), int(v), seconds=tv + acc)
    t0 = time.perf_counter()
    dist = nx.multi_source_dijkstra_path_length(g, [("F", i) for i in f.index], weight="seconds")
    t_search = time.perf_counter() - t0
    for fid in f.index:
        dist.pop(("F", fid), None)
    node = np.full(net.n_nodes, np.inf)
    node[np.fromiter(dist.keys(), np.int64, len(dist))] = np.fromiter(dist.values(), float, len(dist))
    ok = sd["snapped"].to_numpy()
    u = np.where(ok, sd["u"].to_numpy(), 0)
    v = np.where(ok, sd["v"].to_numpy(), 0)
    two = ok & ~sd["oneway"].to_numpy(bool)
    best = np.minimum(node[v] + sd["to_v_s"].to_numpy(), np.where(two, node[u] + sd["to_u_s"].to_numpy(), np.inf))
    best = np.where(ok, best + sd["access_s"].to_numpy(), np.inf)
    # Facilities on the demand point's own edge are reached along it.
    pairs = pd.DataFrame({"i": np.flatnonzero(ok), "edge": sd["edge"].to_numpy()[ok]}).merge(
        pd.DataFrame({"j": np.arange(len(f)), "edge": f["edge"].to_numpy()}), on="edge")
    if len(pairs):
        i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
        pd_, pf = sd["to_u_s"].to_numpy()[i], f["to_u_s"].to_numpy()[j]
        along = np.where(pf >= pd_, pf - pd_, np.where(two[i], pd_ - pf, np.inf))
        np.minimum.at(best, i, along + sd["access_s"].to_numpy()[i] + f["access_s"].to_numpy()[j])
    t_total = time.perf_counter() - t_start
    g.remove_nodes_from([("F", i) for i in f.index])
    return best, t_search, t_total


def strtree_snap(net, points, id_col, max_distance_m=1000.0, access_speed_kmh=5.0):
    """Snap with shapely's STRtree (what one would write next to networkx), same columns as ``snap``."""
    pts = points.to_crs(net.crs)
    geom = pts.geometry.to_numpy()
    e = net.edges
    lines = e.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    (pi, ei), dist = tree.query_nearest(geom, max_distance=max_distance_m, return_distance=True, all_matches=False)
    n = len(pts)
    edge = np.full(n, -1)
    edge[pi] = ei
    d = np.full(n, np.nan)
    d[pi] = dist
    ok = edge >= 0
    safe = np.where(ok, edge, 0)
    along = np.where(ok, shapely.line_locate_point(lines[safe], geom), np.nan)
    frac = np.clip(along / e["length_m"].to_numpy()[safe], 0, 1)
    sec = e["seconds"].to_numpy()[safe]
    return pd.DataFrame({
        "snapped": ok, "edge": edge, "u": e["u"].to_numpy()[safe], "v": e["v"].to_numpy()[safe],
        "to_u_s": frac * sec, "to_v_s": (1 - frac) * sec, "oneway": e["oneway"].to_numpy()[safe] | ~ok,
        "access_s": d / (access_speed_kmh / 3.6), "distance_to_road_m": d,
    }, index=pd.Index(pts[id_col]))


def result_table(index, seconds):
    """The per-point table a networkx user would produce (minutes and a status)."""
    ok = np.isfinite(seconds)
    return pd.DataFrame({"minutes": np.where(ok, seconds / 60.0, np.nan),
                         "status": np.where(ok, "ok", "not reached")}, index=index)


def county_benchmark(county: str):
    from geoplan.layers.sample import load_sample

    print(f"== Sample county {county}: nearest facility for every populated cell ({load()}) ==")
    c = load_sample(county)
    net, t_build = timed(RoadNetwork.from_roads, c["roads"], source=f"{county}.gpkg")
    fac = c["elderly_care"]
    cells = c.population.cell_centres()
    _, t_index = timed(lambda: net._segments)
    print(f"network: {net.n_nodes} nodes, {net.n_edges} edges (built in {t_build:.2f} s, snap index "
          f"{t_index:.3f} s); {len(fac)} facilities, {len(cells)} populated cells")

    # geoplan: the snapped frames (as a caller reusing them would), then the
    # same query in one call on the raw points.
    (sd, t_snap_d) = timed(net.snap, cells, "cell_id", repeat=3)
    (sf, t_snap_f) = timed(net.snap, fac, "facility_id", repeat=3)
    res, t_geo = timed(net.nearest_facility, sd, sf, repeat=3)
    res_raw, t_geo_all = timed(net.nearest_facility, cells, fac, "cell_id", "facility_id", repeat=3)
    print(f"geoplan   snap {t_snap_d + t_snap_f:.3f} s (with snapped geometries); nearest_facility on snapped "
          f"frames {t_geo:.4f} s; whole pipeline in one call on raw points {t_geo_all:.3f} s  "
          f"({(res.status == 'ok').sum()} reached, {(res.status != 'ok').sum()} flagged)")

    pts_d, pts_f = net._as_pts(sd, None, 0, 1, "d"), net._as_pts(sf, None, 0, 1, "f")
    _, t_kernel = timed(net._multi_source, pts_f, pts_d, True, repeat=3)
    print(f"          routing kernel alone (multi-source Dijkstra + per-point step) {t_kernel:.4f} s")
    road_rev, t_nxgraph = timed(lambda: net.to_networkx().reverse(copy=True))
    want, _, t_nx = nx_timed(net, road_rev, sf, sd)
    _, t_nx_table = timed(result_table, sd.index, want, repeat=3)
    ok = np.isfinite(want)
    agree = bool(np.allclose(res["minutes"].to_numpy()[ok], want[ok] / 60, rtol=1e-9, atol=1e-9)
                 and ((res.status == "ok").to_numpy() == ok).all()
                 and np.allclose(res_raw["minutes"].to_numpy()[ok], want[ok] / 60, rtol=1e-9, atol=1e-9))
    print(f"networkx  graph {t_nxgraph:.3f} s (not counted); multi_source_dijkstra_path_length + numpy "
          f"lookup {t_nx:.4f} s; table {t_nx_table:.4f} s; same minutes as geoplan: {agree}")
    (st_d, t_st_d) = timed(strtree_snap, net, cells, "cell_id", repeat=3)
    (st_f, t_st_f) = timed(strtree_snap, net, fac, "facility_id", repeat=3)
    want_st, _, t_nx_st = nx_timed(net, road_rev, st_f, st_d)
    _, t_st_table = timed(result_table, st_d.index, want_st, repeat=3)
    t_nx_st_all = t_st_d + t_st_f + t_nx_st + t_st_table
    print(f"networkx + shapely STRtree snap: snap {t_st_d + t_st_f:.3f} s, route {t_nx_st:.4f} s, "
          f"table {t_st_table:.4f} s (same edge as geoplan for "
          f"{(st_d['edge'].to_numpy() == sd['edge'].to_numpy()).mean():.1%} of cells; ties differ)")

    # Exactness against the tests' reference: every point a node splitting its road.
    import networkx as nx

    g, t_split = timed(split_graph, net, {"F": sf, "D": sd})
    dist = nx.multi_source_dijkstra_path_length(g.reverse(copy=False), [("F", i) for i in sf.index[sf["snapped"]]],
                                                weight="seconds")
    ref = np.array([dist.get(("D", i), np.inf) for i in sd.index])
    exact = bool(np.allclose(res["minutes"].to_numpy()[np.isfinite(ref)], ref[np.isfinite(ref)] / 60,
                             rtol=1e-9, atol=1e-9) and (np.isfinite(ref) == ok).all())
    print(f"split-graph reference (built in {t_split:.1f} s): same minutes as geoplan: {exact}")

    t_pd = None
    try:
        import pandana

        e = net.edges
        two = ~e["oneway"].to_numpy()
        fr = np.r_[e.u.to_numpy(), e.v.to_numpy()[two]]
        to = np.r_[e.v.to_numpy(), e.u.to_numpy()[two]]
        w = np.r_[e.seconds.to_numpy(), e.seconds.to_numpy()[two]]

        def run_pandana():
            pn = pandana.Network(pd.Series(net.node_xy[:, 0]), pd.Series(net.node_xy[:, 1]),
                                 pd.Series(fr), pd.Series(to), pd.DataFrame({"s": w}), twoway=False)
            fxy = shapely.get_coordinates(fac.to_crs(net.crs).geometry)
            pn.set_pois("fac", 3 * 3600, 1, pd.Series(fxy[:, 0]), pd.Series(fxy[:, 1]))
            cxy = shapely.get_coordinates(cells.to_crs(net.crs).geometry)
            nodes = pn.get_node_ids(pd.Series(cxy[:, 0]), pd.Series(cxy[:, 1]))
            near = pn.nearest_pois(3 * 3600, "fac", num_pois=1)
            return near.loc[nodes.to_numpy(), 1]

        _, t_pd = timed(run_pandana)
        print(f"pandana (network build + snap to nearest node + nearest_pois; nodes only, no access leg, "
              f"not the same answer): {t_pd:.3f} s")
    except ImportError:
        print("pandana not installed; skipped")

    print(f"ratios, time of the other tool / geoplan's ({load()}):")
    print(f"  routing alone, same snapped points: networkx dijkstra + numpy lookup / geoplan routing kernel:"
          f"                  {t_nx / t_kernel:7.1f}x")
    print(f"  routing + table, same snapped points: networkx (+ its table) / geoplan nearest_facility:"
          f"                    {(t_nx + t_nx_table) / t_geo:7.1f}x")
    print(f"  whole pipeline, raw points to table: networkx + STRtree snap / geoplan one call:"
          f"                          {t_nx_st_all / t_geo_all:7.1f}x")
    print(f"  whole pipeline, raw points to table: networkx fed by geoplan's snap / geoplan one call:"
          f"                      {(t_snap_d + t_snap_f + t_nx + t_nx_table) / t_geo_all:7.1f}x")
    if t_pd is not None:
        print(f"  whole pipeline incl. network build: pandana / geoplan (build + one call; coarser answer):"
              f"                    {t_pd / (t_build + t_geo_all):7.1f}x")


def synthetic_grid(n: int, n_fac: int, seed: int = 0):
    """Perturbed n × n grid of junctions 300 m apart: node coordinates, edges, facilities, demand points."""
    rng = np.random.default_rng(seed)
    step = 300.0
    x0, y0 = 350_000.0, 3_000_000.0
    gx, gy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    xy = np.c_[gx.ravel() * step + x0, gy.ravel() * step + y0] + rng.uniform(-90, 90, (n * n, 2))
    node = np.arange(n * n).reshape(n, n)
    u = np.r_[node[:-1, :].ravel(), node[:, :-1].ravel()]
    v = np.r_[node[1:, :].ravel(), node[:, 1:].ravel()]
    keep = rng.random(len(u)) > 0.02        # a few missing links, so some detours and islands
    u, v = u[keep], v[keep]
    classes = np.array(list(DEFAULT_SPEEDS_KMH))[rng.integers(1, 7, len(u))]
    speed = np.array([DEFAULT_SPEEDS_KMH[c] for c in classes])
    oneway = rng.random(len(u)) < 0.05
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    length = shapely.length(geoms)
    edges = gpd.GeoDataFrame({"u": u, "v": v, "road_id": np.arange(len(u)).astype(str), "road_class": classes,
                              "speed_kmh": speed, "oneway": oneway, "length_m": length,
                              "seconds": length / (speed / 3.6)}, geometry=geoms, crs=4549)
    fac = gpd.GeoDataFrame({"fid": [f"F{i}" for i in range(n_fac)]},
                           geometry=shapely.points(rng.uniform(xy.min(0), xy.max(0), (n_fac, 2))), crs=4549)
    dem = gpd.GeoDataFrame({"did": np.arange(n * n)},
                           geometry=shapely.points(xy + rng.uniform(-150, 150, xy.shape)), crs=4549)
    return xy, edges, fac, dem


def regional_benchmark(n: int, n_fac: int):
    """Routing alone on a graph big enough for the search to matter (networkx fits in memory)."""
    from pyproj import CRS

    print(f"\n== Regional scale, routing alone: perturbed {n} x {n} grid, {n_fac} facilities ({load()}) ==")
    xy, edges, fac, dem = synthetic_grid(n, n_fac, seed=1)
    net = RoadNetwork(xy, edges, CRS.from_epsg(4549), DEFAULT_SPEEDS_KMH, "synthetic grid")
    sd, sf = net.snap(dem, "did"), net.snap(fac, "fid")
    net.graph_seconds_t  # cached transpose, as after any first query
    res, t_geo = timed(net.nearest_facility, sd, sf, repeat=3)
    pts_d, pts_f = net._as_pts(sd, None, 0, 1, "d"), net._as_pts(sf, None, 0, 1, "f")
    _, t_kernel = timed(net._multi_source, pts_f, pts_d, True, repeat=3)
    road_rev, t_nxgraph = timed(lambda: net.to_networkx().reverse(copy=True))
    want, t_search, t_nx = nx_timed(net, road_rev, sf, sd)
    ok = np.isfinite(want)
    agree = bool(np.allclose(res["minutes"].to_numpy()[ok], want[ok] / 60, rtol=1e-9, atol=1e-9)
                 and ((res.status == "ok").to_numpy() == ok).all())
    print(f"{net.n_nodes} nodes, {net.n_edges} edges, {len(dem)} demand points; same minutes: {agree}")
    print(f"geoplan nearest_facility on snapped frames {t_geo:.3f} s (routing kernel {t_kernel:.3f} s, rest is "
          f"the table); networkx graph {t_nxgraph:.1f} s (not counted), multi_source_dijkstra_path_length "
          f"{t_search:.3f} s, with numpy lookup {t_nx:.3f} s")
    _, t_nx_table = timed(result_table, sd.index, want, repeat=3)
    print(f"ratios ({load()}):")
    print(f"  routing alone: networkx dijkstra + numpy lookup / geoplan routing kernel: {t_nx / t_kernel:7.1f}x")
    print(f"  routing + table: networkx (+ its table) / geoplan nearest_facility:       "
          f"{(t_nx + t_nx_table) / t_geo:7.1f}x")
    print(f"  graph search: networkx dijkstra alone / geoplan routing kernel:            {t_search / t_kernel:7.1f}x")


def province_benchmark(n: int, n_fac: int, seed: int = 0):
    print(f"\n== Province scale: perturbed {n} x {n} grid, {n_fac} facilities ({load()}) ==")
    from pyproj import CRS

    t0 = time.perf_counter()
    xy, edges, fac, dem = synthetic_grid(n, n_fac, seed)
    t_gen = time.perf_counter() - t0
    with PeakRSS() as mem_build:
        net, t_build = timed(RoadNetwork, xy, edges, CRS.from_epsg(4549), DEFAULT_SPEEDS_KMH, "synthetic grid")
        _, t_index = timed(lambda: net._segments)   # spatial index, built once per network
    print(f"graph: {net.n_nodes} nodes, {net.n_edges} edges, {net.graph_seconds.nnz} directed arcs, "
          f"{len(net.components)} component(s); generated in {t_gen:.1f} s")
    print(f"  build graph {t_build:.2f} s, snap index {t_index:.2f} s; peak RSS {mem_build.peak / 2**20:.0f} MiB "
          f"(+{(mem_build.peak - mem_build.base) / 2**20:.0f} MiB over the generated input)")
    with PeakRSS() as mem:
        sd, t_snap_d = timed(net.snap, dem, "did")
        sf, t_snap_f = timed(net.snap, fac, "fid")
        # Routing towards facilities searches the transposed graph, made
        # once per network on first use: counted as routing.
        _, t_transpose = timed(lambda: net.graph_seconds_t)
        res, t_nf = timed(net.nearest_facility, sd, sf)
    # nearest_facility's parts, run again one by one: reading the snapped
    # frames, the routing kernel (multi-source Dijkstra + per-point step)
    # and the result table.
    t0 = time.perf_counter()
    pts_f, pts_d = net._as_pts(sf, None, 0, 1, "f"), net._as_pts(sd, None, 0, 1, "d")
    t_read = time.perf_counter() - t0
    (best, who), t_kernel = timed(net._multi_source, pts_f, pts_d, True)
    _, t_table = timed(net._nearest_table, pts_f, pts_d, best, who, 1000.0, "to_facility")
    t_snap = t_snap_d + t_snap_f
    print(f"nearest facility for {len(dem)} demand points x {n_fac} facilities:")
    print(f"  snap {t_snap:.2f} s (with snapped geometries); nearest_facility {t_nf:.2f} s = read snapped frames "
          f"{t_read:.2f} s + route {t_kernel:.2f} s + table {t_table:.2f} s (run apart); transposed graph "
          f"{t_transpose:.2f} s once per network; total {t_snap + t_transpose + t_nf:.2f} s")
    counts = {str(k): int(c) for k, c in res.status.value_counts().items()}
    print(f"  status: {counts}; median {res.minutes.median():.1f} min")
    print(f"  peak RSS during the query {mem.peak / 2**20:.0f} MiB (+{(mem.peak - mem.base) / 2**20:.0f} MiB "
          f"over the loaded network)")
    del sd, sf, res
    with PeakRSS() as mem1:
        res1, t_one = timed(net.nearest_facility, dem, fac, "did", "fid")
    print(f"  one call on the raw points (snap + route + table, no snapped geometries): {t_one:.2f} s, "
          f"peak RSS {mem1.peak / 2**20:.0f} MiB")
    print(f"  from nothing (build + index + one call): {t_build + t_index + t_one:.2f} s; process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB ({load()})")


def issue_benchmark(n: int, n_fac: int, with_networkx: bool, seed: int = 0, rounds: int = 7):
    """The issue's figures: a regular n × n grid of roads 100 m apart (2n(n−1) LineStrings in a projected
    CRS), n² demand points off the roads, ``n_fac`` facilities; ``from_roads`` time and peak memory;
    end-to-end nearest facility and the search alone against bare scipy Dijkstra on the same graph."""
    from scipy.sparse.csgraph import dijkstra

    print(f"\n== Issue grid: {n} x {n} junctions 100 m apart, {n * n} demand points, {n_fac} facilities "
          f"({load()}) ==")
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    xy = np.c_[gx.ravel() * 100.0 + 400_000.0, gy.ravel() * 100.0 + 3_000_000.0]
    node = np.arange(n * n).reshape(n, n)
    u = np.r_[node[:-1, :].ravel(), node[:, :-1].ravel()]
    v = np.r_[node[1:, :].ravel(), node[:, 1:].ravel()]
    roads = gpd.GeoDataFrame({"road_id": np.arange(len(u)).astype(str), "road_class": "tertiary"},
                             geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)), crs=4549)
    del u, v
    with PeakRSS() as mem:
        net, t_build = timed(RoadNetwork.from_roads, roads)
    print(f"from_roads on {len(roads):,} LineStrings: {t_build:.1f} s, peak RSS {mem.peak / 2**20:.0f} MiB "
          f"(+{(mem.peak - mem.base) / 2**20:.0f} MiB over the input); {net.n_nodes:,} nodes, {net.n_edges:,} edges")
    del roads
    dem = gpd.GeoDataFrame({"did": np.arange(n * n)},
                           geometry=shapely.points(xy + rng.uniform(5, 45, xy.shape)), crs=4549)
    fac_nodes = rng.choice(n * n, n_fac, replace=False)
    fac = gpd.GeoDataFrame({"fid": [f"F{i}" for i in range(n_fac)]},
                           geometry=shapely.points(xy[fac_nodes] + 3.0), crs=4549)
    _, t_index = timed(lambda: net._segments)
    _, t_transpose = timed(lambda: net.graph_seconds_t)
    pts_f, pts_d = net._as_pts(fac, "fid", 1000.0, 5.0, "f"), net._as_pts(dem, "did", 1000.0, 5.0, "d")
    # The three timings take turns, round after round: the same search runs up to twice as long at
    # some moments as at others on a shared machine, so timing one after the other would let such a
    # moment decide a ratio. Each is the best of the rounds; the per-round ratios are shown as well.
    bare, search, e2e, e2e_numpy = [], [], [], []
    compiled = snap_index._snapgrid
    for _ in range(rounds):
        bare.append(timed(dijkstra, net.graph_seconds_t, directed=True, indices=fac_nodes, min_only=True)[1])
        search.append(timed(net._multi_source, pts_f, pts_d, True)[1])
        res, t = timed(net.nearest_facility, dem, fac, "did", "fid")
        e2e.append(t)
    if compiled is not None:
        # The numpy version of the snap grid, which installs without a C compiler use: rounds of their
        # own, after the others, so as not to change the moment the three above are timed in.
        snap_index._snapgrid = None
        try:
            for _ in range(min(rounds, 3)):
                e2e_numpy.append(timed(net.nearest_facility, dem, fac, "did", "fid")[1])
        finally:
            snap_index._snapgrid = compiled
    t_bare, t_search, t_e2e = min(bare), min(search), min(e2e)
    per_round = np.array(e2e) / np.array(bare)
    print(f"  snap index {t_index:.2f} s and transposed graph {t_transpose:.2f} s, once per network (not counted)")
    print(f"  bare scipy dijkstra(min_only) from the facilities' nodes: {t_bare:.3f} s (best of {rounds}; "
          f"slowest {max(bare):.3f} s)")
    print(f"  geoplan search alone (multi-source Dijkstra from the snapped facilities + per-point step): "
          f"{t_search:.3f} s = {t_search / t_bare:.2f}x bare")
    print(f"  geoplan nearest_facility end to end (snap {n * n:,} points + search + table): {t_e2e:.3f} s = "
          f"{t_e2e / t_bare:.2f}x bare (target <= 2x: {'met' if t_e2e <= 2 * t_bare else 'NOT met'}); "
          f"per round {per_round.min():.2f}-{per_round.max():.2f}x, median {np.median(per_round):.2f}x; "
          f"status {res.status.value_counts().to_dict()}")
    if compiled is not None:
        print(f"    (snap grid compiled, geoplan.network._snapgrid; its numpy version, which an install without a C "
              f"compiler uses: {min(e2e_numpy):.3f} s end to end, best of {len(e2e_numpy)} rounds after these)")
    else:
        print("    (snap grid: numpy version, geoplan.network._snapgrid was not built)")
    if with_networkx:
        import networkx as nx

        g, t_g = timed(lambda: net.to_networkx().reverse(copy=False))
        src = {int(j) for j in fac_nodes}
        _, t_nx = timed(nx.multi_source_dijkstra_path_length, g, src, weight="seconds")
        print(f"  networkx multi_source_dijkstra_path_length (search alone, from the same nodes): {t_nx:.2f} s = "
              f"{t_nx / t_bare:.1f}x bare (graph built in {t_g:.1f} s, not counted)")
    else:
        print("  networkx: not run (--networkx; the issue measured 7.0 s for its search alone)")
    networkit_search(net, fac_nodes, t_bare)
    try:
        import pandana  # noqa: F401
        print("  pandana is installed but not run here: its contraction hierarchy took 274 s in the issue")
    except ImportError:
        print("  pandana: not installed (contraction-hierarchy preprocessing took 274 s in the issue)")
    print(f"  ({load()})")


def networkit_search(net, fac_nodes, t_bare):
    """The compiled search the issue asks to weigh against scipy's: NetworKit's Dijkstra (C++, PyPI wheels),
    single-source from a super source joined to the facilities' nodes by zero-length arcs (NetworKit has no
    multi-source Dijkstra). Optional: runs only if ``networkit`` is installed; geoplan does not depend on it."""
    try:
        import networkit as nk
    except ImportError:
        print("  networkit: not installed (pip install networkit to compare its Dijkstra)")
        return
    from scipy.sparse.csgraph import dijkstra

    g = net.graph_seconds_t.tocoo()
    n = net.n_nodes

    def build():
        G = nk.graph.Graph(n + 1, weighted=True, directed=True)
        G.addEdges((np.r_[g.data, np.zeros(len(fac_nodes))],
                    (np.r_[g.row, np.full(len(fac_nodes), n)].astype(np.uint64),
                     np.r_[g.col, fac_nodes].astype(np.uint64))))
        return G

    G, t_g = timed(build)

    def search():
        d = nk.distance.Dijkstra(G, n, storePaths=False)
        d.run()
        return np.asarray(d.getDistances())[:n]

    dist, t_nk = timed(search, repeat=3)
    ref = dijkstra(net.graph_seconds_t, directed=True, indices=fac_nodes, min_only=True)
    same = np.allclose(dist[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-12, atol=1e-9)
    print(f"  networkit Dijkstra from a super source (search alone): {t_nk:.3f} s = {t_nk / t_bare:.1f}x bare scipy "
          f"(graph built in {t_g:.1f} s, not counted; same times: {same})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--county", default="330624")
    ap.add_argument("--grid", type=int, default=1000, help="grid side (nodes = side²)")
    ap.add_argument("--facilities", type=int, default=100)
    ap.add_argument("--skip-province", action="store_true")
    ap.add_argument("--nx-grid", type=int, default=300,
                    help="grid side for the regional routing comparison with networkx (0: skip)")
    ap.add_argument("--issue", type=int, default=0, metavar="SIDE",
                    help="only the issue's figures on a SIDE x SIDE grid 100 m apart (1000: 1M junctions)")
    ap.add_argument("--networkx", action="store_true", help="with --issue: also time networkx's search")
    ap.add_argument("--rounds", type=int, default=7, help="with --issue: rounds of the timings (best of them)")
    args = ap.parse_args(argv)
    if args.issue:
        issue_benchmark(args.issue, args.facilities, args.networkx, rounds=args.rounds)
        return
    try:
        county_benchmark(args.county)
    except Exception as exc:  # the sample layers may not be built yet
        from geoplan.errors import GeoplanError

        if not isinstance(exc, GeoplanError):
            raise
        print(f"sample county skipped: {exc}")
    if args.nx_grid:
        regional_benchmark(args.nx_grid, args.facilities)
    if not args.skip_province:
        province_benchmark(args.grid, args.facilities)


if __name__ == "__main__":
    main()
