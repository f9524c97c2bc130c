"""Census totals per township spread onto a 100 m grid (dasymetric mapping).

A bureau has the 7th-census resident and 60+ population of each township,
not a population raster; travel-time rules need people where they live.
:func:`spread_population` puts each township's totals onto the cells of that
township, in proportion to a weight that says where people are likely to
live — the classic dasymetric method (Wright 1936; Mennis 2003), with the
township as source zone and the 100 m cell as target:

1. **user raster** — when a population raster is given (WorldPop, GHS-POP or
   any other, in any CRS), it is resampled onto the grid (average of the
   source cells, i.e. the density shape) and used as the weight;
2. **settlements** — otherwise, where the township has village or
   settlement points, each point spreads its weight (its ``population``
   where known, else 1) over a Gaussian kernel (σ = 300 m, cut at 900 m)
   within its own township;
3. **road-adjacent land** — otherwise cells within 250 m of a road;
4. **uniform** — otherwise every cell of the township alike.

Each township uses the first source that gives it a positive weight, and
the method per township is returned. Cells count only when their centre lies
inside a township (a township too small to hold a centre gets the cell under
its representative point), so nobody is placed outside the county; cells in
``exclude`` polygons (water) get no one when the township has other cells.
Persons are whole numbers per cell, rounded by largest remainder within each
township, so the raster sums *exactly* to each township's census figures.

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.layers import crs as _crs
from geoplan.layers.io import PopulationRaster

CELL_M = 100.0
KERNEL_SIGMA_M = 300.0
KERNEL_CUTOFF_M = 900.0
ROAD_BUFFER_M = 250.0

METHOD_RASTER = "用户人口栅格按普查数重新标定"
METHOD_SETTLEMENTS = "村(居民点)核密度分配"
METHOD_ROADS = "道路两侧250米范围平均分配"
METHOD_UNIFORM = "乡镇内平均分配"

METHOD_TEXT = (
    "分区密度法（dasymetric）：以乡镇(街道)第七次人口普查常住人口和60岁及以上人口为总数，"
    "分配到100米格网。权重依次取：用户提供的人口栅格（重投影后取源格网平均值）；"
    "村(社区)或居民点（按人口，σ=300米高斯核，900米截断）；道路两侧250米；乡镇内平均。"
    "只分配到中心点在本乡镇界内的格子，县界外不分配；每格为整数人，按最大余数法取整，"
    "各乡镇合计与普查数完全一致。"
)


@dataclass
class DasymetricResult:
    """Output of :func:`spread_population`.

    Attributes
    ----------
    population, pop_60plus : PopulationRaster
        Whole persons per 100 m cell (resident, aged 60+), Gauss–Krüger CRS.
    townships : DataFrame
        Per township: ``code``, ``name``, ``method``, ``cells`` (cells
        holding people), ``population``, ``pop_60plus`` (the census figures,
        equal to the raster sums).
    method : str
        The method in words (Chinese), for reports and the workspace manifest.

    Examples
    --------
    >>> r = spread_population(county["townships"], villages=county["villages"])
    >>> len(r.townships), r.population.data.shape == r.pop_60plus.data.shape
    (12, True)
    """

    population: PopulationRaster
    pop_60plus: PopulationRaster
    townships: pd.DataFrame
    method: str = METHOD_TEXT
    sources: list = field(default_factory=list)


def _grid(towns_m: gpd.GeoDataFrame, cell: float):
    x0, y0, x1, y1 = towns_m.total_bounds
    x0, y0 = np.floor(x0 / cell) * cell, np.floor(y0 / cell) * cell
    x1, y1 = np.ceil(x1 / cell) * cell, np.ceil(y1 / cell) * cell
    width, height = int(round((x1 - x0) / cell)), int(round((y1 - y0) / cell))
    return Affine(cell, 0.0, x0, 0.0, -cell, y1), width, height


def _zone_raster(towns_m, transform, shape) -> np.ndarray:
    """Township index (0-based) per cell by cell centre; -1 outside every township."""
    from rasterio.features import rasterize

    zones = rasterize(((g, i) for i, g in enumerate(towns_m.geometry)), out_shape=shape,
                      transform=transform, fill=-1, dtype="int32", all_touched=False)
    for i, g in enumerate(towns_m.geometry):
        if not (zones == i).any():
            p = shapely.point_on_surface(g)
            col, row = ~transform * (p.x, p.y)
            zones[int(row), int(col)] = i
    return zones


def _cell_centres(transform, shape):
    rows, cols = np.indices(shape)
    xs = transform.c + (cols + 0.5) * transform.a
    ys = transform.f + (rows + 0.5) * transform.e
    return xs, ys


def _kernel_weights(points_m: gpd.GeoDataFrame, weights: np.ndarray, transform, shape,
                    zones: np.ndarray) -> np.ndarray:
    """Sum of Gaussian kernels of the points on the grid, each kept inside its own township."""
    out = np.zeros(shape)
    cell = transform.a
    r = int(np.ceil(KERNEL_CUTOFF_M / cell))
    xy = shapely.get_coordinates(points_m.geometry.to_numpy())
    for (x, y), w in zip(xy, weights):
        col, row = ~transform * (x, y)
        c0, r0 = int(np.floor(col)), int(np.floor(row))
        rs, cs = np.arange(max(r0 - r, 0), min(r0 + r + 1, shape[0])), np.arange(max(c0 - r, 0), min(c0 + r + 1, shape[1]))
        if len(rs) == 0 or len(cs) == 0 or not (0 <= r0 < shape[0] and 0 <= c0 < shape[1]):
            continue
        own = zones[r0, c0]
        if own < 0:
            continue  # a settlement outside the county weighs nothing in it
        cx = transform.c + (cs + 0.5) * cell
        cy = transform.f + (rs + 0.5) * transform.e
        d2 = (cx[None, :] - x) ** 2 + (cy[:, None] - y) ** 2
        k = np.exp(-d2 / (2 * KERNEL_SIGMA_M ** 2)) * (d2 <= KERNEL_CUTOFF_M ** 2)
        out[np.ix_(rs, cs)] += w * k * (zones[np.ix_(rs, cs)] == own)
    return out


def _road_weights(roads_m: gpd.GeoDataFrame, transform, shape) -> np.ndarray:
    from rasterio.features import rasterize

    buf = shapely.buffer(roads_m.geometry.to_numpy(), ROAD_BUFFER_M)
    buf = [g for g in buf if g is not None and not g.is_empty]
    if not buf:
        return np.zeros(shape)
    return rasterize(((g, 1) for g in buf), out_shape=shape, transform=transform, fill=0,
                     dtype="uint8").astype(float)


def _resample_raster(raster: PopulationRaster, transform, shape, crs) -> np.ndarray:
    from rasterio.warp import Resampling, reproject

    out = np.zeros(shape, dtype="float64")
    reproject(source=raster.data.astype("float64"), destination=out, src_transform=raster.transform,
              src_crs=raster.crs.to_wkt(), dst_transform=transform, dst_crs=crs.to_wkt(),
              resampling=Resampling.average, src_nodata=None, dst_nodata=0.0)
    return np.where(np.isfinite(out) & (out > 0), out, 0.0)


def _largest_remainder(zones: np.ndarray, weight: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Whole persons per cell: each zone's total split by weight, rounded by largest remainder."""
    flat_z, flat_w = zones.ravel(), weight.ravel()
    inside = np.flatnonzero(flat_z >= 0)
    z, w = flat_z[inside], flat_w[inside]
    wsum = np.bincount(z, weights=w, minlength=len(totals))
    share = np.where(wsum[z] > 0, w / np.where(wsum[z] > 0, wsum[z], 1.0), 0.0)
    exact = share * totals[z]
    base = np.floor(exact)
    left = totals - np.bincount(z, weights=base, minlength=len(totals))
    frac = exact - base
    # Within each zone, rank cells by descending remainder (ties by position) and add one
    # person to the first `left` of them.
    order = np.lexsort((np.arange(len(z)), -frac, z))
    zs = z[order]
    start = np.searchsorted(zs, np.arange(len(totals)))
    rank = np.arange(len(z)) - start[zs]
    give = rank < np.round(left[zs])
    base[order[give]] += 1
    out = np.zeros(flat_z.shape, dtype="float64")
    out[inside] = base
    return out.reshape(zones.shape)


