"""Issue #13: a workspace refuses layers that lie somewhere else than the county.

The township layer must lie within 5 km of the county's official outline shipped with geoplan;
facility and village points must lie within the townships (plus 2 km). The distance in the message
is compared with a brute-force computation over every vertex of the layer.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from geoplan.i18n import set_language
from geoplan.layers import crs as _crs
from geoplan.layers.sample import load_sample
from geoplan.layers.workspace import WorkspaceError, build_workspace
from geoplan.layers.wsplace import county_outline

CODE = "330624"


@pytest.fixture(scope="module")
def county():
    return load_sample(CODE)


@pytest.fixture(autouse=True)
def chinese():
    set_language("zh_CN")
    yield
    set_language(None)


def _towns_file(county, path, *, dx=0.0, dy=0.0):
    t = county["townships"][["code", "name", "population", "pop_60plus", "geometry"]]
    t = t.set_geometry(t.geometry.translate(xoff=dx, yoff=dy))
    t.to_file(path, engine="pyogrio")
    return path, t


def _farthest_km(layer: gpd.GeoDataFrame, outline: gpd.GeoDataFrame) -> float:
    """The largest distance of any vertex of ``layer`` from ``outline``, one point at a time (reference)."""
    metric = outline.estimate_utm_crs()  # another metric CRS than geoplan's Gauss–Krüger zone
    area = outline.to_crs(metric).geometry.iloc[0]
    best = 0.0
    for geom in layer.to_crs(metric).geometry:
        for x, y in shapely.get_coordinates(geom):
            best = max(best, Point(x, y).distance(area))
    return best / 1000


def _km_in(message: str) -> float:
    return float(re.search(r"约 ([\d.]+) 公里", message)[1])


def test_shifted_townships_are_refused_with_file_distance_and_direction(county, tmp_path):
    path, shifted = _towns_file(county, tmp_path / "towns.gpkg", dx=5.0)
    with pytest.raises(WorkspaceError) as err:
        build_workspace(CODE, tmp_path / "ws", townships=path)
    text = str(err.value)
    assert "towns.gpkg" in text and "以东" in text and "坐标系" in text
    expected = _farthest_km(shifted, county_outline(CODE))
    assert 400 < expected < 600
    # the figure is rounded to whole km; the two metric CRSs differ by a few tenths of a percent there
    assert _km_in(text) == pytest.approx(expected, rel=0.01)
    assert not (tmp_path / "ws").exists()  # nothing written


def test_direction_follows_the_shift(county, tmp_path):
    path, _ = _towns_file(county, tmp_path / "north.gpkg", dy=1.0)
    with pytest.raises(WorkspaceError, match="以北"):
        build_workspace(CODE, tmp_path / "ws", townships=path)
    path, _ = _towns_file(county, tmp_path / "sw.gpkg", dx=-0.5, dy=-0.5)
    with pytest.raises(WorkspaceError, match="以西南"):
        build_workspace(CODE, tmp_path / "ws2", townships=path)


def test_message_in_english(county, tmp_path):
    path, _ = _towns_file(county, tmp_path / "towns.gpkg", dx=5.0)
    set_language("en")
    with pytest.raises(WorkspaceError) as err:
        build_workspace(CODE, tmp_path / "ws", townships=path)
    text = str(err.value)
    assert "towns.gpkg" in text and "km east of the official outline" in text and "coordinate system" in text


def test_townships_where_the_county_is_are_accepted(county, tmp_path):
    path, _ = _towns_file(county, tmp_path / "towns.gpkg")
    r = build_workspace(CODE, tmp_path / "ws", townships=path)
    assert "townships" in r.written
    # a small offset (a datum shift, a drawing difference: about 1 km) stays within the 5 km margin
    path, moved = _towns_file(county, tmp_path / "moved.gpkg", dx=0.01)
    assert _farthest_km(moved, county_outline(CODE)) < 5
    assert "townships" in build_workspace(CODE, tmp_path / "ws2", townships=path).written


def test_just_beyond_the_margin_is_refused(county, tmp_path):
    # about 0.1° east: the layer overlaps the county but reaches some 10 km beyond it
    path, moved = _towns_file(county, tmp_path / "towns.gpkg", dx=0.1)
    expected = _farthest_km(moved, county_outline(CODE))
    assert expected > 5
    with pytest.raises(WorkspaceError) as err:
        build_workspace(CODE, tmp_path / "ws", townships=path)
    assert _km_in(str(err.value)) == pytest.approx(expected, abs=0.15)


def test_villages_outside_the_townships_are_counted_with_rows(county, tmp_path):
    towns, _ = _towns_file(county, tmp_path / "towns.gpkg")
    v = county["villages"].copy()
    moved = [3, 10, 11, 40, 41, 42, 100]
    geoms = v.geometry.to_numpy().copy()
    geoms[moved] = shapely.transform(geoms[moved], lambda xy: xy + [1.0, 0.0])  # ~100 km east
    v = v.set_geometry(geoms, crs=v.crs)
    v.to_file(tmp_path / "村.gpkg", engine="pyogrio")
    # independent count: points farther than 2 km from every township (UTM, point by point)
    metric = county["townships"].estimate_utm_crs()
    area = county["townships"].to_crs(metric).union_all()
    far = [i for i, g in enumerate(v.to_crs(metric).geometry) if g.distance(area) > 2000]
    assert far == moved
    with pytest.raises(WorkspaceError) as err:
        build_workspace(CODE, tmp_path / "ws", townships=towns, villages=tmp_path / "村.gpkg")
    text = str(err.value)
    assert f"{len(far)} 行位于乡镇界之外 2 公里以上" in text
    assert "第 4 个要素" in text and "第 12 个要素" in text  # the first rows moved, 1-based


def test_facility_table_outside_is_counted(county, tmp_path):
    import pandas as pd

    towns, _ = _towns_file(county, tmp_path / "towns.gpkg")
    care = county["elderly_care"]
    lon, lat = care.geometry.x.to_numpy().copy(), care.geometry.y.to_numpy().copy()
    lon[[0, 5]] += 2.0
    table = pd.DataFrame(care.drop(columns="geometry")).assign(经度=lon, 纬度=lat)
    table.to_csv(tmp_path / "养老.csv", index=False)
    with pytest.raises(WorkspaceError) as err:
        build_workspace(CODE, tmp_path / "ws", townships=towns, facilities=[f"{tmp_path / '养老.csv'}:elderly_care"])
    text = str(err.value)
    assert "2 行位于乡镇界之外 2 公里以上" in text and "第 2 行" in text and "第 7 行" in text


def test_reach_is_zero_inside(county):
    from geoplan.layers.wsplace import reach

    d, _ = reach(county["townships"], county_outline(CODE))
    assert d < 1000
    assert np.isfinite(d)
    assert _crs.metric_crs(county["townships"]).to_epsg() == 4549
