#!/usr/bin/env python
"""Build geoplan's sample layers for a Zhejiang county.

For each 6-digit county code this writes ``<out>/<code>.gpkg`` (every vector
layer kind of :mod:`geoplan.layers.schema` plus ``county``, ``neighbours`` and a
non-spatial ``provenance`` table) and ``<out>/<code>_population.tif`` (a
100 m population raster in the county's Gauss–Krüger zone).

What is real: the county outline and its neighbours (DataV outlines in
``data/raw/boundaries``, converted from GCJ-02), the shared boundary
lines computed from them, the official township names and codes, the county
seat position, and the published census totals where SOURCES.md gives them.
Everything else — township polygons, the population pattern, villages,
roads, facilities, boundary markers, place-name categories — is
illustrative, generated with fixed seeds so every run gives the same data.

Seeds: county-specific parts use ``numpy.random.default_rng([county code,
stream])``; parts shared by two counties (boundary lines, their markers, the
points where roads cross them) use ``default_rng([line code, stream])`` and
are computed in one fixed CRS (EPSG:4549) from both outlines, so the two
counties' samples agree exactly.

Usage::

    python scripts/build_sample_layers.py 330624 330727 --shared data --out layers
    python scripts/build_sample_layers.py --docs          # rewrite layers/README.md only
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from affine import Affine
from scipy.ndimage import gaussian_filter
from shapely.ops import substring
from scipy.spatial import Delaunay, cKDTree

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from geoplan.layers.crs import STORAGE_EPSG, gcj02_to_cgcs2000, gk_zone_epsg  # noqa: E402
from geoplan.layers.divisions import EDITION, county_townships, township_kind  # noqa: E402
from geoplan.layers.schema import SCHEMAS  # noqa: E402

SCRIPT = "scripts/build_sample_layers.py"
DEFAULT_CODES = ("330624", "330727")

#: Shared boundary lines are computed in this one CRS whichever county is
#: being built, so both neighbours get bit-identical lines and markers.
LINE_EPSG = 4549
#: Outlines are generalised: a neighbour's edge may lie this far off.
ADJ_TOL_M = 200.0
#: A pair of counties is adjacent only if they share at least this much line.
MIN_SHARED_M = 1000.0

#: Published census figures (SOURCES.md). ``None`` for 60+ means unknown.
PUBLISHED_POPULATION = {
    "330624": dict(population=419_036, pop60=109_091,
                   source="新昌县第七次全国人口普查公报 (2020-11-01), via data/SOURCES.md"),
}
#: Totals used where nothing is published; always labelled illustrative.
ILLUSTRATIVE_POPULATION = {
    "330727": dict(population=180_000, pop60=46_800),
}
#: Number of administrative villages (村, not counting 社区).
PUBLISHED_VILLAGES = {
    "330727": (236, "磐安县十四五规划: 行政村 371 → 236, via data/SOURCES.md"),
}
ILLUSTRATIVE_VILLAGES = {"330624": 250}

#: Provisional GB/T 18521 category codes. The code table of the standard
#: could not be consulted; 1120 follows the example in geoplan/schema.py.
PLACE_CATEGORIES = {
    "county": ("1110", "县级行政区域 (provisional code)"),
    "township": ("1120", "乡级行政区域: 乡、镇、街道 (code as in geoplan/schema.py)"),
    "community": ("1210", "社区(居民委员会) (provisional code)"),
    "village": ("1220", "行政村(村民委员会) (provisional code)"),
}

# Streams keep the parts independent: changing how roads are drawn must not
# change the villages.
S_GRAINS, S_GROW, S_POP, S_VILL, S_ROAD, S_FAC, S_LINE, S_NAME = range(1, 9)


def rng_for(key: str | int, stream: int) -> np.random.Generator:
    """Random generator for one part, seeded by a county or line code.

    Parameters
    ----------
    key : str or int
        The 6-digit county code or the 4-digit line code.
    stream : int
        Which part (one of the ``S_*`` constants).

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng([int(key), int(stream)])


# ---------------------------------------------------------------------------
# Real parts: outlines, adjacency, shared lines
# ---------------------------------------------------------------------------

def load_zhejiang(shared: Path) -> gpd.GeoDataFrame:
    """All county outlines of Zhejiang in CGCS2000 (EPSG:4490).

    Parameters
    ----------
    shared : Path
        The ``shared/data`` directory.

    Returns
    -------
    geopandas.GeoDataFrame
        ``adcode, name, prefecture, center_lon, center_lat, geometry`` with
        the seat (``center``) converted from GCJ-02 too, sorted by adcode.
    """
    files = sorted((shared / "raw" / "boundaries").glob("33??00_full.geojson.gz"))
    files = [f for f in files if not f.name.startswith("330000_")]
    if not files:
        raise SystemExit(f"No prefecture outline files in {shared / 'raw' / 'boundaries'}")
    frames = []
    for f in files:
        g = gpd.read_file(f"/vsigzip/{f}")
        g["adcode"] = g["adcode"].astype(str)
        g["prefecture"] = f.name[:6]
        frames.append(g[["adcode", "name", "center", "prefecture", "geometry"]])
    zj = pd.concat(frames, ignore_index=True)
    zj = gpd.GeoDataFrame(zj, geometry="geometry", crs=4326)
    zj = zj[zj["adcode"].str.len() == 6].sort_values("adcode").reset_index(drop=True)
    # Outlines are GCJ-02 though labelled EPSG:4326.
    zj = gcj02_to_cgcs2000(zj)
    zj["geometry"] = shapely.make_valid(zj.geometry.values)
    centers = [json.loads(c) if isinstance(c, str) else list(c) for c in zj["center"]]
    seats = gpd.GeoDataFrame(geometry=gpd.points_from_xy([c[0] for c in centers],
                                                         [c[1] for c in centers]), crs=4326)
    seats = gcj02_to_cgcs2000(seats)
    zj["center_lon"] = seats.geometry.x.values
    zj["center_lat"] = seats.geometry.y.values
    return zj.drop(columns=["center"])


def _trim_to(part, other, close: float = 30.0):
    """Cut the ends of ``part`` back to where it runs within ``close`` m of ``other``.

    Clipping with a buffer leaves stubs that follow the county's edge past
    the tri-point for up to the buffer width; this removes them.
    """
    dense = shapely.segmentize(part, 20.0)
    xy = shapely.get_coordinates(dense)
    near = shapely.intersection(shapely.boundary(other), shapely.buffer(part, 2 * close + ADJ_TOL_M))
    if near.is_empty:
        return None
    shapely.prepare(near)
    d = shapely.distance(shapely.points(xy), near)
    ok = np.flatnonzero(d < close)
    if len(ok) < 2:
        return None
    a = float(shapely.line_locate_point(part, shapely.Point(xy[ok[0]])))
    b = float(shapely.line_locate_point(part, shapely.Point(xy[ok[-1]])))
    if b - a < 1.0:
        return None
    return substring(part, a, b)


@dataclass
class SharedLine:
    """A boundary line between two adjacent counties (metric, EPSG:4549)."""

    code: str
    left: str
    right: str
    name: str
    level: str
    geom: shapely.Geometry
    #: endpoint (x, y) -> third county code, for tri-points numbered on this line
    tripoints: dict = field(default_factory=dict)


