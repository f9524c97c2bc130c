"""HTML maps: content of the generated pages (no browser; see test_browser.py for rendering)."""

import dataclasses
import html
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geoplan import i18n
from geoplan.coverage.evaluation import evaluate
from geoplan.layers.crs import to_metric, wgs84_to_gcj02_xy
from geoplan.cli.map import map_group
from geoplan.maps.html import (MapError, basemap_tiles, coverage_map, gazetteer_map, inspection_map,
                               leaflet_assets, people_beyond, save_map)
from geoplan.coverage.plans import load_plan
from geoplan.layers.sample import load_sample

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]

#: Strings that run script if a page inserts them as HTML (or breaks out of a <script> element).
XSS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "'><iframe src=javascript:alert(1)>",
    "</script><script>alert(1)</script>",
    '<a href="javascript:alert(1)">点我</a>',
    "<!--<script>alert(1)//-->",
    "\u2028<b onmouseover=alert(1)>x</b>",
]

DATA_RE = re.compile(r'<script type="application/json" class="gp-data" id="([^"]+)" data-layer="([^"]*)">'
                     r"(.*?)</script>", re.S)


def data_blocks(page: str) -> dict[str, dict]:
    """Layer name (as shown, unescaped) → FeatureCollection, parsed as the browser parses it."""
    return {html.unescape(name): json.loads(body) for _, name, body in DATA_RE.findall(page)}


def features_named(blocks, name):
    return [f for fc in blocks.values() for f in fc["features"] if f["properties"].get("n") == name]


def synthetic_routes(markers: gpd.GeoDataFrame, team_names=("第一组", "第二组")) -> gpd.GeoDataFrame:
    """Two team-days of legs between consecutive markers of two lines."""
    rows = []
    for team, (code, part) in zip(team_names, list(markers.sort_values("marker_id").groupby("line_code"))[:2]):
        pts = part.geometry.tolist()[:5]
        ids = part["marker_id"].tolist()[:5]
        for i in range(1, len(pts)):
            rows.append({"team": team, "day": "2024-05-06", "order": i, "stop": ids[i],
                         "geometry": shapely.LineString([pts[i - 1], pts[i]])})
    return gpd.GeoDataFrame(rows, crs=markers.crs)


def synthetic_isochrones(county) -> gpd.GeoDataFrame:
    fac = county["elderly_care"]
    fac = fac[fac["kind"] == "居家养老服务中心"]
    m = to_metric(fac)
    return gpd.GeoDataFrame(
        {"facility_id": list(fac["facility_id"]) * 2, "minutes": [15] * len(fac) + [30] * len(fac)},
        geometry=list(m.buffer(2500).values) + list(m.buffer(5000).values), crs=m.crs)


def synthetic_per_cell(county) -> gpd.GeoDataFrame:
    """A routing result per population cell: straight-line distance to the nearest centre at 30 km/h."""
    cells = county.population.cell_centres()
    fac = county["elderly_care"]
    centres = to_metric(fac[fac["kind"] == "居家养老服务中心"]).to_crs(cells.crs)
    d = np.min([cells.distance(c) for c in centres.geometry], axis=0)
    status = np.where(np.arange(len(cells)) % 97 == 0, "not_snapped", "ok")  # a few people off the network
    return cells.assign(minutes=np.where(status == "ok", d / 500.0, np.nan), status=status)


def test_people_beyond_counts_everyone_beyond_or_without_route(county):
    per_cell = synthetic_per_cell(county)
    blocks = people_beyond(per_cell, 15)
    expected = per_cell.loc[(per_cell["status"] != "ok") | (per_cell["minutes"] > 15), "population"].sum()
    assert blocks["population"].sum() == pytest.approx(expected, abs=len(blocks))  # rounded per block
    assert blocks["population"].sum() < per_cell["population"].sum()
    assert len(people_beyond(per_cell.assign(minutes=0.0, status="ok"), 15)) == 0


@pytest.fixture(scope="module")
def county():
    return load_sample("330624")


@pytest.fixture(scope="module")
def evaluation(county):
    return evaluate(load_plan(ROOT / "plans" / "330624_2022.toml"), county.layers, 2022)


@pytest.fixture(scope="module")
def offline_coverage(county, evaluation, tmp_path_factory):
    sites = gpd.GeoDataFrame({"site_id": ["S1"], "name": ["拟建回山站"], "covered_population": [1200]},
                             geometry=[shapely.Point(121.0, 29.45)], crs=4490)
    m = coverage_map(county, evaluation, travel=synthetic_per_cell(county), proposed_sites=sites,
                     uncovered=people_beyond(synthetic_per_cell(county), 15), gap_minutes=15,
                     basemap="none", offline=True, data_date="2022-12-31")
    path = save_map(m, tmp_path_factory.mktemp("maps") / "coverage.html")
    return path.read_text(encoding="utf-8"), path


