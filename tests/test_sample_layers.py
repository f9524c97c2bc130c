"""Invariants of the shipped sample layers (layers/*.gpkg, layers/*_population.tif).

Every check is computed from the files themselves (and from the raw data in
data/ where a published figure or the official list exists), so a broken
generator fails here. A fresh rebuild into a temporary directory must give
the same data as the shipped files. Other counties: tests/test_sample_counties.py.
"""

from __future__ import annotations

import re
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from geoplan.layers.divisions import county_townships  # noqa: E402
from geoplan.layers.schema import MARKER_ID_RE, SCHEMAS  # noqa: E402

LAYERS = REPO / "layers"
SHARED = REPO / "data"
CODES = ["330624", "330727"]
KINDS = ["townships", "villages", "roads", "elderly_care", "cemeteries", "social_work_stations",
         "disability_homes", "children_homes", "boundary_lines", "boundary_markers", "place_names"]
METRIC = 4549


_cache: dict = {}


def layer(code: str, name: str, base: Path = LAYERS) -> gpd.GeoDataFrame:
    key = (str(base), code, name)
    if key not in _cache:
        _cache[key] = pyogrio.read_dataframe(base / f"{code}.gpkg", layer=name)
    return _cache[key].copy()


def metric(gdf):
    return gdf.to_crs(METRIC)


def sources_md() -> str:
    return (SHARED / "SOURCES.md").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def rebuilt(tmp_path_factory):
    from geoplan.layers.samplebuild import build_county

    out = tmp_path_factory.mktemp("layers")
    for code in CODES:
        build_county(code, out)
    return out


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def test_files_present_and_small():
    files = [LAYERS / f"{c}{s}" for c in CODES for s in (".gpkg", "_population.tif")]
    for f in files:
        assert f.exists(), f
    assert sum(f.stat().st_size for f in files) < 5 * 1024 * 1024


@pytest.mark.parametrize("code", CODES)
def test_vector_layers_in_cgcs2000(code):
    names = {n for n, _ in pyogrio.list_layers(LAYERS / f"{code}.gpkg")}
    assert set(KINDS) | {"county", "neighbours", "provenance"} <= names
    for name in KINDS + ["county", "neighbours"]:
        assert pyogrio.read_info(LAYERS / f"{code}.gpkg", layer=name)["crs"] == "EPSG:4490", name


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("kind", KINDS)
def test_schema_valid(code, kind):
    try:
        from geoplan.layers.io import read_layer
    except ImportError:  # before geoplan.layers.io existed: check columns only
        df = layer(code, kind)
        assert set(SCHEMAS[kind].required_columns) <= set(df.columns)
        return
    official = county_townships(code)["code"].tolist()
    gdf = read_layer(LAYERS / f"{code}.gpkg", kind, layer=kind, townships=official)
    assert len(gdf) > 0
    assert gdf.crs.to_epsg() == 4490
    ids = gdf[SCHEMAS[kind].id_field]
    assert ids.is_unique


# ---------------------------------------------------------------------------
# Townships
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("code", CODES)
def test_township_partition(code):
    t = metric(layer(code, "townships"))
    outline = metric(layer(code, "county")).geometry.union_all()
    assert abs(t.area.sum() - outline.area) / outline.area < 0.001
    assert abs(t.geometry.union_all().area - outline.area) / outline.area < 0.001
    geoms = t.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    overlap = shapely.area(shapely.intersection(geoms[i[keep]], geoms[j[keep]]))
    assert overlap.max(initial=0.0) < 1.0  # m²
    assert (t.geom_type == "Polygon").all(), "every township must be one contiguous polygon"
    assert t.is_valid.all()


@pytest.mark.parametrize("code", CODES)
def test_townships_match_official_list(code):
    t = layer(code, "townships")
    official = county_townships(code)
    assert sorted(t["code"]) == sorted(official["code"])
    assert dict(zip(t["code"], t["name"])) == dict(zip(official["code"], official["name"]))
    assert (t["county_code"] == code).all()
    for name, kind in zip(t["name"], t["kind"]):
        assert name.endswith(kind)