def compute_shared_lines(zj: gpd.GeoDataFrame) -> list[SharedLine]:
    """Shared boundary lines of every adjacent pair of Zhejiang counties.

    The outlines are generalised independently, so a neighbour's edge may lie
    up to ``ADJ_TOL_M`` off; the line is the stretch of the *lower-coded*
    county's own boundary that lies within that tolerance of the other
    county, so it is the same in both counties' samples. Pairs are numbered
    3001, 3002, … in (lower adcode, higher adcode) order.

    Returns
    -------
    list of SharedLine
    """
    m = zj.to_crs(LINE_EPSG)
    geoms = m.geometry.values
    codes = m["adcode"].tolist()
    names = dict(zip(m["adcode"], m["name"]))
    pref = dict(zip(m["adcode"], m["prefecture"]))
    tree = shapely.STRtree(geoms)
    left_idx, right_idx = tree.query(geoms, predicate="dwithin", distance=ADJ_TOL_M)
    buffers: dict[int, shapely.Geometry] = {}
    raw = []
    for i, j in sorted(set((int(a), int(b)) for a, b in zip(left_idx, right_idx) if codes[a] < codes[b])):
        if j not in buffers:
            buffers[j] = shapely.buffer(geoms[j], ADJ_TOL_M)
        seg = shapely.intersection(shapely.boundary(geoms[i]), buffers[j])
        seg = shapely.line_merge(shapely.union_all(
            [p for p in shapely.get_parts(seg) if p.geom_type in ("LineString", "MultiLineString")]))
        parts = [_trim_to(p, geoms[j]) for p in shapely.get_parts(seg)]
        parts = [p for p in parts if p is not None and p.length >= 300.0]
        if sum(p.length for p in parts) < MIN_SHARED_M:
            continue
        parts.sort(key=lambda p: (-p.length, p.coords[0]))
        geom = parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)
        raw.append((codes[i], codes[j], geom))
    lines = []
    for k, (a, b, geom) in enumerate(raw):
        level = "县级" if pref[a] == pref[b] else "市级"
        lines.append(SharedLine(code=f"{3001 + k:04d}", left=a, right=b,
                                name=f"{names[a]}—{names[b]}线", level=level, geom=geom))
    # Tri-points: an end of line a–b near a county c adjacent to both. The
    # C/D/E triple is numbered on the lowest-coded of the three lines.
    by_pair = {(ln.left, ln.right): ln for ln in lines}
    neigh: dict[str, set] = {}
    for ln in lines:
        neigh.setdefault(ln.left, set()).add(ln.right)
        neigh.setdefault(ln.right, set()).add(ln.left)
    gidx = {c: i for i, c in enumerate(codes)}
    for ln in lines:
        for part in shapely.get_parts(ln.geom):
            for end in (part.coords[0], part.coords[-1]):
                p = shapely.Point(end)
                cands = []
                for c in sorted(neigh[ln.left] & neigh[ln.right]):
                    d = shapely.distance(p, geoms[gidx[c]])
                    if d < 2 * ADJ_TOL_M:
                        cands.append((d, c))
                if not cands:
                    continue
                c = min(cands)[1]
                trio = sorted([ln.left, ln.right, c])
                pair_lines = [by_pair[pr] for pr in ((trio[0], trio[1]), (trio[0], trio[2]), (trio[1], trio[2]))
                              if pr in by_pair]
                if min(x.code for x in pair_lines) == ln.code:
                    ln.tripoints[tuple(end)] = c
    return lines


def line_history(ln: SharedLine) -> tuple[int, str, dt.date]:
    """Last joint inspection of a line: year, leading side (牵头方) and the campaign's first day.

    Lines are inspected whole, every five years, the lead alternating
    between the two sides; most sample lines were last inspected 2021–2025
    (due 2026–2030), a few in 2019–2020 (overdue).
    """
    rng = rng_for(ln.code, S_LINE + 200)
    year = int(rng.choice([2019, 2020, 2021, 2022, 2023, 2024, 2025], p=[0.05, 0.1, 0.17, 0.17, 0.17, 0.17, 0.17]))
    lead = ln.left if rng.random() < 0.5 else ln.right
    first = dt.date(year, 3, 1) + dt.timedelta(days=int(rng.integers(0, 240)))
    return year, lead, first


def township_lines(polys, tw: pd.DataFrame, code: str, epsg: int, zj: gpd.GeoDataFrame) -> list[SharedLine]:
    """Township boundary lines (乡级界线) inside the county, in EPSG:4549.

    One line per pair of adjacent townships: their shared boundary, merged.
    Codes are 4000 + 60 × (the county's position among the Zhejiang
    adcodes) + k, so they never clash with the county lines (3001…) nor
    between counties. Tri-points inside the county get no C/D/E triple here.
    """
    base = 4000 + 60 * sorted(zj["adcode"]).index(code)
    out: list[SharedLine] = []
    n = len(polys)
    tree = shapely.STRtree(polys)
    for i in range(n):
        for j in sorted(int(x) for x in tree.query(polys[i], predicate="intersects") if x > i):
            seg = shapely.intersection(shapely.boundary(polys[i]), shapely.boundary(polys[j]))
            parts = [p for p in shapely.get_parts(seg) if p.geom_type in ("LineString", "MultiLineString")]
            if not parts:
                continue
            merged = shapely.line_merge(shapely.union_all(parts))
            pieces = [p for p in shapely.get_parts(merged) if p.length >= 300.0]
            if sum(p.length for p in pieces) < MIN_SHARED_M:
                continue
            pieces.sort(key=lambda p: (-p.length, p.coords[0]))
            geom = pieces[0] if len(pieces) == 1 else shapely.MultiLineString(pieces)
            if epsg != LINE_EPSG:
                geom = gpd.GeoSeries([geom], crs=epsg).to_crs(LINE_EPSG).iloc[0]
            a, b = str(tw["code"].iloc[i]), str(tw["code"].iloc[j])
            out.append(SharedLine(code=f"{base + len(out) + 1:04d}", left=a, right=b,
                                  name=f"{tw['name'].iloc[i]}—{tw['name'].iloc[j]}线", level="乡级", geom=geom))
    return out


# ---------------------------------------------------------------------------
# Boundary markers and road crossings (derived from the line only)
# ---------------------------------------------------------------------------

def line_crossings(ln: SharedLine) -> list[tuple[float, float, str]]:
    """Points where roads cross a shared line: ``(x, y, class)`` in EPSG:4549.

    Derived from the line code so both counties' networks cross the line at
    the same places (where the A/B marker pairs stand).
    """
    rng = rng_for(ln.code, S_LINE)
    total = ln.geom.length
    n = 1 + int(total > 15_000) + int(total > 40_000) + int(total > 70_000)
    fracs = np.sort(rng.uniform(0.15, 0.85, size=n))
    # Keep crossings at least 3 km apart along the line.
    kept: list[float] = []
    for f in fracs:
        if all(abs(f - k) * total > 3000 for k in kept):
            kept.append(float(f))
    classes = rng.choice(["motorway", "trunk", "primary", "secondary", "tertiary"], size=len(kept),
                         p=[0.2, 0.2, 0.25, 0.2, 0.15])
    out = []
    for f, c in zip(kept, classes):
        pt = shapely.line_interpolate_point(ln.geom, f, normalized=True)
        out.append((pt.x, pt.y, str(c)))
    return out


def _tangent(part: shapely.LineString, d: float) -> np.ndarray:
    a = shapely.line_interpolate_point(part, max(d - 5.0, 0.0))
    b = shapely.line_interpolate_point(part, min(d + 5.0, part.length))
    v = np.array([b.x - a.x, b.y - a.y])
    n = np.hypot(*v)
    return v / n if n > 0 else np.array([1.0, 0.0])


def line_markers(ln: SharedLine) -> list[dict]:
    """Boundary markers along one shared line (metric coordinates).

    A/B pairs stand 4 m either side of the line where roads cross it and at
    some other places; C/D/E triples stand 6 m from a tri-point; the rest are
    singles (Q). Spacing is 2–4.5 km (1.5–3.5 km on township lines, which
    have no pairs at road crossings and no triples). ``last_inspected`` is a
    day of the line's last campaign (:func:`line_history`).
    """
    rng = rng_for(ln.code, S_LINE + 100)
    crossings = [shapely.Point(x, y) for x, y, _ in line_crossings(ln)]
    markers: list[dict] = []
    seq = 0

    _, _, first_day = line_history(ln)

    def attrs() -> dict:
        # the whole line was inspected in one campaign of a few weeks; a few
        # markers set since then were never inspected
        day = first_day + dt.timedelta(days=int(rng.integers(0, 25)))
        return dict(last_inspected=None if rng.random() < 0.03 else day.isoformat(),
                    material=str(rng.choice(["花岗岩", "混凝土", "花岗岩", "花岗岩", "钢筋混凝土"])))

    def condition() -> str:
        return str(rng.choice(["完好", "损坏", "移位", "丢失", "字迹不清", "被掩埋"],
                              p=[0.76, 0.07, 0.05, 0.04, 0.05, 0.03]))

    township = ln.level == "乡级"
    gap = (1500, 3500) if township else (2000, 4500)

    for part in shapely.get_parts(ln.geom):
        length = part.length
        stops: list[tuple[float, str]] = []
        start, end = part.coords[0], part.coords[-1]
        if tuple(start) in ln.tripoints:
            stops.append((0.0, "T"))
        d = float(rng.uniform(400, 1500))
        if township and d >= length - 400:
            d = length / 2  # a short township line still has one marker
            stops.append((d, "Q"))
        while d < length - 400:
            stops.append((d, "P" if rng.random() < 0.2 else "Q"))
            d += float(rng.uniform(*gap))
        for c in ([] if township else crossings):
            if shapely.distance(c, part) < 1.0:
                dc = float(shapely.line_locate_point(part, c))
                stops = [s for s in stops if s[1] == "T" or abs(s[0] - dc) > 600]
                stops.append((dc, "P"))
        if tuple(end) in ln.tripoints and length > 50:
            stops.append((length, "T"))
        stops.sort()
        for d, kind in stops:
            seq += 1
            p = shapely.line_interpolate_point(part, d)
            t = _tangent(part, d)
            nrm = np.array([-t[1], t[0]])
            a = attrs()
            if kind == "Q":
                xy = [((p.x, p.y), "Q")]
            elif kind == "P":
                xy = [((p.x + 4 * nrm[0], p.y + 4 * nrm[1]), "A"),
                      ((p.x - 4 * nrm[0], p.y - 4 * nrm[1]), "B")]
            else:
                ang0 = np.arctan2(t[1], t[0])
                xy = [((p.x + 6 * np.cos(ang0 + k * 2 * np.pi / 3 + 0.5),
                        p.y + 6 * np.sin(ang0 + k * 2 * np.pi / 3 + 0.5)), letter)
                      for k, letter in enumerate("CDE")]
            for (x, y), letter in xy:
                markers.append(dict(marker_id=f"{ln.code}{seq:03d}{letter}", line_code=ln.code,
                                    condition=condition(), x=x, y=y, **a))
    return markers


