"""Illustrative population: township figures that add up to the county totals, and the 100 m raster.

The county totals are the published census figures where ``data/SOURCES.md``
gives them (新昌县 exact, 磐安县 rounded), otherwise an illustrative density.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from affine import Affine
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from geoplan.layers.samplebuild.common import S_POP, largest_remainder, rng_for

#: Published census figures (data/SOURCES.md). ``pop60`` ``None`` means unknown
#: (then 26 % of the total, labelled illustrative).
PUBLISHED_POPULATION = {
    "330624": dict(population=419_036, pop60=109_091, status="real",
                   source="新昌县第七次全国人口普查公报 (2020-11-01), via data/SOURCES.md"),
    "330727": dict(population=177_100, pop60=None, status="real (rounded)",
                   source="磐安县第七次全国人口普查 (2020), published rounded as 17.71万, via data/SOURCES.md; "
                          "60+ not published: illustrative 26 %"),
}
#: Illustrative people per official village / community where no total is published.
PER_VILLAGE, PER_COMMUNITY = 900, 5_000
#: Share of people aged 60+ where none is published (Zhejiang, 7th census: about 25 %).
ILLUSTRATIVE_60_SHARE = 0.26


def county_totals(code: str, population: int | None, pop60: int | None, n_villages: dict):
    """County population and 60+ with their status and source.

    Parameters
    ----------
    code : str
        County code.
    population, pop60 : int or None
        Totals given by the user (then labelled illustrative).
    n_villages : dict
        Official village-level units by kind (``{"村": 216, "社区": 20}``):
        without a published figure the total is 900 people per 村 and 5,000
        per 社区 — about what 新昌县 (253 村, 39 社区, 419,036 people) has.

    Returns
    -------
    tuple
        ``(population, pop60, status, source)``; status ``real``,
        ``real (rounded)`` or ``illustrative``.

    Examples
    --------
    >>> county_totals("330727", None, None, {"村": 216, "社区": 20})[:3]
    (177100, 46046, 'real (rounded)')
    >>> county_totals("331023", None, None, {"村": 374, "社区": 21})[:3]
    (442000, 114920, 'illustrative')
    """
    if population is not None:
        p60 = pop60 if pop60 is not None else int(round(population * ILLUSTRATIVE_60_SHARE))
        return population, p60, "illustrative", "--population/--pop60 given on the command line"
    if code in PUBLISHED_POPULATION:
        d = PUBLISHED_POPULATION[code]
        p60 = d["pop60"] if d["pop60"] is not None else int(round(d["population"] * ILLUSTRATIVE_60_SHARE))
        return d["population"], p60, d["status"], d["source"]
    pop = int(round(PER_VILLAGE * n_villages.get("村", 0) + PER_COMMUNITY * n_villages.get("社区", 0), -3))
    pop = max(pop, 1000)
    return pop, int(round(pop * ILLUSTRATIVE_60_SHARE)), "illustrative", \
        (f"no published census total in data/SOURCES.md; illustrative {PER_VILLAGE:,} people per 村 and "
         f"{PER_COMMUNITY:,} per 社区 of the official list (60+ ≈ 26 %)")


def township_targets(kinds: list[str], seat_tw: int, total: int, pop60: int, code: str):
    """Target population and 60+ per township (sums exactly to the totals).

    Every 乡 and one 镇 are kept under 10,000 so that small townships exist;
    街道 are the largest.
    """
    rng = rng_for(code, S_POP)
    w = np.array([{"街道": rng.uniform(2.0, 3.5), "镇": rng.uniform(0.9, 1.8), "乡": rng.uniform(0.25, 0.4)}
                  .get(k, 1.0) for k in kinds])
    w[seat_tw] = rng.uniform(4.0, 5.0)
    towns = [i for i, k in enumerate(kinds) if k == "镇" and i != seat_tw]
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
    if big:  # a county of only 乡 and one 镇 has none: then the shares stand as drawn
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


def village_population(grid, transform, owner, villages: pd.DataFrame, township_codes) -> np.ndarray:
    """People of each village: every populated cell goes to the nearest village/community of its township."""
    vpop = np.zeros(len(villages), dtype=np.int64)
    h, w = grid.shape
    cx = transform.c + 50 + 100 * np.arange(w)
    cy = transform.f - 50 - 100 * np.arange(h)
    X, Y = np.meshgrid(cx, cy)
    for k, c in enumerate(township_codes):
        idx = np.flatnonzero(villages["township_code"].values == c)
        m = owner == k
        if not len(idx) or not m.any():
            continue
        _, nn = cKDTree(villages[["x", "y"]].values[idx]).query(np.column_stack([X[m], Y[m]]))
        np.add.at(vpop, idx[nn], grid[m])
    return vpop
