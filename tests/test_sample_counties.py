"""Sample layers for Zhejiang counties other than the two bundled ones, built with `geoplan sample build`.

天台县 (331023, the issue's example; neighbour of 新昌县 across a prefecture
border), 云和县 (331125, every neighbour in its own prefecture 丽水) and
三门县 (331022, on the coast, with islands). Each is checked against the same
invariants as the bundled samples, against the raw data in data/, and the
boundary line 天台 shares with 新昌 against the bundled 新昌 sample.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_sample_layers import LAYERS, check_villages  # noqa: E402

from geoplan.cli.main import main  # noqa: E402
from geoplan.layers.divisions import county_townships  # noqa: E402
from geoplan.layers.io import read_layer  # noqa: E402
from geoplan.layers.schema import MARKER_ID_RE, SCHEMAS  # noqa: E402

COUNTIES = {"331023": "天台县", "331125": "云和县", "331022": "三门县"}
KINDS = ["townships", "villages", "roads", "elderly_care", "cemeteries", "social_work_stations",
         "disability_homes", "children_homes", "boundary_lines", "boundary_markers", "place_names"]
METRIC = 4549


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("zhejiang")
    res = CliRunner().invoke(main, ["sample", "build", *COUNTIES, "--out", str(out)])
    assert res.exit_code == 0, res.output
    for code, name in COUNTIES.items():
        assert f"{code} {name}" in res.output
    return out


def read(out: Path, code: str, name: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(out / f"{code}.gpkg", layer=name)


def test_neighbour_and_coast_cases_are_what_they_claim(built):
    lines = read(built, "331125", "boundary_lines")
    yunhe = lines[lines["level"] != "乡级"]  # township lines (乡级) lie inside the county
    assert len(yunhe) and (yunhe["level"] == "县级").all()
    assert (lines.loc[lines["level"] == "乡级", "left_code"].str[:6] == "331125").all()
    assert set(yunhe["left_code"].str[:4]) | set(yunhe["right_code"].str[:4]) == {"3311"}
    tiantai = read(built, "331023", "boundary_lines")
    assert (tiantai["level"] == "市级").any()
    # 三门: a third of its outline or more is coast (shared with no county), and it has islands.
    sm = read(built, "331022", "county").to_crs(METRIC).geometry.iloc[0]
    lines = read(built, "331022", "boundary_lines")
    lines = lines[lines["level"] != "乡级"].to_crs(METRIC)
    assert lines.length.sum() < 0.7 * sm.boundary.length
    assert len(shapely.get_parts(sm)) > 5


@pytest.mark.parametrize("code", COUNTIES)
def test_every_layer_validates(built, code):
    names = {n for n, _ in pyogrio.list_layers(built / f"{code}.gpkg")}
    assert set(KINDS) | {"county", "neighbours", "provenance"} <= names
    official = county_townships(code)["code"].tolist()
    for kind in KINDS:
        gdf = read_layer(built / f"{code}.gpkg", kind, layer=kind, townships=official)
        assert len(gdf) > 0, kind
        assert gdf.crs.to_epsg() == 4490
        assert gdf[SCHEMAS[kind].id_field].is_unique, kind


@pytest.mark.parametrize("code", COUNTIES)
def test_townships_population_and_villages(built, code):
    t = read(built, code, "townships")
    official = county_townships(code)
    assert dict(zip(t["code"], t["name"])) == dict(zip(official["code"], official["name"]))
    tm = t.to_crs(METRIC)
    outline = read(built, code, "county").to_crs(METRIC).geometry.union_all()
    assert abs(tm.area.sum() - outline.area) / outline.area < 0.001
    assert tm.is_valid.all()
    # One contiguous polygon per township, plus whole or part islands for coastal townships.
    mainland = max(shapely.get_parts(outline), key=lambda q: q.area).buffer(-1.0)
    for geom in tm.geometry:
        parts = sorted(shapely.get_parts(geom), key=lambda q: -q.area)
        assert not any(q.intersects(mainland) for q in parts[1:])
    with rasterio.open(built / f"{code}_population.tif") as src:
        a = src.read(1)
        tr = src.transform
        tags = src.tags()
    rows, cols = np.indices(a.shape)
    x, y = tr.c + (cols + 0.5) * tr.a, tr.f + (rows + 0.5) * tr.e
    r_m = t.to_crs(src.crs)
    for r in r_m.itertuples():
        assert int(a[shapely.contains_xy(r.geometry, x, y)].sum()) == r.population, r.name
    assert int(a.sum()) == int(t["population"].sum()) == int(tags["total_population"])
    assert tags["total_status"] == "illustrative"
    v = read(built, code, "villages")
    prov = pyogrio.read_dataframe(built / f"{code}.gpkg", layer="provenance")
    check_villages(v, t, code, prov)
    per_tw = v.groupby("township_code")["population"].sum().reindex(t["code"]).fillna(0)
    assert np.allclose(per_tw.values, t["population"].values, rtol=0.02)
    vm = v.to_crs(METRIC)
    tmi = tm.set_index("code")
    assert all(tmi.loc[r.township_code, "geometry"].buffer(1).contains(r.geometry) for r in vm.itertuples())
    assert {"real", "illustrative"} <= set(prov["status"])


@pytest.mark.parametrize("code", COUNTIES)
def test_roads_connected_and_noded(built, code):
    r = read(built, code, "roads")
    g, d = nx.Graph(), nx.DiGraph()
    for geom, ow in zip(r.geometry, r["oneway"].fillna(False).astype(bool)):
        u, v = tuple(geom.coords[0]), tuple(geom.coords[-1])
        g.add_edge(u, v)
        d.add_edge(u, v)
        if not ow:
            d.add_edge(v, u)
    assert nx.is_connected(g) and nx.is_strongly_connected(d)
    r = r[r["road_class"] != "motorway"].reset_index(drop=True)
    geoms = r.geometry.values
    ends = [{tuple(x.coords[0]), tuple(x.coords[-1])} for x in geoms]
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    for a, b in zip(i, j):
        if a < b:
            pts = {tuple(c) for c in shapely.get_coordinates(shapely.intersection(geoms[a], geoms[b]))}
            assert pts <= (ends[a] & ends[b]), (r.road_id[a], r.road_id[b])


@pytest.mark.parametrize("code", COUNTIES)
def test_boundary_markers_on_lines(built, code):
    mk = read(built, code, "boundary_markers")
    bl = read(built, code, "boundary_lines").to_crs(METRIC).set_index("line_code")
    assert mk["marker_id"].str.fullmatch(MARKER_ID_RE.pattern).all()
    assert set(mk["line_code"]) == set(bl.index)
    mm = mk.to_crs(METRIC)
    d = [shapely.distance(p, bl.loc[lc, "geometry"]) for p, lc in zip(mm.geometry, mm["line_code"])]
    assert max(d) < 50


def test_shared_line_with_the_bundled_sample_agrees(built):
    """天台 and 新昌 are built separately; their common line and its markers are the same."""
    a = read(built, "331023", "boundary_lines").set_index("line_code")
    b = pyogrio.read_dataframe(LAYERS / "330624.gpkg", layer="boundary_lines").set_index("line_code")
    common = sorted(set(a.index) & set(b.index))
    assert len(common) == 1 and a.loc[common[0], "name"] == "新昌县—天台县线"
    assert a.loc[common[0], "geometry"].equals_exact(b.loc[common[0], "geometry"], 0.0)
    ma = read(built, "331023", "boundary_markers").set_index("marker_id")
    mb = pyogrio.read_dataframe(LAYERS / "330624.gpkg", layer="boundary_markers").set_index("marker_id")
    ma, mb = ma[ma["line_code"] == common[0]].sort_index(), mb[mb["line_code"] == common[0]].sort_index()
    assert list(ma.index) == list(mb.index) and len(ma)
    pd.testing.assert_frame_equal(pd.DataFrame(ma.drop(columns="geometry")),
                                  pd.DataFrame(mb.drop(columns="geometry")))


def test_cli_never_overwrites_and_explains_bad_codes(built):
    gpkg = built / "331023.gpkg"
    before = gpkg.read_bytes()
    runner = CliRunner()
    res = runner.invoke(main, ["sample", "build", "331023", "--out", str(built)])
    assert res.exit_code == 1 and "不会覆盖" in res.output and "--overwrite" in res.output
    assert gpkg.read_bytes() == before
    assert not [p for p in built.iterdir() if p.name.startswith(".")], "no temporary files left behind"
    for code, words in (("110101", "不是浙江省的县级行政区划代码"), ("33062", "6 位数字"),
                        ("330103", "没有乡镇")):
        res = runner.invoke(main, ["sample", "build", code, "--out", str(built / "x")])
        assert res.exit_code == 1 and words in res.output and "Traceback" not in res.output, res.output
    assert not (built / "x").exists()
    res = runner.invoke(main, ["sample", "list"])
    assert res.exit_code == 0 and "331023" in res.output and "天台县" in res.output


def test_sample_list_and_refusals_in_english(tmp_path):
    # The four counties that cannot be built: named by the data, explained in the reader's language.
    import re

    runner = CliRunner()
    res = runner.invoke(main, ["--lang", "en", "sample", "list"])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if "cannot be built" in line]
    assert len(notes) == 4
    for line in notes:
        # What is left once the county's own name is taken out is English.
        assert not re.search(r"[\u4e00-\u9fff]", re.sub(r"[\u4e00-\u9fff]+区 \(\d{6}\)", "", line)), line
    for code, words in (("110101", "not a county-level division code"), ("33062", "6-digit"),
                        ("330103", "has no townships")):
        res = runner.invoke(main, ["--lang", "en", "sample", "build", code, "--out", str(tmp_path / "x")])
        assert res.exit_code == 1 and words in res.output and "Traceback" not in res.output, res.output
        assert "无法生成" not in res.output and "不是浙江省" not in res.output
    assert not (tmp_path / "x").exists()