# ---------------------------------------------------------------------------
# Illustrative townships
# ---------------------------------------------------------------------------

def _random_points_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out = np.empty((0, 2))
    while len(out) < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        cand = cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]
        out = np.vstack([out, cand])
    return out[:n]


def build_townships(outline, seat_xy, tw: pd.DataFrame, code: str):
    """Partition the outline into one contiguous polygon per official township.

    Voronoi grains of random points are grown from one seed grain per
    township by a multi-source Dijkstra with random edge costs; 街道 grow
    slowly (small, near the seat) and 乡 quickly (large, remote).

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
    pts = np.vstack([[seat_xy], _random_points_in(outline, n_grains, rng)])
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
    adj: list[list[tuple[int, float]]] = [[] for _ in grains]
    grow = rng_for(code, S_GROW)
    wts = np.hypot(*(gen[a] - gen[b]).T) * grow.lognormal(0.0, 0.6, size=len(a))
    for i, j, w in zip(a, b, wts):
        adj[i].append((int(j), float(w)))
        adj[j].append((int(i), float(w)))

    kinds = [township_kind(n) for n in tw["name"]]
    n = len(tw)
    seat_tw = next((k for k, kd in enumerate(kinds) if kd == "街道"), 0)
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

    label = np.full(len(grains), -1)
    heap = [(0.0, g, k) for k, g in seeds.items()]
    heapq.heapify(heap)
    while heap:
        cost, g, k = heapq.heappop(heap)
        if label[g] >= 0:
            continue
        label[g] = k
        for h, w in adj[g]:
            if label[h] < 0:
                heapq.heappush(heap, (cost + w / speed[k], h, k))
    # Grains the graph cannot reach (islands) join the nearest labelled grain.
    if (label < 0).any():
        ok = np.flatnonzero(label >= 0)
        kd = cKDTree(gen[ok])
        for g in np.flatnonzero(label < 0):
            label[g] = label[ok[kd.query(gen[g])[1]]]

    polys = [shapely.coverage_union_all(grains[label == k]) for k in range(n)]
    polys = _fix_stray_parts(polys)
    seats = np.array([gen[seeds[k]] for k in range(n)])
    seats[seat_tw] = seat_xy
    return polys, seats


def _fix_stray_parts(polys: list) -> list:
    """Give every part but the largest of a township to the neighbour it shares most border with."""
    polys = list(polys)
    for _ in range(10):
        changed = False
        for k, p in enumerate(polys):
            parts = sorted(shapely.get_parts(p), key=lambda q: -q.area)
            if len(parts) <= 1:
                continue
            polys[k] = parts[0]
            for stray in parts[1:]:
                best = max((j for j in range(len(polys)) if j != k),
                           key=lambda j: shapely.length(shapely.intersection(stray.boundary, polys[j].boundary)))
                polys[best] = shapely.union(polys[best], stray)
            changed = True
        if not changed:
            break
    return [shapely.normalize(p) for p in polys]


# ---------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------

def largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative ``values`` to integers that sum exactly to ``total``.

    Ties in the remainders are broken by position, so the result is
    deterministic.
    """
    values = np.asarray(values, dtype=float)
    if values.sum() <= 0:
        out = np.zeros(len(values), dtype=np.int64)
        if len(values):
            out[0] = total
        return out
    scaled = values * (total / values.sum())
    base = np.floor(scaled).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(scaled - base), kind="stable")
        base[order[:short]] += 1
    return base


def township_targets(kinds: list[str], seat_tw: int, total: int, pop60: int, code: str):
    """Target population and 60+ per township (sums exactly to the totals).

    Every 乡 and one 镇 are kept under 10,000 so that small townships exist;
    街道 are the largest.
    """
    rng = rng_for(code, S_POP)
    w = np.array([{"街道": rng.uniform(2.0, 3.5), "镇": rng.uniform(0.9, 1.8), "乡": rng.uniform(0.25, 0.4)}
                  .get(k, 1.0) for k in kinds])
    w[seat_tw] = rng.uniform(4.0, 5.0)
    towns = [i for i, k in enumerate(kinds) if k == "镇"]
    small = [i for i, k in enumerate(kinds) if k == "乡"]
    if towns:
        s = towns[int(rng.integers(len(towns)))]
        w[s] = 0.3
        small.append(s)
    pop = w * total / w.sum()
    for i in small:
        if pop[i] >= 9800:
            pop[i] = rng.uniform(6000, 9500)
    big = [i for i in range(len(kinds)) if i not in small]
    pop[big] *= (total - pop[small].sum()) / pop[big].sum()
    pop = largest_remainder(pop, total)
    rate = np.array([{"街道": rng.uniform(0.19, 0.24), "镇": rng.uniform(0.26, 0.32), "乡": rng.uniform(0.33, 0.40)}
                     .get(k, 0.28) for k in kinds])
    p60 = largest_remainder(pop * rate, pop60)
    return pop, np.minimum(p60, pop)


def _kernel(dens, x0, y0, gx0, gy0, sigma, weight):
    """Add a Gaussian settlement of ``weight`` persons-units at (x0, y0)."""
    h, w = dens.shape
    c = (x0 - gx0) / 100.0
    r = (gy0 - y0) / 100.0
    rad = int(np.ceil(4 * sigma / 100.0))
    r0, r1 = max(int(r) - rad, 0), min(int(r) + rad + 1, h)
    c0, c1 = max(int(c) - rad, 0), min(int(c) + rad + 1, w)
    if r0 >= r1 or c0 >= c1:
        return
    rr, cc = np.mgrid[r0:r1, c0:c1]
    d2 = ((cc + 0.5 - c) ** 2 + (rr + 0.5 - r) ** 2) * 1e4
    k = np.exp(-d2 / (2 * sigma ** 2))
    dens[r0:r1, c0:c1] += weight * k / (2 * np.pi * (sigma / 100.0) ** 2)