@pytest.mark.parametrize("code", CODES)
def test_township_sizes_uneven(code):
    t = metric(layer(code, "townships"))
    t["km2"] = t.area / 1e6
    streets = t[t["kind"] == "街道"]
    rural = t[t["kind"] != "街道"]
    assert streets["km2"].median() < rural["km2"].median()
    assert streets["population"].median() > rural["population"].median()
    assert t["km2"].max() / t["km2"].min() > 3


# ---------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------

def _census(code):
    """Published totals from SOURCES.md: (population, 60+ or None, status), or None."""
    text = sources_md()
    if code == "330624":
        m = re.search(r"resident population ([\d,]+);\s*aged 60\+ ([\d,]+)", text)
        assert m, "census figures not found in SOURCES.md"
        return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")), "real"
    if code == "330727":
        m = re.search(r"磐安县: resident population at the 7th census \(2020\) about ([\d,]+) \(published\s+rounded",
                      text)
        assert m, "磐安's census figure not found in SOURCES.md"
        return int(m.group(1).replace(",", "")), None, "real (rounded)"
    return None


@pytest.mark.parametrize("code", CODES)
def test_raster_totals_and_grid(code):
    t = layer(code, "townships")
    with rasterio.open(LAYERS / f"{code}_population.tif") as src:
        a = src.read(1)
        assert src.crs.to_epsg() == METRIC
        assert src.res == (100.0, 100.0)
        assert a.dtype == np.int32
        assert src.profile.get("compress", "").lower() == "deflate"
        tags = src.tags()
    assert a.min() >= 0
    total = int(a.sum())
    assert total == int(t["population"].sum())
    assert int(tags["total_population"]) == total
    census = _census(code)
    if census is not None:
        assert total == census[0]
        if census[1] is not None:
            assert int(t["pop_60plus"].sum()) == census[1]
        assert tags["total_status"] == census[2]
    else:
        assert tags["total_status"] == "illustrative"
    assert (t["pop_60plus"] <= t["population"]).all()


@pytest.mark.parametrize("code", CODES)
def test_township_population_equals_raster_sum(code):
    t = metric(layer(code, "townships"))
    with rasterio.open(LAYERS / f"{code}_population.tif") as src:
        a = src.read(1)
        tr = src.transform
    rows, cols = np.indices(a.shape)
    x = tr.c + (cols + 0.5) * tr.a
    y = tr.f + (rows + 0.5) * tr.e
    inside_any = np.zeros(a.shape, bool)
    for r in t.itertuples():
        m = shapely.contains_xy(r.geometry, x, y)
        inside_any |= m
        assert int(a[m].sum()) == r.population, r.name
    assert int(a[~inside_any].sum()) == 0, "population outside the county"


@pytest.mark.parametrize("code", CODES)
def test_small_and_large_townships(code):
    t = layer(code, "townships")
    assert (t["population"] < 10_000).any()
    assert (t[t["kind"] == "乡"]["population"] < 10_000).all()
    assert t.loc[t["population"].idxmax(), "kind"] == "街道"


# ---------------------------------------------------------------------------
# Villages and place names
# ---------------------------------------------------------------------------

def official_villages(code: str) -> pd.DataFrame:
    """The raw 2023 list (data/raw/divisions_2023), read here independently of geoplan's package data."""
    raw = pd.read_csv(SHARED / "raw" / "divisions_2023" / "villages.csv.gz", dtype=str, keep_default_na=False)
    return raw[raw["areaCode"] == code].set_index("code")