# -- basemaps ----------------------------------------------------------------

def test_basemap_tile_templates(monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    assert basemap_tiles("none") == []
    (osm,) = basemap_tiles("osm")
    assert osm.url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    with pytest.raises(MapError, match="TIANDITU_KEY"):
        basemap_tiles("tianditu-vec")
    base, note = basemap_tiles("tianditu-vec", "abc123")
    assert "/vec_w/wmts?" in base.url and "LAYER=vec" in base.url and base.url.endswith("tk=abc123")
    assert "/cva_w/wmts?" in note.url and note.overlay
    assert "{z}" in base.url and "TILEROW={y}" in base.url and "TILECOL={x}" in base.url
    monkeypatch.setenv("TIANDITU_KEY", "k&x=<1>")
    img, cia = basemap_tiles("tianditu-img")
    assert "/img_w/" in img.url and "/cia_w/" in cia.url
    assert img.url.endswith("tk=k%26x%3D%3C1%3E")  # the key cannot inject URL parameters or markup
    (gaode,) = basemap_tiles("gaode")
    assert "autonavi.com/appmaptile" in gaode.url and "style=8" in gaode.url and gaode.subdomains == "1234"
    with pytest.raises(MapError, match="'google'"):
        basemap_tiles("google")


def test_gaode_basemap_shifts_data_to_gcj02(county):
    lon, lat = 120.9, 29.5
    site = gpd.GeoDataFrame({"name": ["已知点"]}, geometry=[shapely.Point(lon, lat)], crs=4490)
    coords = {}
    for basemap in ("gaode", "osm"):
        page = coverage_map(county, None, proposed_sites=site, basemap=basemap, population=False,
                            facility_kinds=[]).get_root().render()
        (feat,) = features_named(data_blocks(page), "已知点")
        coords[basemap] = feat["geometry"]["coordinates"]
        assert "autonavi" in page if basemap == "gaode" else "tile.openstreetmap.org" in page
    glon, glat = wgs84_to_gcj02_xy(lon, lat)
    assert coords["gaode"] == pytest.approx([float(glon), float(glat)], abs=6e-6)
    assert coords["osm"] == pytest.approx([lon, lat], abs=6e-6)
    # the shift is real (hundreds of metres), not rounding noise
    assert abs(coords["gaode"][0] - lon) > 1e-3 and abs(coords["gaode"][1] - lat) > 1e-3


# -- offline file ------------------------------------------------------------

def test_offline_file_is_self_contained_and_small(offline_coverage):
    page, path = offline_coverage
    assert path.stat().st_size < 2 * 1024 * 1024
    assert not re.search(r"<script[^>]+src=", page), "an offline page must not load scripts"
    assert not re.search(r"<link[^>]+href=", page), "an offline page must not load stylesheets"
    assert not re.search(r"url\((?!data:|#)", page), "CSS may only use inlined images"
    js, css = leaflet_assets()
    assert js[:2000] in page and ".leaflet-control-layers" in page
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()
    coords = re.findall(r"\d+\.\d{6,}", "".join(b for _, _, b in DATA_RE.findall(page)))
    assert not coords, f"coordinates are rounded to 5 decimals: {coords[:3]}"


def test_online_file_loads_only_leaflet(county):
    page = gazetteer_map(county["place_names"], basemap="osm").get_root().render()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    sheets = re.findall(r'<link[^>]+href="([^"]+)"', page)
    assert scripts == ["https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"]
    assert sheets == ["https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css"]


# -- content -----------------------------------------------------------------

def test_coverage_map_layers_popups_and_legend(offline_coverage, evaluation, county):
    page, _ = offline_coverage
    blocks = data_blocks(page)
    rules = evaluation.townships.drop_duplicates("rule_id")["title"].tolist()
    for title in rules:
        assert f"达标：{title}" in blocks
    for name in ["乡镇(街道)", "养老服务设施", "公墓及生态安葬设施", "社会工作站", "残疾人之家", "儿童之家",
                 "通行时间（步行至道路 + 驾车）", "缺口：未达标乡镇(街道)", "缺口：15 分钟外人口",
                 "人口分布（每平方公里）", "拟新建站点（选址结果）", "乡镇(街道)名称"]:
        assert name in blocks, name
    # each rule layer colours every township, and failures are those of the evaluation
    first = evaluation.townships[evaluation.townships["title"] == rules[0]]
    feats = blocks[f"达标：{rules[0]}"]["features"]
    assert len(feats) == len(first)
    styles = blocks[f"达标：{rules[0]}"]["styles"]
    n_fail = sum(styles[f["properties"]["sk"]]["fillColor"] == "#e53935" for f in feats)
    assert n_fail == int((first["passed"] == False).sum())  # noqa: E712  (nullable boolean)
    # township popups use the schema's Chinese labels
    town = blocks["乡镇(街道)"]["features"][0]["properties"]["p"]
    assert "<th>常住人口</th>" in town and "<th>60岁及以上人口</th>" in town and "<th>乡镇代码</th>" in town
    fac = blocks["养老服务设施"]["features"][0]["properties"]["p"]
    assert "<th>设施编号</th>" in fac and "<th>状态</th>" in fac
    # the gap layer explains why
    gap = blocks["缺口：未达标乡镇(街道)"]["features"]
    assert len(gap) == evaluation.townships.loc[evaluation.townships["passed"] == False, "code"].nunique()  # noqa: E712
    assert "未达标指标" in gap[0]["properties"]["p"]
    # people outside the 15-minute isochrones add up to no more than the raster total
    people = sum(float(re.search(r"约 ([\d,]+) 人", f["properties"]["t"]).group(1).replace(",", ""))
                 for f in blocks["缺口：15 分钟外人口"]["features"])
    assert 0 < people <= float(np.nansum(county.population.data)) + 1
    title = html.unescape(json.loads(re.search(r"'gp-titlebox', (\".*?\"), true\);", page).group(1)))
    assert "数据日期：2022-12-31" in title and f"规划：{evaluation.plan.name}" in title
    for legend_text in ("达标", "未达标", "15 分钟内可达", "30 分钟内可达", "养老服务设施", "拟新建站点"):
        assert legend_text in page
    # one indicator at a time: the rule layers are radio choices, not checkboxes of the layer control
    choice = re.search(r"geoplan\.choice\(map_\w+, (\"[^\"]*\"), \[(.*?)\]\);", page)
    assert choice and choice.group(2).count("feature_group_") == len(rules)
    overlays = [json.loads(k) for k in re.findall(r'^\s*("[^"]*") : feature_group_', page, re.M)]
    assert not [o for o in overlays if o.startswith("达标")] and "乡镇(街道)名称" in overlays
    # township names written on the map, one label per township
    names = [re.sub(r"<[^>]+>", "", html.unescape(blocks["乡镇(街道)名称"]["icons"][f["properties"]["ik"]]))
             for f in blocks["乡镇(街道)名称"]["features"]]
    assert sorted(names) == sorted(county["townships"]["name"])
    # metric scale only, and a plain Leaflet credit with the data sources
    assert "imperial: false" in page and "setPrefix('<a href=\"https://leafletjs.com\">Leaflet</a>')" in page
    assert "数据来源" in page


def test_inspection_map_routes_per_team_day(county):
    routes = synthetic_routes(county["boundary_markers"])
    page = inspection_map(county["boundary_lines"], county["boundary_markers"], routes,
                          outline=county.outline).get_root().render()
    blocks = data_blocks(page)
    assert {"行政区域界线", "界桩", "路线 第一组 · 2024-05-06", "路线 第二组 · 2024-05-06"} <= set(blocks)
    colours = {name: fc["styles"][0]["color"] for name, fc in blocks.items() if name.startswith("路线")}
    assert len(set(colours.values())) == 2
    icons = " ".join(blocks["路线 第一组 · 2024-05-06"]["icons"])
    assert all(f">{i}</span>" in icons for i in (1, 2, 3, 4)) and ">起</span>" in icons
    markers = blocks["界桩"]
    lost = county["boundary_markers"]["condition"].eq("丢失").sum()
    assert sum(markers["styles"][f["properties"]["sk"]]["fillColor"] == "#d32f2f"
               for f in markers["features"]) == lost
    assert "<th>界桩状况</th>" in markers["features"][0]["properties"]["p"]
    for lang, words in (("zh_CN", "组日路线.*team.*day.*缺少：team"), ("en", "team and a day.*missing: team")):
        i18n.set_language(lang)
        try:
            with pytest.raises(MapError, match=words):
                inspection_map(county["boundary_lines"], county["boundary_markers"], routes.drop(columns="team"))
        finally:
            i18n.set_language(None)


def test_gazetteer_map_categories_and_history(county):
    history = pd.DataFrame({"name_id": ["330624104", "330624104"], "year": [1950, 1992],
                            "event": ["设回山乡", "撤乡建镇"]})
    page = gazetteer_map(county["place_names"], history).get_root().render()
    blocks = data_blocks(page)
    assert {"县级行政区域（1110）", "乡级行政区域（乡、镇、街道）（1120）", "行政村（村民委员会）（1220）"} <= set(blocks)
    (huishan,) = features_named(blocks, "回山镇")
    popup = huishan["properties"]["p"]
    assert "历史沿革" in popup and "撤乡建镇" in popup and "<th>年份</th>" in popup
    assert popup.index("1950") < popup.index("1992")
    (yulin,) = features_named(blocks, "羽林街道")
    assert "无记录" in yulin["properties"]["p"]


# -- safety ------------------------------------------------------------------

def test_text_from_data_is_escaped_everywhere(county, evaluation):
    c = dataclasses.replace(county, layers=dict(county.layers))
    towns = c.layers["townships"].copy()
    towns.loc[towns.index[: len(XSS)], "name"] = XSS[: len(towns)]
    c.layers["townships"] = towns
    fac = c.layers["elderly_care"].copy()
    fac.loc[fac.index[: len(XSS)], "name"] = XSS
    c.layers["elderly_care"] = fac
    iso = synthetic_isochrones(c).assign(kind=XSS[0])
    sites = gpd.GeoDataFrame({"name": XSS}, geometry=[shapely.Point(120.9 + i / 100, 29.5) for i in range(len(XSS))],
                             crs=4490)
    pages = [coverage_map(c, evaluation, isochrones=iso, proposed_sites=sites, title=XSS[1], data_date=XSS[2],
                          offline=True).get_root().render()]
    names = county["place_names"].copy()
    names.loc[names.index[: len(XSS)], "name"] = XSS
    names["category_name"] = XSS[3]
    hist = pd.DataFrame({"name_id": names["name_id"].iloc[: len(XSS)], "note": XSS})
    pages.append(gazetteer_map(names, hist, title=XSS[0]).get_root().render())
    markers = county["boundary_markers"].copy()
    markers["material"] = XSS[5]
    routes = synthetic_routes(markers, team_names=(XSS[0], XSS[4]))
    pages.append(inspection_map(county["boundary_lines"], markers, routes, title=XSS[4]).get_root().render())
    for page in pages:
        for bad in XSS:
            assert bad not in page
        for fragment in ("<img src=x", "<svg onload", "<iframe", "<b onmouseover", "<script>alert",
                         'href="javascript:'):
            assert fragment not in page, fragment
        # every popup/tooltip/icon the page will insert as HTML holds the text escaped
        for fc in data_blocks(page).values():
            for f in fc["features"]:
                for key in ("p", "t"):
                    shown = f["properties"].get(key, "")
                    assert not re.search(r"<(img|svg|iframe|script|a )", shown), shown
    popups = " ".join(f["properties"].get("p", "") for fc in data_blocks(pages[0]).values() for f in fc["features"])
    assert html.escape(XSS[0]) in popups


# -- command line ------------------------------------------------------------

def test_cli_writes_maps_and_reports_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    runner = CliRunner()
    out = tmp_path / "地名.html"
    result = runner.invoke(map_group, ["gazetteer", "--offline", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "已写出" in result.output  # Chinese by default
    assert not re.search(r"<script[^>]+src=", out.read_text(encoding="utf-8"))
    bad = tmp_path / "bad.html"
    result = runner.invoke(map_group, ["inspection", "--basemap", "tianditu-img", "--out", str(bad)])
    assert result.exit_code == 1 and "TIANDITU_KEY" in result.output and "Traceback" not in result.output
    assert not bad.exists()
    result = runner.invoke(map_group, ["coverage", "--plan", str(ROOT / "plans" / "330624_2022.toml"),
                                       "--basemap", "gaode", "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "autonavi" in page and "达标：每个乡镇(街道)建有居家养老服务中心" in html.unescape(page)


def test_every_marker_condition_has_its_own_distinguishable_colour():
    # Before, 字迹不清 and 被掩埋 both fell back to the grey of unknown values:
    # a team could not tell them apart on the map.
    from itertools import combinations

    from geoplan.layers.schema import MARKER_CONDITIONS
    from geoplan.maps.inspection_html import CONDITION_COLOURS

    def rgb(hex_colour):
        return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)

    assert set(MARKER_CONDITIONS) <= set(CONDITION_COLOURS)
    unknown_grey = rgb("#607d8b")
    colours = {c: rgb(CONDITION_COLOURS[c]) for c in MARKER_CONDITIONS}
    for c, v in colours.items():
        assert np.linalg.norm(v - unknown_grey) > 80, c
    for (a, va), (b, vb) in combinations(colours.items(), 2):
        assert np.linalg.norm(va - vb) > 80, (a, b)
