"""Township census totals onto a 100 m grid: exact sums, never outside the county, method recorded."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoplan.layers.dasymetric import (METHOD_RASTER, METHOD_ROADS, METHOD_SETTLEMENTS, METHOD_UNIFORM,
                                       spread_population, write_population_raster)
from geoplan.layers.io import PopulationRaster, read_population
from geoplan.layers.sample import load_sample


@pytest.fixture(scope="module")
def county():
    return load_sample("330624")


def zone_sums(raster: PopulationRaster, towns: gpd.GeoDataFrame):
    """Persons per township by cell centre in polygon (shapely, independent of rasterio), and outside."""
    rows, cols = np.nonzero(raster.data)
    t = raster.transform
    pts = shapely.points(t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e)
    vals = raster.data[rows, cols]
    tm = towns.to_crs(raster.crs)
    sums = {}
    covered = np.zeros(len(pts), bool)
    for code, g in zip(tm["code"], tm.geometry):
        inside = shapely.contains_xy(g, shapely.get_x(pts), shapely.get_y(pts))
        sums[code] = vals[inside].sum()
        covered |= inside
    return sums, vals[~covered].sum()


def test_sums_exactly_to_each_township(county):
    towns = county["townships"]
    r = spread_population(towns, villages=county["villages"], roads=county["roads"])
    for raster, col in ((r.population, "population"), (r.pop_60plus, "pop_60plus")):
        assert np.array_equal(raster.data, np.round(raster.data))  # whole persons
        sums, outside = zone_sums(raster, towns)
        assert outside == 0
        assert {k: int(v) for k, v in sums.items()} == dict(zip(towns["code"], towns[col].astype(int)))
    assert (r.townships["method"] == METHOD_SETTLEMENTS).all()
    assert r.population.crs.to_epsg() == 4549 and r.population.cell_area_m2 == 100 * 100
    # The 60+ raster never exceeds the resident raster by much: the same weights.
    assert np.corrcoef(r.population.data.ravel(), r.pop_60plus.data.ravel())[0, 1] > 0.95


def test_each_township_takes_the_first_source_it_has(county):
    towns = county["townships"]
    no_village = "330624200"  # 城南乡 without its villages
    villages = county["villages"][county["villages"]["township_code"] != no_village]
    far_roads = county["roads"].iloc[:0]
    r = spread_population(towns, villages=villages, roads=county["roads"])
    m = dict(zip(r.townships["code"], r.townships["method"]))
    assert m[no_village] == METHOD_ROADS and m["330624001"] == METHOD_SETTLEMENTS
    # Road-adjacent land only: every person within 250 m (+ half a diagonal) of a road.
    sub = towns[towns["code"] == no_village]
    rr = spread_population(sub, roads=county["roads"])
    assert rr.townships["method"].iloc[0] == METHOD_ROADS
    rows, cols = np.nonzero(rr.population.data)
    t = rr.population.transform
    pts = shapely.points(t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e)
    roads_m = shapely.union_all(county["roads"].to_crs(rr.population.crs).geometry.to_numpy())
    assert shapely.distance(pts, roads_m).max() <= 250 + 71
    ru = spread_population(sub, roads=far_roads)
    assert ru.townships["method"].iloc[0] == METHOD_UNIFORM
    assert int(ru.population.total) == int(sub["population"].iloc[0])


def test_water_gets_no_one(county):
    towns = county["townships"]
    town = towns[towns["code"] == "330624001"]
    lake = gpd.GeoDataFrame(geometry=[shapely.buffer(town.to_crs(4549).geometry.iloc[0].centroid, 800)], crs=4549)
    r = spread_population(town, villages=county["villages"], exclude=lake)
    rows, cols = np.nonzero(r.population.data)
    t = r.population.transform
    pts = shapely.points(t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e)
    assert not shapely.contains(lake.geometry.iloc[0], pts).any()
    assert int(r.population.total) == int(town["population"].iloc[0])


def test_user_raster_in_wgs84_is_reprojected_and_rescaled(county, tmp_path):
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    src = county.population
    # A WorldPop-like raster: geographic WGS84, about 3 arc-seconds, persons per cell.
    h, w = src.data.shape
    left, top = src.transform.c, src.transform.f
    bounds = (left, top + h * src.transform.e, left + w * src.transform.a, top)
    dst_t, dw, dh = calculate_default_transform(src.crs.to_wkt(), "EPSG:4326", w, h, *bounds, resolution=1 / 1200)
    dst = np.zeros((dh, dw))
    reproject(src.data, dst, src_transform=src.transform, src_crs=src.crs.to_wkt(), dst_transform=dst_t,
              dst_crs="EPSG:4326", resampling=Resampling.sum)
    path = tmp_path / "worldpop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=dh, width=dw, count=1, dtype="float64",
                       crs="EPSG:4326", transform=dst_t) as f:
        f.write(dst * 0.8, 1)  # WorldPop's totals differ from the census: rescaled anyway
    user = read_population(path)
    towns = county["townships"]
    r = spread_population(towns, raster=user, villages=county["villages"])
    assert (r.townships["method"] == METHOD_RASTER).all()
    sums, outside = zone_sums(r.population, towns)
    assert outside == 0 and {k: int(v) for k, v in sums.items()} == dict(zip(towns["code"], towns["population"]))
    # The distribution is the user's: aggregated to 500 m blocks it matches the sample raster
    # (which the sample townships' totals were summed from).
    def blocks(rast, x0, y1, n, m):
        col0 = int(round((x0 - rast.transform.c) / 100)); row0 = int(round((rast.transform.f - y1) / 100))
        a = rast.data[row0:row0 + n * 5, col0:col0 + m * 5]
        return a.reshape(n, 5, m, 5).sum(axis=(1, 3))
    x0 = max(src.transform.c, r.population.transform.c); y1 = min(src.transform.f, r.population.transform.f)
    n, m = 60, 90
    a, b = blocks(src, x0, y1, n, m), blocks(r.population, x0, y1, n, m)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_written_raster_reads_back(county, tmp_path):
    towns = county["townships"]
    r = spread_population(towns[towns["code"] == "330624110"], villages=county["villages"])
    p = write_population_raster(r.population, tmp_path / "p.tif", "method")
    back = read_population(p)
    assert back.total == r.population.total == towns.loc[towns["code"] == "330624110", "population"].iloc[0]
    assert not list(tmp_path.glob(".*tmp*"))


def test_bad_totals_are_refused(county):
    from geoplan.errors import GeoplanError

    towns = county["townships"].copy()
    towns.loc[0, "population"] = -5
    with pytest.raises(GeoplanError, match="330624001"):
        spread_population(towns)