def check_villages(v: gpd.GeoDataFrame, t: gpd.GeoDataFrame, code: str, prov: pd.DataFrame) -> None:
    """Villages carry the official names and codes, under their township, with the kind the code gives."""
    from pypinyin import lazy_pinyin

    raw = official_villages(code)
    assert v["code"].is_unique
    assert sorted(v["code"]) == sorted(raw.index)
    v = v.set_index("code")
    assert (v["township_code"] == raw.loc[v.index, "streetCode"]).all()
    assert (v["committee"] == raw.loc[v.index, "name"]).all()
    assert set(v["township_code"]) <= set(t["code"])
    band = v.index.str[9:].astype(int)
    assert (v.loc[(band >= 200) & (band <= 399), "kind"] == "村").all()
    assert (v.loc[band < 200, "kind"] == "社区").all()
    assert (v.loc[band > 399, "kind"] == "社区").all()
    assert (v.loc[v["kind"] == "村", "name"].str.endswith("村")).all()
    assert (v.loc[band < 200, "name"].str.endswith("社区")).all()
    assert not v["name"].str.contains("委").any(), "the place name is the settlement's, not the committee's"
    assert not v.duplicated(["township_code", "name"]).any()
    # The place name is the committee's without 委会 (对面山村委会 → 对面山村), except the one planted
    # homophone, which is a homophone of another 村 of its township and is stated in the provenance.
    stem = v["name"].str.replace(r"社区$", "", regex=True)
    odd = [c for c in v.index if not v.at[c, "committee"].startswith(stem[c])]
    assert len(odd) == 1, odd
    planted = v.loc[odd[0]]
    note = " ".join(prov.loc[prov["part"] == "deliberate naming issue", "method"])
    assert planted["name"] in note and odd[0] in note and planted["committee"] in note
    same_tw = v[(v["township_code"] == planted["township_code"]) & (v.index != odd[0])]
    key = "".join(lazy_pinyin(planted["name"]))
    assert any("".join(lazy_pinyin(n)) == key for n in same_tw["name"])


@pytest.mark.parametrize("code", CODES)
def test_villages(code):
    v = layer(code, "villages")
    t = layer(code, "townships")
    prov = pyogrio.read_dataframe(LAYERS / f"{code}.gpkg", layer="provenance")
    check_villages(v, t, code, prov)
    assert v["name"].is_unique
    assert set(v["township_code"]) == set(t["code"])
    per_tw = v.groupby("township_code")["population"].sum()
    pop = t.set_index("code")["population"]
    assert np.allclose(per_tw.reindex(pop.index), pop, rtol=0.02)
    vm = metric(v)
    tm = metric(t).set_index("code")
    for r in vm.itertuples():
        assert tm.loc[r.township_code, "geometry"].buffer(1).contains(r.geometry), r.name
    # The counts SOURCES.md gives (新昌 292, 磐安 236 — the 十四五 plan's target after the merger).
    m = re.search(rf"{code}\s+has (\d+)", sources_md())
    assert m and int(m.group(1)) == len(v)
    if code == "330727":
        m = re.search(r"371 → (\d+)", sources_md())
        assert m and int(m.group(1)) == len(v)


@pytest.mark.parametrize("code", CODES)
def test_place_names(code):
    pn = layer(code, "place_names")
    t = layer(code, "townships")
    v = layer(code, "villages")
    assert set(t["name"]) <= set(pn["name"])
    assert set(v["name"]) <= set(pn["name"])
    assert pn["name_id"].is_unique


# ---------------------------------------------------------------------------
# Roads
# ---------------------------------------------------------------------------

def _road_graph(r: gpd.GeoDataFrame, directed: bool):
    g = nx.DiGraph() if directed else nx.Graph()
    for geom, ow in zip(r.geometry, r["oneway"].fillna(False).astype(bool)):
        cs = list(geom.coords)
        u, v = tuple(cs[0]), tuple(cs[-1])
        g.add_edge(u, v)
        if directed and not ow:
            g.add_edge(v, u)
    return g


@pytest.mark.parametrize("code", CODES)
def test_road_network_connected(code):
    r = layer(code, "roads")
    assert (r.geom_type == "LineString").all()
    assert 100 < len(r) < 5000
    assert nx.is_connected(_road_graph(r, directed=False))
    assert nx.is_strongly_connected(_road_graph(r, directed=True))
    assert r["oneway"].fillna(False).astype(bool).any()