def build_population(polys, seats, seat_tw, villages: pd.DataFrame, targets, kinds, code, epsg):
    """Population raster (persons per 100 m cell) whose township sums equal the targets.

    A cell belongs to the township containing its centre; cells whose centre
    is outside the county hold 0.

    Returns
    -------
    grid : numpy.ndarray of int32
    transform : affine.Affine
    owner : numpy.ndarray of int
        Township index of each cell, -1 outside.
    """
    rng = rng_for(code, S_POP + 50)
    minx, miny, maxx, maxy = shapely.union_all(polys).bounds
    x0, y1 = np.floor(minx / 100) * 100 - 100, np.ceil(maxy / 100) * 100 + 100
    w = int(np.ceil((maxx + 100 - x0) / 100))
    h = int(np.ceil((y1 - (miny - 100)) / 100))
    transform = Affine(100.0, 0.0, x0, 0.0, -100.0, y1)
    cx = x0 + 50 + 100 * np.arange(w)
    cy = y1 - 50 - 100 * np.arange(h)
    X, Y = np.meshgrid(cx, cy)
    owner = np.full((h, w), -1, dtype=np.int64)
    for k, p in enumerate(polys):
        shapely.prepare(p)
        owner[shapely.contains_xy(p, X, Y) & (owner < 0)] = k
    noise = gaussian_filter(rng.normal(size=(h, w)), sigma=12)
    noise = (noise - noise.min()) / (np.ptp(noise) + 1e-12)
    bg_level = {"街道": 2.0, "镇": 1.0, "乡": 0.6}
    dens = np.zeros((h, w))
    for k, kd in enumerate(kinds):
        m = owner == k
        dens[m] = bg_level.get(kd, 0.2) * (0.2 + noise[m] ** 2)
    seat = seats[seat_tw]
    _kernel(dens, seat[0], seat[1], x0, y1, 1400, 9000)
    _kernel(dens, seat[0], seat[1], x0, y1, 500, 6000)
    for k, kd in enumerate(kinds):
        if k == seat_tw:
            continue
        s = seats[k]
        if kd == "街道":
            _kernel(dens, s[0], s[1], x0, y1, 900, 5000)
        else:
            _kernel(dens, s[0], s[1], x0, y1, 450, 1500 if kd == "镇" else 500)
    for v in villages.itertuples():
        if v.kind == "社区":
            _kernel(dens, v.x, v.y, x0, y1, 350, rng.uniform(600, 1500))
        else:
            _kernel(dens, v.x, v.y, x0, y1, rng.uniform(120, 220), rng.lognormal(np.log(120), 0.5))
    grid = np.zeros((h, w), dtype=np.int64)
    for k in range(len(polys)):
        m = owner == k
        if not m.any():
            continue
        grid[m] = largest_remainder(dens[m], int(targets[k]))
    return grid.astype(np.int32), transform, owner


# ---------------------------------------------------------------------------
# Villages
# ---------------------------------------------------------------------------

_PRE = list("东西南北上下前后大小新石溪岭塘岩里外中高黄白青竹梅桃杨柳枫松茶桥田山龙凤马")
_SUF = list("山岩溪坑塘岭坪田湾坞岙源桥宅畈头口洋庄门墩林园埠堰坂塘")
_SURNAMES = list("王陈张李吴周徐俞潘梁丁钱金何袁")
_URBAN = ["城东", "城西", "城南", "城北", "城中", "鼓山", "江滨", "人民", "和平", "桃源", "文苑", "新城",
          "锦绣", "滨江", "东园", "西园"]


def _name_pool(rng: np.random.Generator) -> list[str]:
    pool = {a + b for a in _PRE for b in _SUF if a != b}
    pool |= {s + "家" + b for s in _SURNAMES for b in _SUF}
    pool = sorted(pool)
    rng.shuffle(pool)
    return pool


def build_villages(polys, seats, kinds, tw, seat_tw, n_villages, code) -> pd.DataFrame:
    """Village (村) and community (社区) points with unique illustrative names.

    Codes follow the statistical rule: township code + 001–199 for 社区,
    200–399 for 村.
    """
    rng = rng_for(code, S_VILL)
    names = _name_pool(rng_for(code, S_NAME))
    used: set[str] = set()

    def take() -> str:
        while True:
            nm = names.pop()
            if nm not in used:
                used.add(nm)
                return nm

    areas = np.array([p.area / 1e6 for p in polys])
    fac = np.array([{"街道": 0.4, "镇": 1.0, "乡": 0.9}.get(k, 1.0) for k in kinds])
    counts = largest_remainder(areas * fac, n_villages - 3 * len(polys)) + 3
    rows = []
    urban = list(_URBAN)
    for k, p in enumerate(polys):
        tcode = tw["code"].iloc[k]
        shapely.prepare(p)
        seat = seats[k]
        # Communities first: around the seat.
        n_comm = {"街道": int(rng.integers(4, 8)), "镇": 1}.get(kinds[k], 0)
        if k == seat_tw:
            n_comm += 4
        comm_pts = []
        tries = 0
        while len(comm_pts) < n_comm and tries < 5000:
            tries += 1
            r = rng.uniform(250, 2200 if kinds[k] == "街道" else 600)
            a = rng.uniform(0, 2 * np.pi)
            q = seat + r * np.array([np.cos(a), np.sin(a)])
            if not shapely.contains_xy(p, *q):
                continue
            if any(np.hypot(*(q - o)) < 450 for o in comm_pts):
                continue
            comm_pts.append(q)
        vill_pts = []
        spacing = 800.0
        tries = 0
        while len(vill_pts) < counts[k]:
            tries += 1
            if tries % 3000 == 0:
                spacing *= 0.8
            q = _random_points_in(p, 1, rng)[0]
            if np.hypot(*(q - seat)) < 900:
                continue
            if any(np.hypot(*(q - o)) < spacing for o in vill_pts + comm_pts):
                continue
            vill_pts.append(q)
        stem = tw["name"].iloc[k]
        for s in ("街道", "镇", "乡"):
            if stem.endswith(s):
                stem = stem[: -len(s)]
        for m, q in enumerate(comm_pts):
            if kinds[k] == "镇" and m == 0 and stem + "社区" not in used:
                nm = stem
            elif k == seat_tw and urban:
                nm = urban.pop(0)
            else:
                nm = take()
            used.add(nm)
            rows.append(dict(code=f"{tcode}{m + 1:03d}", name=nm + "社区", kind="社区", township_code=tcode,
                             x=q[0], y=q[1]))
        for m, q in enumerate(vill_pts):
            rows.append(dict(code=f"{tcode}{200 + m:03d}", name=take() + "村", kind="村", township_code=tcode,
                             x=q[0], y=q[1]))
    return pd.DataFrame(rows)


# Same toneless pinyin, different character: the kind of pair the naming
# rules exist to catch. No polyphonic characters, so the reading is certain.
HOMOPHONE_CHARS = {"东": "冬", "西": "溪", "上": "尚", "下": "夏", "大": "达", "小": "晓", "新": "欣",
                   "黄": "皇", "梅": "眉", "桃": "陶", "溪": "西", "前": "钱", "后": "厚", "高": "皋",
                   "山": "杉", "石": "时", "竹": "珠", "青": "清", "金": "津", "杨": "阳"}


def plant_homophone(villages: pd.DataFrame, tw: pd.DataFrame) -> str:
    """Rename one 村 to a homophone of another 村 in the same township, in place.

    Real gazetteers carry such legacy pairs (村 names from before the
    place-name rules), and the sample gazetteer should give the naming-rule
    check something to find. Deterministic: the first township, in code
    order, with a 村 whose first character has a homophone.

    Returns
    -------
    str
        A description for the provenance table ('' if no pair could be made).
    """
    used = set(villages["name"])
    for tcode in tw["code"]:
        vill = villages[(villages["township_code"] == tcode) & (villages["kind"] == "村")]
        if len(vill) < 2:
            continue
        for i in vill.index[:-1]:
            name = villages.at[i, "name"]
            twin = HOMOPHONE_CHARS.get(name[0], "") + name[1:]
            if name[0] in HOMOPHONE_CHARS and twin not in used:
                last = vill.index[-1]
                old = villages.at[last, "name"]
                villages.at[last, "name"] = twin
                town = tw.set_index("code").at[tcode, "name"]
                return f"homophone pair {name} / {twin} in {town} ({twin} was {old})"
    return ""


# ---------------------------------------------------------------------------
# Roads
# ---------------------------------------------------------------------------

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


def _components(graph, nodes) -> dict:
    comp, cid = {}, 0
    for n in nodes:
        if n in comp:
            continue
        stack = [n]
        comp[n] = cid
        while stack:
            x = stack.pop()
            for y in graph.get(x, {}):
                if y not in comp:
                    comp[y] = cid
                    stack.append(y)
        cid += 1
    return comp


