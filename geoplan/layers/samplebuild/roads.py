"""Illustrative road network: a connected, noded network of seats, villages and exits.

Shortest paths, connected components and the spanning tree are
``scipy.sparse.csgraph`` calls on the candidate-edge graph.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from geoplan.layers.samplebuild.common import S_ROAD, rng_for


def _wiggle(p, q, rng, amp_frac=0.04, max_amp=250.0) -> shapely.LineString:
    p, q = np.asarray(p, float), np.asarray(q, float)
    v = q - p
    length = float(np.hypot(*v))
    n = max(2, int(length / 150))
    t = np.linspace(0, 1, n + 1)
    nrm = np.array([-v[1], v[0]]) / max(length, 1e-9)
    amp = min(amp_frac * length, max_amp)
    ph1, ph2 = rng.uniform(0, 2 * np.pi, 2)
    k2 = rng.integers(2, 5)
    off = amp * np.sin(np.pi * t) * (0.7 * np.sin(np.pi * t + ph1) + 0.3 * np.sin(k2 * np.pi * t + ph2))
    xy = p[None, :] + t[:, None] * v[None, :] + off[:, None] * nrm[None, :]
    xy[0], xy[-1] = p, q
    return shapely.LineString(xy)


def _crossing_conflicts(geoms: list, ends: list) -> set[int]:
    """Indices of lines that touch another line anywhere except at a shared end node."""
    arr = np.asarray(geoms)
    tree = shapely.STRtree(arr)
    a, b = tree.query(arr, predicate="intersects")
    bad = set()
    for i, j in zip(a, b):
        if i >= j:
            continue
        common = set(ends[i]) & set(ends[j])
        inter = shapely.intersection(arr[i], arr[j])
        pts = shapely.get_coordinates(inter)
        if all(tuple(c) in common for c in map(tuple, pts)) and inter.geom_type in ("Point", "MultiPoint"):
            continue
        bad.update((int(i), int(j)))
    return bad


def build_roads(outline, seats, seat_tw, villages: pd.DataFrame, crossings, code, kinds, tw):
    """A connected road network (metric coordinates).

    Nodes are the county-seat street grid, township seats, villages and the
    points where roads cross the county's shared lines; edges come from a
    Delaunay triangulation restricted to the county, classified by shortest
    paths (exits → trunk/primary, township seats → secondary), a spanning
    tree (tertiary/unclassified) and a few loops. A motorway is added as a
    separate grade-separated line with one interchange.
    """
    rng = rng_for(code, S_ROAD)
    seat = np.asarray(seats[seat_tw], float)
    # County-seat grid of streets, rotated a little; its centre is the seat.
    theta = rng.uniform(-0.4, 0.4)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    spacing = 330.0
    gnodes = {}
    for i in range(-2, 3):
        for j in range(-2, 3):
            off = rot @ np.array([i * spacing, j * spacing])
            if (i, j) != (0, 0):
                off = off + rng.uniform(-25, 25, 2)
            q = seat + off
            if outline.contains(shapely.Point(q)):
                gnodes[(i, j)] = (round(q[0], 3), round(q[1], 3))
    hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(list(gnodes.values()))), -20)
    perim = [ij for ij in gnodes if max(abs(ij[0]), abs(ij[1])) == 2]

    edges: dict[tuple, dict] = {}

    def add_edge(u, v, cls, **kw):
        key = (u, v) if u <= v else (v, u)
        if key not in edges:
            edges[key] = dict(u=u, v=v, cls=cls, **kw)
        return key

    ew_names = ["人民路", "解放路", "和平路", "建设路", "文化路"]
    ns_names = ["东风路", "新华路", "中心大道", "长春路", "江滨路"]
    loop_block = [(0, 0), (1, 0), (1, 1), (0, 1)]
    loop_ok = all(n in gnodes for n in loop_block)
    loop_edges = set()
    if loop_ok:
        for m in range(4):
            a_, b_ = loop_block[m], loop_block[(m + 1) % 4]
            loop_edges.add((gnodes[a_], gnodes[b_]))
    for (i, j), u in gnodes.items():
        for di, dj in ((1, 0), (0, 1)):
            nb = (i + di, j + dj)
            if nb not in gnodes:
                continue
            v = gnodes[nb]
            name = ew_names[j + 2] if dj == 0 else ns_names[i + 2]
            if (u, v) in loop_edges or (v, u) in loop_edges:
                directed = (u, v) if (u, v) in loop_edges else (v, u)
                edges[tuple(sorted((u, v)))] = dict(u=directed[0], v=directed[1], cls="residential",
                                                    name=name, oneway=True, speed=20.0)
            else:
                add_edge(u, v, "residential", name=name)

    # Delaunay over the rest of the nodes.
    node_kind: dict[tuple, str] = {}
    pts = []
    for k, s in enumerate(seats):
        if k == seat_tw:
            continue
        xy = (round(s[0], 3), round(s[1], 3))
        if not shapely.contains(hull, shapely.Point(xy)):
            pts.append(xy)
            node_kind[xy] = "seat"
    for v in villages.itertuples():
        xy = (round(v.x, 3), round(v.y, 3))
        if shapely.contains(hull.buffer(150), shapely.Point(xy)):
            continue
        pts.append(xy)
        node_kind[xy] = "village" if v.kind == "村" else "community"
    exits = []
    for x, y, cls in crossings:
        xy = (round(x, 3), round(y, 3))
        pts.append(xy)
        node_kind[xy] = "exit"
        exits.append((xy, cls))
    for ij in perim:
        pts.append(gnodes[ij])
        node_kind[gnodes[ij]] = "grid"
    pts_arr = np.array(pts)
    tri = Delaunay(pts_arr)
    ok_area = shapely.buffer(outline, 150)
    shapely.prepare(ok_area)
    cand = set()
    for s in tri.simplices:
        for a_, b_ in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2])):
            cand.add((min(a_, b_), max(a_, b_)))
    cand = sorted(cand)
    segs = shapely.linestrings([[pts_arr[a_], pts_arr[b_]] for a_, b_ in cand])
    lens = shapely.length(segs)
    good = (shapely.within(segs, ok_area) & ~shapely.intersects(segs, hull) & (lens < 12_000))
    graph: dict[tuple, dict[tuple, float]] = {}

    def g_add(u, v, w):
        graph.setdefault(u, {})[v] = w
        graph.setdefault(v, {})[u] = w

    dela = []
    for (a_, b_), ok, ln_ in zip(cand, good, lens):
        u, v = pts[a_], pts[b_]
        if not ok or (node_kind[u] == "grid" and node_kind[v] == "grid"):
            continue
        if node_kind[u] == "exit" and node_kind[v] == "exit":
            continue
        dela.append((u, v, float(ln_)))
        g_add(u, v, float(ln_))
    for e in edges.values():
        g_add(e["u"], e["v"], float(np.hypot(e["u"][0] - e["v"][0], e["u"][1] - e["v"][1])))
    # Join components if the restriction to the county split the graph.
    comp = _components(graph, pts + list(gnodes.values()))
    while len(set(comp.values())) > 1:
        main = comp[gnodes[(0, 0)]]
        inside = [n for n in comp if comp[n] == main]
        outside = [n for n in comp if comp[n] != main]
        kd = cKDTree(np.array(inside))
        d, idx = kd.query(np.array(outside))
        o = int(np.argmin(d))
        u, v = outside[o], inside[idx[o]]
        dela.append((u, v, float(d[o])))
        g_add(u, v, float(d[o]))
        comp = _components(graph, list(comp))

    seat_node = gnodes[(0, 0)]
    dist, prev = _dijkstra(graph, seat_node)
    rank = {"motorway": 0, "trunk": 1, "primary": 2, "secondary": 3, "tertiary": 4, "unclassified": 5,
            "residential": 6}
    cls_of: dict[tuple, str] = {}
    name_of: dict[tuple, str] = {}

    def mark_path(target, cls, name):
        n = target
        while n != seat_node and n in prev:
            key = tuple(sorted((n, prev[n])))
            if key not in cls_of or rank[cls] < rank[cls_of[key]]:
                cls_of[key] = cls
                name_of[key] = name
            n = prev[n]

    gnums = sorted(rng.choice([104, 235, 330, 527], size=2, replace=False).tolist())
    snum = iter(rng.choice(np.arange(201, 330), size=40, replace=False).tolist())
    xnum = iter(rng.choice(np.arange(301, 399), size=60, replace=False).tolist())
    # One motorway runs through the county between the two motorway-class
    # crossings farthest apart (any two exits if there are fewer); other
    # motorway-class crossings carry a trunk road instead.
    motor = [xy for xy, cls in exits if cls == "motorway"]
    pool = motor if len(motor) >= 2 else [xy for xy, _ in exits]
    far = sorted(((np.hypot(a_[0] - b_[0], a_[1] - b_[1]), a_, b_)
                  for a_ in pool for b_ in pool if a_ < b_), reverse=True)
    motor_exits = [far[0][1], far[0][2]] if far else []
    trunk_i = 0
    for xy, cls in exits:
        c = cls if cls != "motorway" else "trunk"
        if xy in motor_exits:
            c = "primary"
        if c == "trunk":
            name = f"G{gnums[trunk_i % 2]}"
            trunk_i += 1
        elif c == "primary":
            name = f"S{next(snum)}"
        elif c == "secondary":
            name = f"X{next(xnum)}"
        else:
            name = None
        mark_path(xy, c, name)
    for k, s in enumerate(seats):
        if k == seat_tw:
            continue
        xy = (round(s[0], 3), round(s[1], 3))
        if xy in graph:
            mark_path(xy, "secondary", f"X{next(xnum)}")

    # Spanning tree for the rest; a few extra short edges make loops.
    tree_edges = _mst(graph)
    ynum = 1
    out = []
    for key, e in edges.items():
        cls = cls_of.get(key, e["cls"])
        nm = name_of.get(key, e.get("name")) if cls != "residential" else e.get("name")
        out.append(dict(u=e["u"], v=e["v"], cls=cls, name=nm, oneway=e.get("oneway", False),
                        speed=e.get("speed"), kind="grid"))
    for u, v, ln_ in dela:
        key = tuple(sorted((u, v)))
        if key in cls_of:
            cls, nm = cls_of[key], name_of[key]
        elif key in tree_edges:
            far_end = "seat" in (node_kind.get(u), node_kind.get(v)) or ln_ > 2500
            cls = "tertiary" if far_end else "unclassified"
            nm = f"Y{ynum:03d}" if cls == "tertiary" or rng.random() < 0.5 else None
            ynum += 1
        elif ln_ < 2000 and rng.random() < 0.12:
            cls, nm = "unclassified", None
        else:
            continue
        speed = None
        if cls in ("tertiary", "unclassified") and rng.random() < 0.06:
            speed = float(rng.choice([20.0, 25.0, 30.0]))
        out.append(dict(u=u, v=v, cls=cls, name=nm, oneway=False, speed=speed, kind="dela"))

    # Stubs continuing 300 m into the neighbour at every exit.
    for xy, cls in exits:
        p = np.array(xy)
        t = np.array([seat[0] - p[0], seat[1] - p[1]])
        t /= np.hypot(*t)
        outer = None
        for sgn in (-1, 1):
            q = p + sgn * 300 * t
            if not outline.contains(shapely.Point(q)):
                outer = (round(q[0], 3), round(q[1], 3))
                break
        if outer is None:
            outer = (round(p[0] - 300 * t[0], 3), round(p[1] - 300 * t[1], 3))
        nm = None
        for r in out:
            if xy in (r["u"], r["v"]) and r["name"]:
                nm = r["name"]
                break
        c = "motorway" if xy in motor_exits else next(
            (r["cls"] for r in sorted(out, key=lambda r: rank[r["cls"]]) if xy in (r["u"], r["v"])), "tertiary")
        if xy in motor_exits:
            continue
        out.append(dict(u=xy, v=outer, cls=c, name=nm, oneway=False, speed=None, kind="stub"))

    # Wiggle the lines; straighten any whose wiggle would cross another line
    # (straight Delaunay edges never cross, so this terminates).
    geoms, ends = [], []
    for r in out:
        if r["kind"] == "grid":
            g = shapely.LineString([r["u"], r["v"]])
        else:
            g = _wiggle(r["u"], r["v"], rng, amp_frac=0.05 if r["cls"] in ("tertiary", "unclassified") else 0.03)
        geoms.append(g)
        ends.append((r["u"], r["v"]))
    straight = set()
    for _ in range(20):
        bad = _crossing_conflicts(geoms, ends) - straight
        if not bad:
            break
        for i in bad:
            geoms[i] = shapely.LineString([out[i]["u"], out[i]["v"]])
            straight.add(i)

    # Motorway: grade-separated, touching the network only at its exits and
    # at one interchange 1.5–4 km from the seat.
    if len(motor_exits) >= 2:
        cands = [n for n in graph if node_kind.get(n) in ("village", "seat", "community")
                 and 1500 < np.hypot(n[0] - seat[0], n[1] - seat[1]) < 4000]
        if not cands:
            cands = [gnodes[ij] for ij in perim]
        a_, b_ = np.array(motor_exits[0]), np.array(motor_exits[1])
        ab = b_ - a_

        def off_line(n):
            n = np.array(n)
            return abs(ab[0] * (n - a_)[1] - ab[1] * (n - a_)[0]) / np.hypot(*ab) + 0.3 * np.hypot(*(n - seat))
        inter = min(cands, key=off_line)
        mnum = int(rng.choice([15, 1512, 2201]))
        for ex in motor_exits:
            g = _wiggle(ex, inter, rng, amp_frac=0.035, max_amp=700)
            if not shapely.within(g, shapely.buffer(outline, 1500)):
                g = _motorway_via_path(graph, ex, inter, rng)
            out.append(dict(u=ex, v=inter, cls="motorway", name=f"G{mnum}", oneway=False, speed=100.0,
                            kind="motorway"))
            geoms.append(g)
            p = np.array(ex)
            t = p - seat
            t /= np.hypot(*t)
            q = p + 400 * t
            if outline.contains(shapely.Point(q)):
                q = p - 400 * t
            outer = (round(q[0], 3), round(q[1], 3))
            out.append(dict(u=ex, v=outer, cls="motorway", name=f"G{mnum}", oneway=False, speed=100.0,
                            kind="motorway"))
            geoms.append(shapely.LineString([ex, outer]))

    rows = []
    for m, (r, g) in enumerate(zip(out, geoms)):
        rows.append(dict(road_id=f"{code}R{m + 1:04d}", name=r["name"], road_class=r["cls"],
                         speed_kmh=r["speed"], oneway=bool(r["oneway"]), geometry=g))
    return pd.DataFrame(rows)


def _motorway_via_path(graph, a, b, rng):
    dist, prev = _dijkstra(graph, b)
    path = [a]
    while path[-1] != b:
        path.append(prev[path[-1]])
    xy = np.array(path, float)
    for _ in range(3):  # corner cutting keeps the line smooth
        q = 0.75 * xy[:-1] + 0.25 * xy[1:]
        r = 0.25 * xy[:-1] + 0.75 * xy[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        xy = np.vstack([xy[:1], mid, xy[-1:]])
    return shapely.LineString(xy)


def _csr(graph, nodes):
    """The symmetric sparse matrix of ``graph`` (dict of dicts) over ``nodes`` (node -> index)."""
    idx = {n: i for i, n in enumerate(nodes)}
    rows, cols, w = [], [], []
    for u, nbrs in graph.items():
        for v, d in nbrs.items():
            rows.append(idx[u])
            cols.append(idx[v])
            # csgraph drops zero weights; two nodes a rounding apart still count as joined
            w.append(max(d, 1e-9))
    return coo_matrix((w, (rows, cols)), shape=(len(nodes), len(nodes))).tocsr()


def _components(graph, nodes) -> dict:
    """Component label of every node in ``nodes`` (and every node of ``graph``)."""
    order = list(dict.fromkeys([*nodes, *sorted(graph)]))
    _, labels = connected_components(_csr(graph, order), directed=False)
    return dict(zip(order, labels.tolist()))


def _dijkstra(graph, src):
    """Distances and predecessors (node -> previous node) of shortest paths from ``src``."""
    nodes = sorted(graph)
    dist, pred = dijkstra(_csr(graph, nodes), directed=False, indices=nodes.index(src),
                          return_predecessors=True)
    reach = np.isfinite(dist)
    return ({n: float(d) for n, d, ok in zip(nodes, dist, reach) if ok},
            {n: nodes[p] for n, p in zip(nodes, pred) if p >= 0})


def _mst(graph) -> set:
    """Edges (sorted node pairs) of a minimum spanning forest."""
    nodes = sorted(graph)
    tree = minimum_spanning_tree(_csr(graph, nodes)).tocoo()
    return {(min(nodes[i], nodes[j]), max(nodes[i], nodes[j])) for i, j in zip(tree.row, tree.col)}
