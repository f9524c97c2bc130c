"""Benchmark of geoplan.network: nearest-facility travel time.

Usage::

    python scripts/bench/network.py [--county 330624] [--grid 1000] [--facilities 100]

1. Sample county: nearest home-care facility for every populated 100 m cell,
   geoplan vs networkx ``multi_source_dijkstra_path_length`` on the *same
   snapped inputs* (and pandana if installed). networkx is run on the graph
   in which every snapped cell and facility is a node splitting its road —
   the graph whose answers geoplan reproduces exactly — and, as a second,
   kinder baseline, on the bare road graph with numpy doing the last step.
2. Province scale: a perturbed grid (default 1000 × 1000 junctions ≈ 1 M
   nodes / 2 M edges, 300 m apart ≈ 90 000 km²), 100 facilities and one
   demand point per junction: geoplan's time and peak memory.

One run of each; wall-clock times vary with machine load.
"""

from __future__ import annotations

import argparse
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

from geoplan.network import DEFAULT_SPEEDS_KMH, RoadNetwork  # noqa: E402


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


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t


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


def county_benchmark(county: str):
    import networkx as nx
    from geoplan.sample import load_sample

    print(f"== Sample county {county}: nearest facility for every populated cell ==")
    c = load_sample(county)
    net, t_build = timed(RoadNetwork.from_roads, c["roads"], source=f"{county}.gpkg")
    fac = c["elderly_care"]
    cells = c.population.cell_centres()
    print(f"network: {net.n_nodes} nodes, {net.n_edges} edges (built in {t_build:.2f} s); "
          f"{len(fac)} facilities, {len(cells)} populated cells")

    (sd, t_snap_d) = timed(net.snap, cells, "cell_id")
    (sf, t_snap_f) = timed(net.snap, fac, "facility_id")
    t_snap = t_snap_d + t_snap_f
    res, t_geo = timed(net.nearest_facility, sd, sf)
    print(f"geoplan  snap {t_snap:.3f} s, route {t_geo:.4f} s  "
          f"({(res.status == 'ok').sum()} reached, {(res.status != 'ok').sum()} flagged)")

    g, t_nxbuild = timed(split_graph, net, {"F": sf, "D": sd})
    rev = g.reverse(copy=False)
    sources = [("F", i) for i in sf.index[sf["snapped"]]]
    dist, t_nx = timed(nx.multi_source_dijkstra_path_length, rev, sources, weight="seconds")
    targets = [("D", i) for i in sd.index]
    want, t_gather = timed(lambda: np.array([dist.get(t, np.inf) for t in targets]))
    t_nx_total = t_nx + t_gather
    ok = np.isfinite(want)
    agree = np.allclose(res["minutes"].to_numpy()[ok], want[ok] / 60, rtol=1e-9, atol=1e-9) \
        and ((res.status == "ok").to_numpy() == ok).all()
    print(f"networkx split graph: build {t_nxbuild:.2f} s, multi_source_dijkstra_path_length "
          f"{t_nx:.3f} s + lookup {t_gather:.3f} s; same minutes as geoplan: {agree}")

    # Kinder baseline: Dijkstra on the bare road graph, per-cell step in numpy
    # (ignores cells sharing an edge with a facility, so not exact).
    road = net.to_networkx().reverse(copy=True)
    s_ok = sf[sf["snapped"]]
    for fid, u, v, tu, tv, acc, one in zip(s_ok.index, s_ok.u, s_ok.v, s_ok.to_u_s, s_ok.to_v_s,
                                            s_ok.access_s, s_ok.oneway):
        road.add_edge(("F", fid), u, seconds=tu + acc)
        if not one:
            road.add_edge(("F", fid), v, seconds=tv + acc)

    def bare():
        d = nx.multi_source_dijkstra_path_length(road, [("F", f) for f in s_ok.index], weight="seconds")
        node = np.full(net.n_nodes, np.inf)
        keys = np.array([k for k in d if isinstance(k, (int, np.integer))])
        node[keys] = [d[k] for k in keys]
        s = sd[sd["snapped"]]
        via_v = np.where(s.oneway, np.inf, node[s.v.to_numpy()] + s.to_v_s)
        return np.minimum(node[s.u.to_numpy()] + s.to_u_s, via_v) + s.access_s

    _, t_bare = timed(bare)
    print(f"networkx road graph + numpy lookup: {t_bare:.4f} s")

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
            cxy = shapely.get_coordinates(cells.geometry)
            nodes = pn.get_node_ids(pd.Series(cxy[:, 0]), pd.Series(cxy[:, 1]))
            near = pn.nearest_pois(3 * 3600, "fac", num_pois=1)
            return near.loc[nodes.to_numpy(), 1]

        _, t_pd = timed(run_pandana)
        print(f"pandana (network build + snap to nearest node + nearest_pois; nodes only, no access leg): "
              f"{t_pd:.3f} s")
    except ImportError:
        print("pandana not installed; skipped")

    print("ratios (time of the other tool / geoplan):")
    print(f"  routing, same snapped inputs, vs networkx split graph dijkstra+lookup: {t_nx_total / t_geo:8.1f}x")
    print(f"  routing vs networkx split graph incl. building it:                    "
          f"{(t_nx_total + t_nxbuild) / t_geo:8.1f}x")
    print(f"  routing vs networkx road graph + numpy lookup:                        {t_bare / t_geo:8.1f}x")
    print(f"  end to end (snap + route) vs networkx split graph dijkstra+lookup:    "
          f"{t_nx_total / (t_snap + t_geo):8.1f}x")
    if t_pd is not None:
        print(f"  end to end vs pandana (whole pipeline):                               "
              f"{t_pd / (t_snap + t_geo):8.1f}x")