def _dijkstra(graph, src):
    dist = {src: 0.0}
    prev = {}
    heap = [(0.0, src)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist.get(u, np.inf):
            continue
        for v, w in sorted(graph[u].items()):
            nd = d + w
            if nd < dist.get(v, np.inf):
                dist[v] = nd
                prev[v] = u
                heapq.heappush(heap, (nd, v))
    return dist, prev


def _mst(graph) -> set:
    """Edges (sorted node pairs) of a minimum spanning forest (Kruskal)."""
    parent = {n: n for n in graph}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    es = sorted({(w, min(u, v), max(u, v)) for u in graph for v, w in graph[u].items()})
    out = set()
    for w, u, v in es:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[ru] = rv
            out.add((u, v))
    return out


# ---------------------------------------------------------------------------
# Facilities
# ---------------------------------------------------------------------------

def choose_gaps(tw: pd.DataFrame, kinds, pops, code) -> dict[str, str]:
    """Pick the townships that get each deliberate gap (distinct townships)."""
    rng = rng_for(code, S_FAC + 50)
    codes = tw["code"].tolist()
    used: set[str] = set()

    def pick(pred, prefer):
        pool = [c for c, k, p in zip(codes, kinds, pops) if c not in used and pred(k, p)]
        pref = [c for c in pool if kinds[codes.index(c)] in prefer] or pool
        c = pref[int(rng.integers(len(pref)))]
        used.add(c)
        return c

    gaps = {}
    gaps["home_care_planned_only"] = pick(lambda k, p: k != "街道", ("镇",))
    gaps["home_care_none"] = pick(lambda k, p: k != "街道", ("乡",))
    gaps["social_work_none"] = pick(lambda k, p: True, ("乡", "镇"))
    gaps["disability_none_10k"] = pick(lambda k, p: p >= 10_000, ("镇",))
    gaps["burial_none"] = pick(lambda k, p: True, ("镇", "乡"))
    return gaps


def build_facilities(tw, kinds, polys, seats, seat_tw, villages, pops, gaps, code, county_name):
    """All five facility layers as DataFrames with ``x, y`` metric columns."""
    rng = rng_for(code, S_FAC)
    codes = tw["code"].tolist()
    names = tw["name"].tolist()
    vill_by_tw = {c: villages[villages.township_code == c] for c in codes}
    cstem = county_name[:-1] if county_name.endswith(("县", "市", "区")) else county_name

    def near(k, lo=120, hi=600):
        p = polys[k]
        for _ in range(200):
            r, a = rng.uniform(lo, hi), rng.uniform(0, 2 * np.pi)
            q = seats[k] + r * np.array([np.cos(a), np.sin(a)])
            if p.contains(shapely.Point(q)):
                return q
        return np.asarray(seats[k], float)

    def near_village(v):
        r, a = rng.uniform(40, 180), rng.uniform(0, 2 * np.pi)
        return np.array([v.x, v.y]) + r * np.array([np.cos(a), np.sin(a)])

    def opened(status):
        if status == "规划":
            return int(rng.integers(2026, 2029))
        return None if rng.random() < 0.05 else int(rng.integers(2008, 2025))

    elderly, cem, sws, dis, child = [], [], [], [], []
    for k, c in enumerate(codes):
        vs = vill_by_tw[c]
        # Home-care centres.
        if c == gaps["home_care_planned_only"]:
            q = near(k)
            elderly.append(dict(name=f"{names[k]}居家养老服务中心", kind="居家养老服务中心", township_code=c,
                                status="规划", opened=opened("规划"), beds=None, nursing_beds=None,
                                dementia_beds=None, x=q[0], y=q[1]))
        elif c != gaps["home_care_none"]:
            q = near(k)
            elderly.append(dict(name=f"{names[k]}居家养老服务中心", kind="居家养老服务中心", township_code=c,
                                status="运营", opened=opened("运营"), beds=None, nursing_beds=None,
                                dementia_beds=None, x=q[0], y=q[1]))
            if kinds[k] == "街道" and len(vs):
                v = vs.iloc[int(rng.integers(len(vs)))]
                q = near_village(v)
                # A community-level day-care point (村级照料中心): not a township 居家养老服务中心.
                elderly.append(dict(name=f"{v['name']}居家养老服务照料中心", kind="居家养老服务照料中心",
                                    township_code=c, status="运营", opened=opened("运营"), beds=None,
                                    nursing_beds=None, dementia_beds=None, x=q[0], y=q[1]))
        # Care institutions: a county welfare centre, township 敬老院, a few private homes.
        if k == seat_tw:
            q = near(k, 600, 1500)
            elderly.append(dict(name=f"{county_name}社会福利中心", kind="养老机构", township_code=c, status="运营",
                                opened=int(rng.integers(2005, 2015)), beds=int(rng.integers(260, 360)),
                                nursing_beds=None, dementia_beds=int(rng.integers(20, 40)), x=q[0], y=q[1]))
        if kinds[k] != "街道" and rng.random() < 0.6:
            q = near(k)
            elderly.append(dict(name=f"{names[k]}敬老院", kind="养老机构", township_code=c, status="运营",
                                opened=opened("运营"), beds=int(rng.integers(30, 120)), nursing_beds=None,
                                dementia_beds=0, x=q[0], y=q[1]))
        if kinds[k] in ("街道", "镇") and rng.random() < 0.35 and len(vs):
            v = vs.iloc[int(rng.integers(len(vs)))]
            q = near_village(v)
            st = "规划" if rng.random() < 0.25 else "运营"
            elderly.append(dict(name=f"{v['name'][:-1]}颐养院", kind="养老机构", township_code=c, status=st,
                                opened=opened(st), beds=int(rng.integers(60, 200)), nursing_beds=None,
                                dementia_beds=int(rng.integers(0, 25)), x=q[0], y=q[1]))
        # Burial sites.
        if c != gaps["burial_none"]:
            if kinds[k] != "街道" or rng.random() < 0.5:
                q = near(k, 1500, 4000)
                eco = bool(rng.random() < 0.4)
                cem.append(dict(name=f"{names[k][:-1] if kinds[k] != '街道' else names[k][:-2]}公益性公墓",
                                kind="公益性公墓", township_code=c, status="运营", opened=opened("运营"),
                                capacity=int(rng.integers(20, 150)) * 100, eco_burial=eco, x=q[0], y=q[1]))
            else:
                v = vs.iloc[int(rng.integers(len(vs)))] if len(vs) else None
                q = near_village(v) if v is not None else near(k, 1500, 3000)
                nm = (v["name"][:-1] if v is not None else names[k]) + "生态安葬点"
                st = "规划" if rng.random() < 0.2 else "运营"
                cem.append(dict(name=nm, kind="生态安葬点", township_code=c, status=st, opened=opened(st),
                                capacity=int(rng.integers(3, 20)) * 100, eco_burial=True, x=q[0], y=q[1]))
            if kinds[k] != "街道" and rng.random() < 0.35 and len(vs):
                v = vs.iloc[int(rng.integers(len(vs)))]
                q = near_village(v)
                cem.append(dict(name=f"{v['name'][:-1]}生态安葬点", kind="生态安葬点", township_code=c,
                                status="运营", opened=opened("运营"), capacity=int(rng.integers(3, 20)) * 100,
                                eco_burial=True, x=q[0], y=q[1]))
        elif rng.random() < 0.5 and len(vs):
            # The gap township keeps only an old ancestral columbarium, which
            # does not count as a 公益性公墓 or eco-burial site.
            v = vs.iloc[int(rng.integers(len(vs)))]
            q = near_village(v)
            cem.append(dict(name=f"{v['name'][:-1]}安息堂", kind="安息堂", township_code=c, status="运营",
                            opened=opened("运营"), capacity=int(rng.integers(10, 40)) * 100, eco_burial=False,
                            x=q[0], y=q[1]))
        # Social-work stations, disability homes.
        if c != gaps["social_work_none"]:
            q = near(k)
            st = "运营" if rng.random() < 0.92 else "规划"
            sws.append(dict(name=f"{names[k]}社会工作站", township_code=c, status=st, opened=opened(st),
                            staff=None if rng.random() < 0.1 else int(rng.integers(1, 5)), x=q[0], y=q[1]))
        if c != gaps["disability_none_10k"]:
            q = near(k)
            st = "运营" if rng.random() < 0.9 else "规划"
            dis.append(dict(name=f"{names[k]}残疾人之家", township_code=c, status=st, opened=opened(st),
                            standardised=bool(rng.random() < 0.7), x=q[0], y=q[1]))
        # Children's homes in most villages and communities.
        for v in vs.itertuples():
            if rng.random() < 0.55:
                st = "运营" if rng.random() < 0.93 else "规划"
                q = near_village(v)
                child.append(dict(name=f"{v.name}儿童之家", township_code=c, status=st, opened=opened(st),
                                  village_code=v.code, x=q[0], y=q[1]))
    # One commercial cemetery and one county columbarium.
    k = int(np.argmax([p.area if kd != "街道" else 0 for p, kd in zip(polys, kinds)]))
    q = near(k, 2000, 5000)
    cem.append(dict(name=f"{cstem}青山陵园", kind="经营性公墓", township_code=codes[k], status="运营", opened=2003,
                    capacity=30000, eco_burial=True, x=q[0], y=q[1]))
    q = near(seat_tw, 2500, 4000)
    cem.append(dict(name=f"{cstem}县安息堂", kind="安息堂", township_code=codes[seat_tw], status="规划",
                    opened=2027, capacity=8000, eco_burial=True, x=q[0], y=q[1]))

    # Nursing-bed share kept somewhat below the 55 % target.
    el = pd.DataFrame(elderly)
    inst = el["kind"] == "养老机构"
    share = np.where(el["name"].str.endswith("敬老院"), rng.uniform(0.28, 0.45, len(el)),
                     rng.uniform(0.5, 0.62, len(el)))
    el["nursing_beds"] = pd.array([int(round(b * s)) if i else None
                                   for b, s, i in zip(el["beds"].fillna(0), share, inst)], dtype="Int64")
    el["beds"] = pd.array([int(b) if i else None for b, i in zip(el["beds"].fillna(0), inst)], dtype="Int64")
    el["dementia_beds"] = pd.array([int(d) if i and pd.notna(d) else None
                                    for d, i in zip(el["dementia_beds"], inst)], dtype="Int64")
    # Ownership of institutions: the county welfare centre and township 敬老院 are public (公办),
    # the 颐养院 private (民办); 新昌's dementia-bed target is about public institutions only.
    el["ownership"] = [("民办" if str(n).endswith("颐养院") else "公办") if i else None
                       for n, i in zip(el["name"], inst)]
    out = {}
    for kind, rows, pfx in (("elderly_care", el, "YL"), ("cemeteries", pd.DataFrame(cem), "GM"),
                            ("social_work_stations", pd.DataFrame(sws), "SG"),
                            ("disability_homes", pd.DataFrame(dis), "CJ"),
                            ("children_homes", pd.DataFrame(child), "ET")):
        df = pd.DataFrame(rows).reset_index(drop=True)
        df.insert(0, "facility_id", [f"{code}{pfx}{i + 1:03d}" for i in range(len(df))])
        df["opened"] = pd.array(df["opened"], dtype="Int64")
        out[kind] = df
    return out


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------

def _points_gdf(df: pd.DataFrame, epsg: int, cols: list[str]) -> gpd.GeoDataFrame:
    g = gpd.GeoDataFrame(df[cols].copy(), geometry=gpd.points_from_xy(df["x"], df["y"]), crs=epsg)
    return g.to_crs(STORAGE_EPSG)


def _totals(code: str, population: int | None, pop60: int | None, area_km2: float):
    if population is not None:
        p60 = pop60 if pop60 is not None else int(round(population * 0.26))
        return population, p60, "illustrative", "--population/--pop60 given on the command line"
    if code in PUBLISHED_POPULATION:
        d = PUBLISHED_POPULATION[code]
        return d["population"], d["pop60"], "real", d["source"]
    if code in ILLUSTRATIVE_POPULATION:
        d = ILLUSTRATIVE_POPULATION[code]
        return d["population"], d["pop60"], "illustrative", \
            "no published census total in SOURCES.md; illustrative total (60+ ≈ 26 %)"
    pop = int(round(area_km2 * 300, -3))
    return pop, int(round(pop * 0.26)), "illustrative", \
        "no published census total; illustrative 300 persons/km² (60+ ≈ 26 %)"


def build_county(code: str, shared: Path, out: Path, zj=None, lines=None,
                 population: int | None = None, pop60: int | None = None) -> dict:
    """Build and write the sample layers of one county.

    Parameters
    ----------
    code : str
        6-digit county code present in ``shared/raw/boundaries``.
    shared, out : Path
        Data directory and output directory.
    zj, lines : optional
        Pre-computed :func:`load_zhejiang` / :func:`compute_shared_lines`
        results, to share between counties.
    population, pop60 : int, optional
        Override the census totals.

    Returns
    -------
    dict
        Summary (paths, totals, gaps).
    """
    t0 = time.time()
    zj = load_zhejiang(shared) if zj is None else zj
    lines = compute_shared_lines(zj) if lines is None else lines
    row = zj[zj["adcode"] == code]
    if row.empty:
        raise SystemExit(f"County {code} is not in the Zhejiang outlines under {shared}")
    row = row.iloc[0]
    epsg = gk_zone_epsg(row["center_lon"])
    county = zj[zj["adcode"] == code].copy()
    outline = shapely.union_all(shapely.get_parts(county.to_crs(epsg).geometry.iloc[0]))
    seat_m = gpd.GeoSeries(gpd.points_from_xy([row["center_lon"]], [row["center_lat"]]), crs=STORAGE_EPSG)
    seat_xy = np.array(seat_m.to_crs(epsg).iloc[0].coords[0])
    if not outline.contains(shapely.Point(seat_xy)):
        seat_xy = np.array(outline.representative_point().coords[0])
    tw = county_townships(code)[["code", "name"]].reset_index(drop=True)
    kinds = [township_kind(n) for n in tw["name"]]
    seat_tw = next((k for k, kd in enumerate(kinds) if kd == "街道"), 0)
    total, total60, pop_status, pop_source = _totals(code, population, pop60, outline.area / 1e6)
    if code in PUBLISHED_VILLAGES:
        n_vill, vill_source = PUBLISHED_VILLAGES[code]
        vill_status = "real (count only)"
    else:
        n_vill = ILLUSTRATIVE_VILLAGES.get(code, max(3 * len(tw), int(round(outline.area / 1e6 / 4.8))))
        vill_source, vill_status = "illustrative count", "illustrative"

    polys, seats = build_townships(outline, seat_xy, tw, code)
    targets, t60 = township_targets(kinds, seat_tw, total, total60, code)
    villages = build_villages(polys, seats, kinds, tw, seat_tw, n_vill, code)
    homophone = plant_homophone(villages, tw)
    grid, transform, owner = build_population(polys, seats, seat_tw, villages, targets, kinds, code, epsg)
    # Village population: cells go to the nearest village/community of their township.
    vpop = np.zeros(len(villages), dtype=np.int64)
    h, w = grid.shape
    cx = transform.c + 50 + 100 * np.arange(w)
    cy = transform.f - 50 - 100 * np.arange(h)
    X, Y = np.meshgrid(cx, cy)
    for k, c in enumerate(tw["code"]):
        idx = np.flatnonzero(villages["township_code"].values == c)
        m = owner == k
        _, nn = cKDTree(villages[["x", "y"]].values[idx]).query(np.column_stack([X[m], Y[m]]))
        np.add.at(vpop, idx[nn], grid[m])
    villages["population"] = vpop

    my_lines = [ln for ln in lines if code in (ln.left, ln.right)]
    crossings = []
    for ln in my_lines:
        for x, y, cls in line_crossings(ln):
            crossings.append((x, y, cls))
    # Crossings come in EPSG:4549; move them into the county CRS if it differs.
    if epsg != LINE_EPSG and crossings:
        s = gpd.GeoSeries(gpd.points_from_xy([c[0] for c in crossings], [c[1] for c in crossings]),
                          crs=LINE_EPSG).to_crs(epsg)
        crossings = [(p.x, p.y, c[2]) for p, c in zip(s, crossings)]
    roads = build_roads(outline, seats, seat_tw, villages, crossings, code, kinds, tw)
    gaps = choose_gaps(tw, kinds, targets, code)
    fac = build_facilities(tw, kinds, polys, seats, seat_tw, villages, targets, gaps, code, row["name"])

    # ---- assemble layers in EPSG:4490 ----
    layers: dict[str, gpd.GeoDataFrame] = {}
    layers["county"] = county[["adcode", "name", "geometry"]].reset_index(drop=True)
    nb_codes = sorted({ln.right if ln.left == code else ln.left for ln in my_lines})
    layers["neighbours"] = zj[zj["adcode"].isin(nb_codes)][["adcode", "name", "geometry"]].reset_index(drop=True)
    layers["townships"] = gpd.GeoDataFrame(dict(
        code=tw["code"], name=tw["name"], kind=kinds, county_code=code,
        population=np.asarray(targets, dtype=np.int64), pop_60plus=np.asarray(t60, dtype=np.int64)),
        geometry=polys, crs=epsg).to_crs(STORAGE_EPSG)
    layers["villages"] = _points_gdf(villages, epsg, ["code", "name", "kind", "township_code", "population"])
    rd = roads
    layers["roads"] = gpd.GeoDataFrame(rd.drop(columns="geometry"), geometry=list(rd["geometry"]),
                                       crs=epsg).to_crs(STORAGE_EPSG)
    layers["roads"]["speed_kmh"] = layers["roads"]["speed_kmh"].astype(float)
    fcols = {
        "elderly_care": ["facility_id", "name", "kind", "township_code", "status", "opened", "ownership", "beds",
                         "nursing_beds", "dementia_beds"],
        "cemeteries": ["facility_id", "name", "kind", "township_code", "status", "opened", "capacity",
                       "eco_burial"],
        "social_work_stations": ["facility_id", "name", "township_code", "status", "opened", "staff"],
        "disability_homes": ["facility_id", "name", "township_code", "status", "opened", "standardised"],
        "children_homes": ["facility_id", "name", "township_code", "status", "opened", "village_code"],
    }
    for kind, cols in fcols.items():
        df = fac[kind]
        if "staff" in cols:
            df["staff"] = pd.array(df["staff"], dtype="Int64")
        layers[kind] = _points_gdf(df, epsg, cols)
    all_lines = my_lines + township_lines(polys, tw, code, epsg, zj)
    history = [line_history(ln) for ln in all_lines]
    layers["boundary_lines"] = gpd.GeoDataFrame(dict(
        line_code=[ln.code for ln in all_lines], name=[ln.name for ln in all_lines],
        left_code=[ln.left for ln in all_lines], right_code=[ln.right for ln in all_lines],
        level=[ln.level for ln in all_lines],
        last_inspected_year=np.asarray([h[0] for h in history], dtype=np.int64),
        lead_code=[h[1] for h in history]), geometry=[ln.geom for ln in all_lines],
        crs=LINE_EPSG).to_crs(STORAGE_EPSG)
    mk = pd.DataFrame([m for ln in all_lines for m in line_markers(ln)])
    layers["boundary_markers"] = _points_gdf(mk, LINE_EPSG, ["marker_id", "line_code", "condition",
                                                             "last_inspected", "material"])
    # Place names: county, townships at their seats, villages and communities.
    seat_pts = gpd.GeoSeries(gpd.points_from_xy(seats[:, 0], seats[:, 1]), crs=epsg).to_crs(STORAGE_EPSG)
    pn = [dict(name_id=code, name=row["name"], category=PLACE_CATEGORIES["county"][0],
               parent_code=row["prefecture"], geometry=seat_pts.iloc[seat_tw])]
    for k in range(len(tw)):
        pn.append(dict(name_id=tw["code"].iloc[k], name=tw["name"].iloc[k],
                       category=PLACE_CATEGORIES["township"][0], parent_code=code, geometry=seat_pts.iloc[k]))
    for v in layers["villages"].itertuples():
        cat = PLACE_CATEGORIES["village" if v.kind == "村" else "community"][0]
        pn.append(dict(name_id=v.code, name=v.name, category=cat, parent_code=v.township_code,
                       geometry=v.geometry))
    layers["place_names"] = gpd.GeoDataFrame(pn, geometry="geometry", crs=STORAGE_EPSG)

    seed_note = f"{SCRIPT}, seed numpy default_rng([{code}, stream])"
    line_seed = f"{SCRIPT}, seed numpy default_rng([line_code, stream])"
    gap_names = {g: tw.set_index("code").loc[c, "name"] + f" ({c})" for g, c in gaps.items()}
    prov = pd.DataFrame([
        ("county", "outline", "real", "Aliyun DataV GeoAtlas via anzhou99/GeoJsons (data/raw/boundaries)",
         "GCJ-02 converted to CGCS2000 with geoplan.layers.crs.gcj02_to_cgcs2000; generalised, not survey-grade", SCRIPT),
        ("county", "county seat (center property)", "real", "DataV 'center' property",
         "converted from GCJ-02; used as the seat of the county-seat 街道 and the street grid centre", SCRIPT),
        ("neighbours", "outlines", "real", "DataV outlines of all 11 prefectures", "converted from GCJ-02", SCRIPT),
        ("boundary_lines", "geometry", "real", "computed from the DataV outlines",
         f"stretch of the lower-coded county's boundary within {ADJ_TOL_M:.0f} m of the other county; "
         "generalised, not the legal boundary", SCRIPT),
        ("boundary_lines", "line_code", "illustrative", "numbering rule of this script",
         "3001… over all adjacent Zhejiang county pairs sorted by adcode; level 市级 across prefectures", SCRIPT),
        ("boundary_lines", "乡级 lines", "illustrative", "shared edges of the illustrative townships",
         "one line per adjacent township pair; codes 4000 + 60 × county position + k", SCRIPT),
        ("boundary_lines", "last_inspected_year, lead_code", "illustrative", "generated",
         "whole line inspected in one campaign, 2019–2025; lead side drawn at random", line_seed),
        ("townships", "code, name, kind", "real", f"NBS statistical division codes, edition {EDITION}",
         "geoplan.layers.divisions.county_townships", SCRIPT),
        ("townships", "geometry", "illustrative", "generated",
         "Voronoi grains grown from one seed per township (multi-source Dijkstra), clipped to the real outline",
         seed_note),
        ("townships", "county totals (population, pop_60plus)", pop_status, pop_source,
         f"total {total}, 60+ {total60}", SCRIPT),
        ("townships", "population, pop_60plus per township", "illustrative", "generated",
         "township split of the county totals; equals the raster sum over the township", seed_note),
        ("population raster", f"{code}_population.tif", "illustrative", "generated",
         "100 m persons per cell, EPSG:%d; settlement kernels + background; total equals the county total" % epsg,
         seed_note),
        ("villages", "number of 村", vill_status, vill_source, f"{n_vill} 村", SCRIPT),
        ("villages", "names, codes, positions, population", "illustrative", "generated",
         "names from syllable lists; code = township code + 001–199 社区 / 200–399 村; population from raster",
         seed_note),
        ("roads", "network", "illustrative", "generated",
         "Delaunay network of seats/villages/line crossings, classified by shortest paths and spanning tree",
         seed_note),
        ("elderly_care, cemeteries, social_work_stations, disability_homes, children_homes", "all",
         "illustrative", "generated", "deliberate gaps: " + "; ".join(f"{g}={n}" for g, n in gap_names.items()),
         seed_note),
        ("boundary_markers", "all", "illustrative", "generated from the real shared lines",
         "A/B pairs at road crossings, C/D/E at tri-points, Q singles every 2–4.5 km", line_seed),
        ("place_names", "names", "real for townships, illustrative for villages", "see townships/villages",
         "point at the township seat / village", SCRIPT),
        ("place_names", "deliberate naming issue", "illustrative", "generated",
         homophone or "none could be planted", SCRIPT),
        ("place_names", "category", "illustrative",
         "provisional codes; the GB/T 18521 code table could not be consulted",
         "; ".join(f"{v[0]} {v[1]}" for v in PLACE_CATEGORIES.values()), SCRIPT),
    ], columns=["layer", "part", "status", "source", "method", "generated_by"])

    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / f"{code}.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    order = ["county", "neighbours", "townships", "villages", "roads", "elderly_care", "cemeteries",
             "social_work_stations", "disability_homes", "children_homes", "boundary_lines", "boundary_markers",
             "place_names"]
    for name in order:
        pyogrio.write_dataframe(layers[name], gpkg, layer=name, driver="GPKG")
    pyogrio.write_dataframe(prov, gpkg, layer="provenance", driver="GPKG")

    tif = out / f"{code}_population.tif"
    profile = dict(driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1, dtype="int32",
                   crs=f"EPSG:{epsg}", transform=transform, compress="DEFLATE", predictor=2,
                   tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(grid, 1)
        dst.update_tags(
            TIFFTAG_IMAGEDESCRIPTION=f"Illustrative resident population of {row['name']} ({code}), "
                                     "persons per 100 m cell",
            TIFFTAG_SOFTWARE=SCRIPT,
            units="persons per cell",
            total_population=str(int(grid.sum())),
            total_status=pop_status,
            total_source=pop_source,
            status="illustrative: spatial pattern generated; only the county total may be real",
            generated_by=seed_note,
        )
        dst.set_band_description(1, "population")
    return dict(code=code, gpkg=gpkg, tif=tif, total=int(grid.sum()), gaps=gap_names,
                seconds=round(time.time() - t0, 1))


# ---------------------------------------------------------------------------
# Documentation
# ---------------------------------------------------------------------------

def schema_markdown() -> str:
    """Markdown tables of every layer kind in :data:`geoplan.layers.schema.SCHEMAS`."""
    out = []
    for kind, s in SCHEMAS.items():
        out.append(f"### `{kind}` — {s.title_zh}\n")
        out.append(f"{s.description} Geometry: {', '.join(s.geometry)}. ID column: `{s.id_field}`.\n")
        out.append("| column | type | 中文 | meaning | allowed values |")
        out.append("|---|---|---|---|---|")
        for f in s.fields:
            allowed = []
            if f.choices:
                allowed.append(", ".join(f.choices))
            if f.pattern:
                allowed.append(f.pattern_hint or f"matches `{f.pattern}`")
            if f.min is not None or f.max is not None:
                allowed.append(f"{'' if f.min is None else f.min:g} … {'' if f.max is None else f.max:g}"
                               if f.min is not None and f.max is not None else
                               (f"≥ {f.min:g}" if f.min is not None else f"≤ {f.max:g}"))
            flags = []
            if not f.required:
                flags.append("optional")
            if f.nullable:
                flags.append("may be empty")
            t = f.dtype + (f" ({', '.join(flags)})" if flags else "")
            out.append(f"| `{f.name}` | {t} | {f.label_zh} | {f.description} | {'; '.join(allowed)} |")
        out.append("")
    return "\n".join(out)


def write_docs(out: Path) -> Path:
    """Write ``out/README.md`` from the schemas and the built files."""
    files = sorted(out.glob("*.gpkg")) + sorted(out.glob("*_population.tif"))
    lines = ["# Sample layers", "",
             f"Generated by `{SCRIPT}` (run `python {SCRIPT} --docs` to refresh this file). "
             "Do not edit the data by hand: rebuild with `python scripts/build_sample_layers.py "
             "330624 330727 --shared data --out layers`.", "",
             "**Only the county outlines, the shared boundary lines computed from them, the official township "
             "names and codes, the county seat and the published census totals are real. Township polygons, "
             "the population pattern, villages, roads, facilities, boundary markers and place-name categories "
             "are illustrative** — they look like a county's data and have the right structure, but they are "
             "not where things are on the ground. Never use them for real decisions.", "",
             "## Files", "", "| file | size | content |", "|---|---|---|"]
    for f in files:
        kb = f.stat().st_size / 1024
        what = ("GeoPackage, all vector layers + `provenance` table" if f.suffix == ".gpkg"
                else "GeoTIFF, population per 100 m cell")
        lines.append(f"| `{f.name}` | {kb:,.0f} KB | {what} |")
    lines += ["", "Layers in each GeoPackage (all in CGCS2000, EPSG:4490): `county` and `neighbours` "
              "(adcode, name — real outlines), `townships`, `villages`, `roads`, `elderly_care`, `cemeteries`, "
              "`social_work_stations`, `disability_homes`, `children_homes`, `boundary_lines`, "
              "`boundary_markers`, `place_names`, and the attribute table `provenance` "
              "(layer, part, status, source, method, generated_by).", "",
              "## Population raster", "",
              "`<code>_population.tif`: one band, int32 persons per cell, 100 m cells aligned to multiples of "
              "100 m in the county's CGCS2000 Gauss–Krüger zone (EPSG:4549 for both samples), DEFLATE "
              "compressed. A cell belongs to the township containing its centre; cells outside the county hold "
              "0. The raster sums exactly to the county total, and over each township exactly to the "
              "township's `population`. Tags `total_population`, `total_status`, `total_source`, `status`, "
              "`generated_by` record provenance.", "",
              "## Provenance", ""]
    for f in sorted(out.glob("*.gpkg")):
        prov = pyogrio.read_dataframe(f, layer="provenance")
        name = pyogrio.read_dataframe(f, layer="county")["name"].iloc[0]
        lines += [f"### {f.stem} {name}", "", "| layer | part | status | source | method / note |",
                  "|---|---|---|---|---|"]
        for r in prov.itertuples():
            lines.append(f"| {r.layer} | {r.part} | **{r.status}** | {r.source} | {r.method} |")
        lines.append("")
    lines += ["## Deliberate gaps", "",
              "The facility layers leave gaps on purpose so that coverage analyses have something to find "
              "(all computed from the data in the tests, not from these names):", ""]
    for f in sorted(out.glob("*.gpkg")):
        lines += [f"**{f.stem}**:", ""] + [f"- {g}" for g in describe_gaps(f)] + [""]
    lines += ["## Layer kinds and columns", "",
              "Derived from `geoplan/schema.py`. Column names are ASCII; category values are the Chinese terms "
              "(English and Chinese aliases listed in the schema are accepted on input).", "",
              schema_markdown()]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def describe_gaps(gpkg: Path) -> list[str]:
    """Human-readable list of the coverage gaps present in one sample GeoPackage."""
    t = pyogrio.read_dataframe(gpkg, layer="townships")
    nm = dict(zip(t["code"], t["name"]))
    out = []
    ec = pyogrio.read_dataframe(gpkg, layer="elderly_care")
    hc = ec[ec["kind"] == "居家养老服务中心"]
    op = set(hc[hc["status"] == "运营"]["township_code"])
    for c in t["code"]:
        if c not in op:
            planned = c in set(hc["township_code"])
            out.append(f"{nm[c]} ({c}): no operating 居家养老服务中心"
                       + (" (only a planned 规划 one)" if planned else " (none at all)"))
    sw = pyogrio.read_dataframe(gpkg, layer="social_work_stations")
    for c in sorted(set(t["code"]) - set(sw["township_code"])):
        out.append(f"{nm[c]} ({c}): no 社会工作站")
    dh = pyogrio.read_dataframe(gpkg, layer="disability_homes")
    for r in t.itertuples():
        if r.code not in set(dh["township_code"]) and r.population >= 10_000:
            out.append(f"{r.name} ({r.code}): {r.population:,} people and no 残疾人之家")
    cm = pyogrio.read_dataframe(gpkg, layer="cemeteries")
    ok = set(cm[cm["kind"].isin(["公益性公墓", "生态安葬点"])]["township_code"])
    for c in t["code"]:
        if c not in ok:
            out.append(f"{nm[c]} ({c}): neither 公益性公墓 nor 生态安葬点")
    small = t[t["population"] < 10_000]
    out.append("townships under 10,000 people: " + ", ".join(f"{r.name} ({r.population:,})"
                                                            for r in small.itertuples()))
    inst = ec[ec["kind"] == "养老机构"]
    share = inst["nursing_beds"].sum() / inst["beds"].sum()
    out.append(f"nursing-bed share of 养老机构 beds: {share:.1%} (target 55 %)")
    return out


def main(argv=None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("codes", nargs="*", default=list(DEFAULT_CODES), help="6-digit county codes")
    ap.add_argument("--shared", type=Path, default=REPO / "data")
    ap.add_argument("--out", type=Path, default=REPO / "layers")
    ap.add_argument("--population", type=int, help="override the county's resident population")
    ap.add_argument("--pop60", type=int, help="override the county's population aged 60+")
    ap.add_argument("--docs", action="store_true", help="only rewrite <out>/README.md")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite <out>/README.md")
    args = ap.parse_args(argv)
    if args.docs:
        print(write_docs(args.out))
        return 0
    codes = args.codes or list(DEFAULT_CODES)
    if (args.population or args.pop60) and len(codes) != 1:
        ap.error("--population/--pop60 need exactly one county code")
    zj = load_zhejiang(args.shared)
    lines = compute_shared_lines(zj)
    for code in codes:
        res = build_county(code, args.shared, args.out, zj=zj, lines=lines,
                           population=args.population, pop60=args.pop60)
        print(f"{code}: {res['gpkg'].name}, {res['tif'].name}, total {res['total']:,}, {res['seconds']} s")
    if not args.no_docs:
        write_docs(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
