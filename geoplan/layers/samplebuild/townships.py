"""Illustrative township polygons: the real outline cut into one contiguous polygon per official township."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geoplan.layers.divisions import township_kind
from geoplan.layers.samplebuild.common import S_GRAINS, S_GROW, random_points_in, rng_for


def sample_kind(code: str, name: str) -> str:
    """街道, 镇 or 乡 of an official township; units without one (开发区, 农场, 林场 — 政企合一单位, codes
    400–599, and 龙港's 直辖村级区划) by the code's rule: 0xx 街道, 1xx 镇, others 乡.

    The townships schema knows only these three kinds, so the sample counts such units as 乡 and
    says so in the provenance.

    Examples
    --------
    >>> sample_kind("330624001", "南明街道"), sample_kind("330109401", "萧山经济技术开发区")
    ('街道', '乡')
    """
    return township_kind(name) or {"0": "街道", "1": "镇"}.get(str(code)[6], "乡")


def seat_township(kinds: list[str]) -> int:
    """Index of the township that holds the county seat: the first 街道 (else the first township)."""
    return next((k for k, kd in enumerate(kinds) if kd == "街道"), 0)


def build_townships(outline, seat_xy, tw: pd.DataFrame, code: str):
    """Partition the outline into one contiguous polygon per official township.

    Voronoi grains of random points are grown from one seed grain per
    township: each grain goes to the township with the least travel cost to
    it, the cost being the grain-graph distance (random edge costs,
    ``scipy.sparse.csgraph.dijkstra``) divided by the township's growth
    speed; 街道 grow slowly (small, near the seat) and 乡 quickly (large,
    remote). Parts cut off from their township go to the neighbour they
    share most border with.

    Parameters
    ----------
    outline : shapely.Polygon or MultiPolygon
        The county outline in metres.
    seat_xy : array-like
        The county seat.
    tw : pandas.DataFrame
        Official townships (``code, name``) in code order.
    code : str
        County code (the seed).

    Returns
    -------
    polygons : list of shapely.Polygon
        In the order of ``tw``.
    seats : numpy.ndarray
        ``(n, 2)`` township seat coordinates.
    """
    rng = rng_for(code, S_GRAINS)
    area_km2 = outline.area / 1e6
    n_grains = int(np.clip(area_km2 * 2.5, 1500, 4000))
    pts = np.vstack([[seat_xy], random_points_in(outline, n_grains, rng)])
    vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline.envelope.buffer(2000),
                                   ordered=True)
    cells = shapely.intersection(np.asarray(shapely.get_parts(vor)), outline)
    grains, gen = [], []
    for i, c in enumerate(cells):
        for part in shapely.get_parts(c):
            if part.geom_type != "Polygon" or part.area <= 0:
                continue
            inside = part.contains(shapely.Point(pts[i]))
            grains.append(part)
            gen.append(pts[i] if inside else np.array(part.representative_point().coords[0]))
    grains = np.asarray(grains)
    gen = np.asarray(gen)
    tree = shapely.STRtree(grains)
    a, b = tree.query(grains, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(grains[a]), shapely.boundary(grains[b])))
    keep = shared > 1.0
    a, b = a[keep], b[keep]
    grow = rng_for(code, S_GROW)
    wts = np.hypot(*(gen[a] - gen[b]).T) * grow.lognormal(0.0, 0.6, size=len(a))
    graph = coo_matrix((wts, (a, b)), shape=(len(grains), len(grains))).tocsr()

    kinds = [sample_kind(c, n) for c, n in zip(tw["code"], tw["name"])]
    n = len(tw)
    seat_tw = seat_township(kinds)
    seat_grain = int(np.argmin(np.hypot(*(gen - seat_xy).T)))
    seeds = {seat_tw: seat_grain}
    dist_seat = np.hypot(*(gen - seat_xy).T)
    others_jd = [k for k in range(n) if kinds[k] == "街道" and k != seat_tw]
    rot = grow.uniform(0, 2 * np.pi)
    for m, k in enumerate(others_jd):
        ang = rot + 2 * np.pi * m / max(len(others_jd), 1)
        r = grow.uniform(3000, 5500)
        target = np.asarray(seat_xy) + r * np.array([np.cos(ang), np.sin(ang)])
        d = np.hypot(*(gen - target).T)
        d[list(seeds.values())] = np.inf
        seeds[k] = int(np.argmin(d))
    # Remaining townships: jittered farthest-point sampling away from the seat.
    rest = [k for k in range(n) if k not in seeds]
    chosen = list(seeds.values())
    far_ok = dist_seat > 7000
    picks = []
    for _ in rest:
        dmin = np.min(np.hypot(*(gen[:, None, :] - gen[chosen][None, :, :]).transpose(2, 0, 1)), axis=1)
        score = dmin * grow.uniform(0.7, 1.0, size=len(gen)) * np.where(far_ok, 1.0, 0.3)
        g = int(np.argmax(score))
        chosen.append(g)
        picks.append(g)
    # Nearer picks become 镇, the remotest 乡.
    picks.sort(key=lambda g: dist_seat[g])
    rest.sort(key=lambda k: ({"镇": 0, "乡": 1}.get(kinds[k], 0), k))
    for k, g in zip(rest, picks):
        seeds[k] = g
    speed = np.empty(n)
    for k in range(n):
        speed[k] = {"街道": grow.uniform(0.25, 0.4), "镇": grow.uniform(0.85, 1.2),
                    "乡": grow.uniform(1.1, 1.5)}.get(kinds[k], 1.0)
    speed[seat_tw] = 0.45

    seed_grains = np.array([seeds[k] for k in range(n)])
    cost = dijkstra(graph, directed=False, indices=seed_grains) / speed[:, None]
    label = np.argmin(cost, axis=0)
    label[seed_grains] = np.arange(n)  # two seeds never share a grain, but be explicit
    # Grains the graph cannot reach (islands) join the nearest reachable grain.
    lost = ~np.isfinite(cost).any(axis=0)
    if lost.any():
        ok = np.flatnonzero(~lost)
        _, nn = cKDTree(gen[ok]).query(gen[lost])
        label[lost] = label[ok[nn]]

    polys = [shapely.coverage_union_all(grains[label == k]) for k in range(n)]
    polys = _fix_stray_parts(polys)
    seats = np.array([gen[seeds[k]] for k in range(n)])
    seats[seat_tw] = seat_xy
    for k, p in enumerate(polys):
        # A seed grain handed to a neighbour with a stray part: seat the township inside itself.
        if not p.contains(shapely.Point(seats[k])):
            seats[k] = p.representative_point().coords[0]
    return polys, seats


def _fix_stray_parts(polys: list) -> list:
    """Give every part but the largest of a township to the neighbour it shares most border with.

    Islands (parts that share no border with another township) stay where
    they are: a coastal township may own islands.
    """
    polys = list(polys)
    for _ in range(10):
        changed = False
        for k, p in enumerate(polys):
            parts = sorted(shapely.get_parts(p), key=lambda q: -q.area)
            if len(parts) <= 1:
                continue
            keep = [parts[0]]
            for stray in parts[1:]:
                shared = [shapely.length(shapely.intersection(stray.boundary, polys[j].boundary))
                          if j != k else -1.0 for j in range(len(polys))]
                best = int(np.argmax(shared))
                if shared[best] <= 0:
                    keep.append(stray)
                    continue
                polys[best] = shapely.union(polys[best], stray)
                changed = True
            polys[k] = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
        if not changed:
            break
    return [shapely.normalize(p) for p in polys]