@pytest.mark.parametrize("code", CODES)
def test_road_classes_and_shape(code):
    r = layer(code, "roads")
    classes = set(r["road_class"])
    assert {"secondary", "tertiary", "residential"} <= classes
    assert classes & {"motorway", "trunk", "primary"}
    nverts = shapely.get_num_coordinates(r.geometry.values)
    assert (nverts > 2).mean() > 0.8, "roads should wiggle"
    assert r["speed_kmh"].notna().mean() < 0.3
    rm = metric(r)
    outline = metric(layer(code, "county")).geometry.union_all()
    outside = rm.geometry.difference(outline.buffer(50)).length
    assert outside.sum() / rm.length.sum() < 0.02


@pytest.mark.parametrize("code", CODES)
def test_roads_noded_at_junctions(code):
    """Apart from grade-separated motorways, lines meet only at shared end points."""
    r = layer(code, "roads")
    r = r[r["road_class"] != "motorway"].reset_index(drop=True)
    geoms = r.geometry.values
    ends = [{tuple(g.coords[0]), tuple(g.coords[-1])} for g in geoms]
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    for a, b in zip(i, j):
        if a >= b:
            continue
        pts = {tuple(c) for c in shapely.get_coordinates(shapely.intersection(geoms[a], geoms[b]))}
        assert pts <= (ends[a] & ends[b]), (r.road_id[a], r.road_id[b])


# ---------------------------------------------------------------------------
# Facilities: deliberate gaps, computed from the data
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("code", CODES)
def test_deliberate_gaps(code):
    t = layer(code, "townships")
    codes = set(t["code"])
    ec = layer(code, "elderly_care")
    hc = ec[ec["kind"] == "居家养老服务中心"]
    operating = set(hc[hc["status"] == "运营"]["township_code"])
    planned_only = set(hc[hc["status"] == "规划"]["township_code"]) - operating
    assert codes - operating, "a township without an operating home-care centre"
    assert planned_only, "a township with only a planned home-care centre"
    assert codes - set(hc["township_code"]), "a township with no home-care centre at all"
    sw = layer(code, "social_work_stations")
    assert codes - set(sw["township_code"]), "a township without a social-work station"
    dh = layer(code, "disability_homes")
    big = set(t[t["population"] >= 10_000]["code"])
    assert big - set(dh["township_code"]), "a township of 10,000+ without a disability home"
    cm = layer(code, "cemeteries")
    burial = set(cm[cm["kind"].isin(["公益性公墓", "生态安葬点"])]["township_code"])
    assert codes - burial, "a township with neither public cemetery nor eco-burial site"
    # ... but not everything is missing: the gaps are exceptions.
    assert len(operating) >= len(codes) - 3
    assert len(set(sw["township_code"])) >= len(codes) - 2


@pytest.mark.parametrize("code", CODES)
def test_elderly_care_beds(code):
    ec = layer(code, "elderly_care")
    inst = ec[ec["kind"] == "养老机构"]
    assert len(inst) >= 3
    assert (inst["beds"] > 0).all()
    assert (inst["nursing_beds"] <= inst["beds"]).all()
    assert (inst["dementia_beds"].fillna(0) <= inst["beds"]).all()
    share = inst["nursing_beds"].sum() / inst["beds"].sum()
    assert 0.3 < share < 0.55
    assert (inst["dementia_beds"].fillna(0) > 0).any()
    for kind in ("elderly_care", "cemeteries", "social_work_stations", "disability_homes", "children_homes"):
        f = layer(code, kind)
        assert set(f["status"]) == {"运营", "规划"} or set(f["status"]) <= {"运营", "规划"}
    ch = layer(code, "children_homes")
    v = layer(code, "villages")
    assert set(ch["village_code"]) <= set(v["code"])