def province_benchmark(n: int, n_fac: int, seed: int = 0):
    print(f"\n== Province scale: perturbed {n} x {n} grid, {n_fac} facilities ==")
    rng = np.random.default_rng(seed)
    step = 300.0
    x0, y0 = 350_000.0, 3_000_000.0
    t0 = time.perf_counter()
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
    from pyproj import CRS

    edges = gpd.GeoDataFrame({"u": u, "v": v, "road_id": np.arange(len(u)).astype(str), "road_class": classes,
                              "speed_kmh": speed, "oneway": oneway, "length_m": length,
                              "seconds": length / (speed / 3.6)}, geometry=geoms, crs=4549)
    t_gen = time.perf_counter() - t0
    with PeakRSS() as mem_build:
        net, t_build = timed(RoadNetwork, xy, edges, CRS.from_epsg(4549), DEFAULT_SPEEDS_KMH, "synthetic grid")
        net._segments  # spatial index, built once per network
    t_index = time.perf_counter() - t0 - t_gen - t_build
    print(f"graph: {net.n_nodes} nodes, {net.n_edges} edges, {net.graph_seconds.nnz} directed arcs, "
          f"{len(net.components)} component(s); generated in {t_gen:.1f} s, graph built in {t_build:.1f} s, "
          f"snap index in {t_index:.1f} s")
    fac = gpd.GeoDataFrame({"fid": [f"F{i}" for i in range(n_fac)]},
                           geometry=shapely.points(rng.uniform(xy.min(0), xy.max(0), (n_fac, 2))), crs=4549)
    dem = gpd.GeoDataFrame({"did": np.arange(n * n)},
                           geometry=shapely.points(xy + rng.uniform(-150, 150, xy.shape)), crs=4549)
    with PeakRSS() as mem:
        sd, t_snap = timed(net.snap, dem, "did")
        sf, t_snapf = timed(net.snap, fac, "fid")
        res, t_route = timed(net.nearest_facility, sd, sf)
    print(f"geoplan nearest facility for {len(dem)} demand points: snap {t_snap + t_snapf:.2f} s, "
          f"route {t_route:.2f} s, total {t_snap + t_snapf + t_route:.2f} s")
    print(f"  status: {res.status.value_counts().to_dict()}; median {res.minutes.median():.1f} min")
    print(f"  peak RSS during the query {mem.peak / 2**20:.0f} MiB (+{(mem.peak - mem.base) / 2**20:.0f} MiB "
          f"over the loaded network); graph+index build peak {mem_build.peak / 2**20:.0f} MiB; "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--county", default="330624")
    ap.add_argument("--grid", type=int, default=1000, help="grid side (nodes = side²)")
    ap.add_argument("--facilities", type=int, default=100)
    ap.add_argument("--skip-province", action="store_true")
    args = ap.parse_args(argv)
    try:
        county_benchmark(args.county)
    except Exception as exc:  # the sample layers may not be built yet
        from geoplan.errors import GeoplanError

        if not isinstance(exc, GeoplanError):
            raise
        print(f"sample county skipped: {exc}")
    if not args.skip_province:
        province_benchmark(args.grid, args.facilities)


if __name__ == "__main__":
    main()