def spread_population(townships: gpd.GeoDataFrame, *, villages: gpd.GeoDataFrame | None = None,
                      roads: gpd.GeoDataFrame | None = None, raster: PopulationRaster | None = None,
                      exclude: gpd.GeoDataFrame | None = None, cell_m: float = CELL_M,
                      source: str = "") -> DasymetricResult:
    """Spread township census totals onto a grid, summing exactly per township.

    Parameters
    ----------
    townships : GeoDataFrame
        ``code``, ``name``, ``population``, ``pop_60plus`` (whole persons) and polygons.
    villages : GeoDataFrame, optional
        Village or settlement points; ``population`` used as weight where present.
    roads : GeoDataFrame, optional
        Road lines, for townships without settlements.
    raster : PopulationRaster, optional
        A user population raster (any CRS), used as the weight where it has people.
    exclude : GeoDataFrame, optional
        Polygons where nobody lives (water bodies).
    cell_m : float
        Cell size in metres (100).
    source : str
        Name recorded in the rasters' ``source``.

    Returns
    -------
    DasymetricResult

    Examples
    --------
    >>> from geoplan.layers.sample import load_sample
    >>> c = load_sample("330624")
    >>> r = spread_population(c["townships"], villages=c["villages"], roads=c["roads"])
    >>> int(r.population.total), int(r.pop_60plus.total)
    (419036, 109091)
    """
    for col in ("code", "population", "pop_60plus"):
        if col not in townships.columns:
            raise GeoplanError(_("The township layer has no column “{column}”, so no population can be spread: join "
                                 "the census table to the township layer first.").format(column=col))
    _crs.require_crs(townships, _("township layer"))
    crs = _crs.metric_crs(townships)
    towns_m = townships.to_crs(crs).reset_index(drop=True)
    pops = {c: pd.to_numeric(towns_m[c], errors="coerce").to_numpy(dtype=float) for c in ("population", "pop_60plus")}
    for c, vals in pops.items():
        bad = ~np.isfinite(vals) | (vals < 0) | (vals != np.round(vals))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise GeoplanError(_("Township {code}: “{column}” is not a whole number ≥ 0 ({value}), so no population "
                                 "can be spread.").format(code=towns_m["code"].iloc[i], column=c, value=vals[i]))
    transform, width, height = _grid(towns_m, cell_m)
    shape = (height, width)
    zones = _zone_raster(towns_m, transform, shape)
    if exclude is not None and len(exclude):
        from rasterio.features import rasterize

        water = rasterize(((g, 1) for g in exclude.to_crs(crs).geometry), out_shape=shape,
                          transform=transform, fill=0, dtype="uint8").astype(bool)
        # Keep a township's water cells only if it has nothing else.
        n = len(towns_m)
        dry = np.bincount(zones[(zones >= 0) & ~water], minlength=n) > 0
        zones = np.where(water & (zones >= 0) & dry[np.clip(zones, 0, None)], -1, zones)

    n = len(towns_m)
    candidates: list[tuple[str, np.ndarray]] = []
    if raster is not None:
        candidates.append((METHOD_RASTER, _resample_raster(raster, transform, shape, crs)))
    if villages is not None and len(villages):
        vm = villages.to_crs(crs)
        w = (pd.to_numeric(vm["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
             if "population" in vm.columns else np.ones(len(vm)))
        w = np.where(w > 0, w, 1.0)
        candidates.append((METHOD_SETTLEMENTS, _kernel_weights(vm, w, transform, shape, zones)))
    if roads is not None and len(roads):
        candidates.append((METHOD_ROADS, _road_weights(roads.to_crs(crs), transform, shape)))
    candidates.append((METHOD_UNIFORM, np.ones(shape)))

    weight = np.zeros(shape)
    method = np.array([""] * n, dtype=object)
    inside = zones >= 0
    zi = np.clip(zones, 0, None)
    for name, w in candidates:
        sums = np.bincount(zones[inside], weights=w[inside], minlength=n)
        take = (method == "") & (sums > 0)
        if take.any():
            cells = inside & take[zi]
            weight[cells] = w[cells]
            method[take] = name
    pop = _largest_remainder(zones, weight, pops["population"])
    old = _largest_remainder(zones, weight, pops["pop_60plus"])
    cells = np.bincount(zones[inside], weights=(pop[inside] > 0).astype(float), minlength=n).astype(int)
    table = pd.DataFrame({"code": towns_m["code"].astype(str), "name": towns_m.get("name", ""),
                          "method": method, "cells": cells,
                          "population": pops["population"].astype(np.int64),
                          "pop_60plus": pops["pop_60plus"].astype(np.int64)})
    return DasymetricResult(PopulationRaster(pop, transform, crs, source or "dasymetric"),
                            PopulationRaster(old, transform, crs, source or "dasymetric"),
                            table)


def write_population_raster(raster: PopulationRaster, path, description: str = "", *, overwrite: bool = False):
    """Write persons per cell as a single-band GeoTIFF through :func:`geoplan.output.atomic_target`.

    An existing file is replaced only with ``overwrite``; a failed write leaves nothing behind.

    Examples
    --------
    >>> from geoplan.layers.io import read_population
    >>> p = tmp / "pop.tif"
    >>> write_population_raster(county.population, p) == p
    True
    >>> round(read_population(p).total) == round(county.population.total)
    True
    """
    from pathlib import Path

    from geoplan.output import atomic_target

    with atomic_target(path, overwrite=overwrite) as tmp:
        write_tif(raster, tmp, description)
    return Path(path)


def write_tif(raster: PopulationRaster, path, description: str = "") -> None:
    """Write the GeoTIFF at ``path`` as it is (callers give a temporary path of :func:`geoplan.output.atomic_target`)."""
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", height=raster.data.shape[0], width=raster.data.shape[1],
                       count=1, dtype="float32", crs=raster.crs.to_wkt(), transform=raster.transform,
                       nodata=None, compress="deflate") as dst:
        dst.write(raster.data.astype("float32"), 1)
        if description:
            dst.update_tags(method=description)
