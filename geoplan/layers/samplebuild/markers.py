"""Boundary lines between adjacent counties and the boundary markers (界桩) along them.

Real part: the lines, computed from the DataV outlines. Illustrative part:
the markers and the points where roads cross the lines.

Parts shared by two counties (boundary lines, their markers, the points
where roads cross them) use ``default_rng([line code, stream])`` and are
computed in one fixed CRS (EPSG:4549) from both outlines, so the two
counties' samples agree exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from shapely.ops import substring

from geoplan.layers.samplebuild.common import S_LINE, rng_for

#: Shared boundary lines are computed in this one CRS whichever county is
#: being built, so both neighbours get bit-identical lines and markers.
LINE_EPSG = 4549
#: Outlines are generalised: a neighbour's edge may lie this far off.
ADJ_TOL_M = 200.0
#: A pair of counties is adjacent only if they share at least this much line.
MIN_SHARED_M = 1000.0


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