# ---------------------------------------------------------------------------
# Boundary lines and markers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("code", CODES)
def test_boundary_lines(code):
    bl = layer(code, "boundary_lines")
    nb = layer(code, "neighbours")
    # Township lines (乡级) inside the county lie on the shared edge of their two townships.
    tl = bl[bl["level"] == "乡级"]
    bl = bl[bl["level"] != "乡级"]
    tw = metric(layer(code, "townships")).set_index("code")
    assert len(tl) and tl["left_code"].str.startswith(code).all() and tl["right_code"].str.startswith(code).all()
    for r in metric(tl).itertuples():
        shared = shapely.intersection(tw.loc[r.left_code, "geometry"].boundary, tw.loc[r.right_code, "geometry"].boundary)
        assert r.geometry.length > 1000 and shapely.hausdorff_distance(r.geometry, shared) < 1000
    assert bl["line_code"].is_unique
    assert (bl["left_code"] < bl["right_code"]).all()
    assert ((bl["left_code"] == code) | (bl["right_code"] == code)).all()
    others = set(bl["left_code"]) | set(bl["right_code"])
    assert others - {code} == set(nb["adcode"])
    for r in bl.itertuples():
        assert (r.level == "市级") == (r.left_code[:4] != r.right_code[:4])
    # Each line lies on the county's and the neighbour's outline (generalised).
    county = metric(layer(code, "county")).geometry.iloc[0]
    nbm = metric(nb).set_index("adcode")
    for r in metric(bl).itertuples():
        other = r.right_code if r.left_code == code else r.left_code
        pts = shapely.points(shapely.get_coordinates(r.geometry))
        for poly in (county, nbm.loc[other, "geometry"]):
            d = shapely.distance(pts, poly.boundary)
            assert np.percentile(d, 95) < 100 and d.max() < 300, r.name
        assert r.geometry.length > 1000


@pytest.mark.parametrize("code", CODES)
def test_boundary_markers(code):
    mk = layer(code, "boundary_markers")
    bl = metric(layer(code, "boundary_lines")).set_index("line_code")
    parts = mk["marker_id"].str.extract(MARKER_ID_RE.pattern)
    assert parts.notna().all().all()
    assert (parts[0] == mk["line_code"]).all()
    assert set(mk["line_code"]) <= set(bl.index)
    assert set(bl.index) <= set(mk["line_code"]), "every line has markers"
    mk["seq"] = parts[1]
    mk["letter"] = parts[2]
    groups = mk.groupby(["line_code", "seq"])["letter"].apply(lambda s: "".join(sorted(s)))
    assert set(groups) <= {"Q", "AB", "CDE"}
    assert "AB" in set(groups) and "Q" in set(groups)
    mm = metric(mk)
    d = np.array([shapely.distance(g, bl.loc[lc, "geometry"]) for g, lc in zip(mm.geometry, mm["line_code"])])
    assert d.max() < 50
    # A and B stand on opposite sides of the line, a few metres apart.
    for (lc, seq), grp in mm.groupby(["line_code", "seq"]):
        if set(grp["letter"]) == {"A", "B"}:
            a, b = grp.geometry.values
            assert 1 < a.distance(b) < 30
            assert shapely.crosses(shapely.LineString([a, b]), bl.loc[lc, "geometry"]) or \
                shapely.distance(shapely.LineString([a, b]), bl.loc[lc, "geometry"]) == 0
    dates = pd.to_datetime(mk["last_inspected"].dropna())
    assert dates.min().year >= 2015 and dates.max().year <= 2025
    # A line is inspected whole in one campaign: its markers carry the line's last inspection year.
    year = layer(code, "boundary_lines").set_index("line_code")["last_inspected_year"]
    got = pd.to_datetime(mk["last_inspected"]).dt.year
    assert (got.dropna() == mk.loc[got.notna(), "line_code"].map(year)).all()
    assert (dates.dt.year <= 2020).any(), "some markers are due for the five-year inspection"
    assert (mk["condition"] != "完好").any() and (mk["condition"] == "完好").mean() > 0.5


def test_tri_points_and_pairs_at_road_crossings():
    found_triple = False
    for code in CODES:
        mk = layer(code, "boundary_markers")
        letters = mk["marker_id"].str[-1]
        found_triple |= letters.isin(["C", "D", "E"]).any()
        # Where a road leaves the county across a line (a road node on the
        # line) there is an A/B pair.
        r = metric(layer(code, "roads"))
        bl = layer(code, "boundary_lines")
        lines = metric(bl[bl["level"] != "乡级"]).geometry.union_all()
        pairs = metric(mk[letters.isin(["A", "B"])])
        ends = shapely.points(np.vstack([shapely.get_coordinates(shapely.get_point(r.geometry.values, k))
                                         for k in (0, -1)]))
        on_line = ends[shapely.distance(ends, lines) < 1.0]
        assert len(on_line) >= 2
        assert all(pairs.distance(p).min() < 50 for p in on_line)
        # Other, accidental crossings are rare.
        cross = shapely.get_parts(shapely.intersection(r.geometry.union_all(), lines))
        assert len(cross) < 3 * len(on_line) + 10
    assert found_triple


def test_shared_line_agrees_between_samples():
    a, b = (layer(c, "boundary_lines") for c in CODES)
    common = set(a["line_code"]) & set(b["line_code"])
    assert len(common) == 1
    lc = common.pop()
    la = a[a["line_code"] == lc].iloc[0]
    lb = b[b["line_code"] == lc].iloc[0]
    assert (la["left_code"], la["right_code"]) == tuple(sorted(CODES))
    assert la["name"] == lb["name"] == "新昌县—磐安县线"
    assert la.geometry.equals_exact(lb.geometry, 0.0)
    ma = layer(CODES[0], "boundary_markers").set_index("marker_id")
    mb = layer(CODES[1], "boundary_markers").set_index("marker_id")
    ma = ma[ma["line_code"] == lc].sort_index()
    mb = mb[mb["line_code"] == lc].sort_index()
    assert list(ma.index) == list(mb.index) and len(ma)
    assert all(x.equals_exact(y, 0.0) for x, y in zip(ma.geometry, mb.geometry))
    pd.testing.assert_frame_equal(pd.DataFrame(ma.drop(columns="geometry")),
                                  pd.DataFrame(mb.drop(columns="geometry")))


# ---------------------------------------------------------------------------
# Provenance and determinism
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("code", CODES)
def test_provenance_table(code):
    prov = pyogrio.read_dataframe(LAYERS / f"{code}.gpkg", layer="provenance")
    assert {"layer", "part", "status", "source", "method", "generated_by"} <= set(prov.columns)
    status = prov["status"].str.lower()
    assert status.str.startswith("real").any() and status.str.contains("illustrative").any()
    covered = " ".join(prov["layer"])
    for kind in KINDS:
        assert kind in covered, kind
    assert "population raster" in covered
    real_layers = set(prov[status == "real"]["layer"])
    assert "county" in real_layers and "townships" in real_layers
    assert prov["generated_by"].str.contains("geoplan sample build").all()
    assert prov[prov["status"] == "illustrative"]["generated_by"].str.contains("seed").any()


@pytest.mark.parametrize("code", CODES)
def test_rebuild_is_identical(code, rebuilt):
    names = [n for n, _ in pyogrio.list_layers(LAYERS / f"{code}.gpkg")]
    assert names == [n for n, _ in pyogrio.list_layers(rebuilt / f"{code}.gpkg")]
    for name in names:
        a = layer(code, name)
        b = layer(code, name, base=rebuilt)
        if isinstance(a, gpd.GeoDataFrame):
            assert all(x.equals_exact(y, 0.0) for x, y in zip(a.geometry, b.geometry)), name
            a, b = pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
        pd.testing.assert_frame_equal(a, b, obj=name)
    with rasterio.open(LAYERS / f"{code}_population.tif") as s1, \
            rasterio.open(rebuilt / f"{code}_population.tif") as s2:
        assert s1.transform == s2.transform and s1.crs == s2.crs
        assert np.array_equal(s1.read(1), s2.read(1))
