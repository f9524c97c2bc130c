"""A county workspace from the files a bureau holds, checked against the county built directly."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from geoplan.errors import CRSError, GeoplanError, row_label
from geoplan.layers import crs as _crs
from geoplan.layers.workspace import WorkspaceError, build_workspace, load_workspace, read_manifest
from geoplan.layers.wsread import detect_crs, parse_facility_spec

sys.path.insert(0, str(Path(__file__).parent))
from bureau_bundle import build_bundle, reference_address_levels  # noqa: E402


def _facilities(b):
    return [f"{b['elderly_care']}:elderly_care:gcj02", f"{b['children_homes']}:children_homes"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("bureau"))


@pytest.fixture(scope="module")
def ws(bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("ws") / "新昌工作区"
    result = build_workspace("330624", out, townships=bundle["townships"], facilities=_facilities(bundle),
                             roads=bundle["roads"], census=bundle["census"], villages=bundle["villages"])
    return result


def metric(gdf):
    return gdf.to_crs(4549)


def test_layers_equal_the_county_built_directly(bundle, ws):
    sample = bundle["county"]
    county = load_workspace(ws.folder)
    assert county.code == "330624" and county.name == "新昌县"
    t, st = county["townships"].set_index("code"), sample["townships"].set_index("code")
    assert list(t.index) == list(st.index)
    assert (t[["name", "kind", "county_code", "population", "pop_60plus"]]
            == st[["name", "kind", "county_code", "population", "pop_60plus"]]).all().all()
    # Zone-prefixed Gauss–Krüger and back: the polygons agree to well under a square metre.
    a, b = metric(t).geometry, metric(st).geometry
    assert (a.symmetric_difference(b).area < 1.0).all()
    # GCJ-02 from a web map → CGCS2000: the same points to a centimetre.
    e, se = county["elderly_care"].set_index("facility_id"), sample["elderly_care"].set_index("facility_id")
    assert list(e.index) == list(se.index)
    assert metric(e).distance(metric(se)).max() < 0.01
    cols = ["name", "kind", "township_code", "status", "beds", "nursing_beds"]
    pd.testing.assert_frame_equal(pd.DataFrame(e[cols]), pd.DataFrame(se[cols]), check_dtype=False)
    # OSM XML roads: same count, lengths to a few centimetres, classes and one-way flags.
    r, sr = county["roads"], sample["roads"]
    assert len(r) == len(sr)
    assert abs(metric(r).length.sum() - metric(sr).length.sum()) < 0.05 * len(r)
    assert r["road_class"].value_counts().to_dict() == sr["road_class"].value_counts().to_dict()
    assert int(r["oneway"].sum()) == int(sr["oneway"].astype(bool).sum())
    # Address-only list: every placed home in its own township; three unplaceable rows left out.
    ch, sch = county["children_homes"].set_index("facility_id"), sample["children_homes"].set_index("facility_id")
    assert set(ch.index) == set(sch.index)
    assert (ch["township_code"] == sch.loc[ch.index, "township_code"]).all()
    # The reference reads the same township from each address: no address in the wrong township.
    ref = reference_address_levels(bundle["children_homes"])
    ids = pd.read_excel(bundle["children_homes"], dtype=str).iloc[:, 0]
    ref_town = {i: t for i, (_, t) in zip(ids, ref) if t}
    assert all(ref_town[i] == t for i, t in ch["township_code"].items() if i in ref_town)
    assert set(ch["location_level"]) == {"村(社区)", "乡镇(街道)"}
    assert county.population is not None and county.population.total == 419036


def test_travel_times_equal_the_county_built_directly(bundle, ws):
    from geoplan.network.graph import RoadNetwork

    sample, county = bundle["county"], load_workspace(ws.folder)
    answers = []
    for c in (sample, county):
        net = RoadNetwork.from_roads(c["roads"])
        fac = c["elderly_care"]
        fac = fac[fac["status"] == "运营"].set_index("facility_id")
        answers.append(net.nearest_facility(c["villages"].set_index("code"), fac))
    a, b = answers
    assert (a["facility_id"] == b["facility_id"]).all()
    np.testing.assert_allclose(a["minutes"], b["minutes"], atol=0.02)


def test_manifest_says_what_came_from_where(bundle, ws):
    m = read_manifest(ws.folder)
    assert m["county"] == "330624" and set(m["layers"]) >= {"townships", "county", "roads", "villages",
                                                              "elderly_care", "children_homes"}
    t = m["inputs"]["townships"]
    assert t["path"] == str(bundle["townships"].resolve()) and len(t["sha256"]) == 64
    notes = " ".join(m["read_notes"]["townships"]["notes"])
    assert "带号前缀 40" in notes and "zone 40" in m["read_notes"]["townships"]["crs_used"]
    assert "dasymetric" in m["population"]["method"]
    assert sum(r["population"] for r in m["population"]["by_township"]) == 419036
    summary = {r["level"]: r["count"] for r in m["addresses"]["summary"]}
    # The brute-force reference (official names searched in each address and facility name):
    # road-only addresses get their village from the facility's name where it has one, else
    # stay at township level; the three extra rows cannot be placed.
    ref = pd.Series([lv for lv, _ in reference_address_levels(bundle["children_homes"])]).value_counts()
    assert summary == {lv: int(ref.get(lv, 0)) for lv in ("村(社区)", "乡镇(街道)", "未匹配")}
    assert summary["未匹配"] == 3 and summary["乡镇(街道)"] > 0 and summary["村(社区)"] > 0.8 * sum(summary.values())
    prov = pyogrio.read_dataframe(ws.gpkg, layer="provenance", read_geometry=False)
    assert "population raster" in set(prov["layer"])
    assert not [p for p in ws.folder.iterdir() if p.name.startswith(".")]  # no temp files left


def test_rerun_with_a_changed_file_replaces_that_layer_only(bundle, ws, tmp_path):
    out = tmp_path / "ws"
    shutil.copytree(ws.folder, out)
    before = read_manifest(out)
    changed = tmp_path / "养老设施.xlsx"
    table = pd.read_excel(bundle["elderly_care"])
    table.iloc[:-1].to_excel(changed, index=False)
    r = build_workspace("330624", out, townships=bundle["townships"], census=bundle["census"],
                        facilities=[f"{changed}:elderly_care:gcj02", f"{bundle['children_homes']}:children_homes"],
                        roads=bundle["roads"], villages=bundle["villages"])
    assert r.written == ["elderly_care"]
    after = read_manifest(out)
    for k in ("townships", "roads", "children_homes", "villages"):
        assert after["layers"][k] == before["layers"][k]
    assert after["layers"]["elderly_care"]["features"] == len(table) - 1
    assert after["population"]["written_at"] == before["population"]["written_at"]
    # `update` with only the new file keeps everything else.
    changed2 = tmp_path / "养老设施2.xlsx"
    table.iloc[:-2].to_excel(changed2, index=False)
    r2 = build_workspace("330624", out, facilities=[f"{changed2}:elderly_care:gcj02"])
    assert r2.written == ["elderly_care"]
    c = load_workspace(out)
    assert len(c["elderly_care"]) == len(table) - 2
    assert len(c["children_homes"]) == len(bundle["county"]["children_homes"])
    assert len(c["roads"]) == len(bundle["county"]["roads"])


def test_every_problem_of_every_file_at_once_and_nothing_written(bundle, tmp_path):
    import geopandas as gpd

    bad = tmp_path / "bad"
    bad.mkdir()
    # Townships: one code from another county.
    t = gpd.read_file(bundle["townships"], encoding="gbk")
    t.loc[3, "XZQDM"] = "330727104"
    pyogrio.write_dataframe(t, bad / "乡镇界.shp", encoding="GBK")
    (bad / "乡镇界.cpg").unlink(missing_ok=True)
    # Census: an unknown township name and a non-number.
    text = bundle["census"].read_bytes().decode("gbk").replace("回山镇", "回山乡").replace("7688", "约七千")
    (bad / "人口.csv").write_bytes(text.encode("gbk"))
    # Facilities: an empty longitude.
    table = pd.read_excel(bundle["elderly_care"])
    table.loc[4, "经度"] = None
    table.to_excel(bad / "养老.xlsx", index=False)
    out = tmp_path / "out"
    with pytest.raises(WorkspaceError) as err:
        build_workspace("330624", out, townships=bad / "乡镇界.shp", census=bad / "人口.csv",
                        facilities=[f"{bad / '养老.xlsx'}:elderly_care:gcj02"], roads=bundle["roads"])
    files = {Path(p.file).name for p in err.value.problems}
    assert {"乡镇界.shp", "人口.csv"} <= files
    text = str(err.value)
    assert "没有写入任何文件" in text and "330727104" in text and "回山乡" in text and "约七千" in text
    # The census CSV has a title row and a header: 镜岭镇, the 8th township, is line 10.
    assert "人口.csv，第 10 行，字段 '60岁及以上人口'" in text
    assert not out.exists()


def test_facility_problems_are_reported_with_township_problems(bundle, tmp_path):
    table = pd.read_excel(bundle["elderly_care"])
    table.loc[4, "经度"] = None
    table["所属乡镇(街道)代码"] = table["所属乡镇(街道)代码"].astype(str)
    table.loc[6, "所属乡镇(街道)代码"] = "330624999"
    p = tmp_path / "养老.xlsx"
    table.to_excel(p, index=False)
    text = bundle["census"].read_bytes().decode("gbk").replace("7688", "x")
    (tmp_path / "人口.csv").write_bytes(text.encode("gbk"))
    with pytest.raises(WorkspaceError) as err:
        build_workspace("330624", tmp_path / "out", townships=bundle["townships"], census=tmp_path / "人口.csv",
                        facilities=[f"{p}:elderly_care:gcj02"])
    # The census fault stops the townships, so facilities are not checked twice — but the
    # census and the facility file's own faults are both listed when townships can be read.
    assert any("人口.csv" in pr.file for pr in err.value.problems)
    with pytest.raises(WorkspaceError) as err2:
        build_workspace("330624", tmp_path / "out", townships=bundle["townships"], census=bundle["census"],
                        facilities=[f"{p}:elderly_care:gcj02"])
    rows = {(pr.row, pr.column) for pr in err2.value.problems}
    assert (row_label(6), "经度") in rows and any(r == row_label(8) for r, _ in rows)
    assert not (tmp_path / "out").exists()


def test_crs_detection_from_coordinate_magnitudes():
    b = (40_480_000, 3_250_000, 40_520_000, 3_290_000)
    assert detect_crs(b, None, "x.shp")[0].to_epsg() == 4528
    assert detect_crs(b, _crs.CRS.from_epsg(4549), "x.shp")[0].to_epsg() == 4528
    assert detect_crs((20_300_000, 3e6, 20_400_000, 3.1e6), None, "x")[0].to_epsg() == 4498  # 6° zone 20
    assert detect_crs((120.7, 29.3, 121.1, 29.6), None, "x")[0].to_epsg() == 4490
    assert detect_crs((480_000, 3.25e6, 520_000, 3.29e6), _crs.CRS.from_epsg(4549), "x")[0].to_epsg() == 4549
    with pytest.raises(CRSError, match="--crs"):
        detect_crs((480_000, 3.25e6, 520_000, 3.29e6), None, "x.shp")
    with pytest.raises(CRSError, match="中央经线"):
        detect_crs(b, _crs.CRS.from_epsg(4546), "x.shp")  # .prj CM 111°E, prefix says zone 40


def test_shapefile_without_prj_and_legacy_datums(bundle, tmp_path):
    import geopandas as gpd

    t = gpd.read_file(bundle["townships"], encoding="gbk")
    noprj = tmp_path / "noprj.shp"
    pyogrio.write_dataframe(t.set_crs(None, allow_override=True), noprj, encoding="GBK")
    for part in (".prj", ".cpg"):
        noprj.with_suffix(part).unlink(missing_ok=True)
    r = build_workspace("330624", tmp_path / "a", townships=noprj, census=bundle["census"])
    assert "EPSG:4528" in " ".join(r.manifest["read_notes"]["townships"]["notes"])
    # Xian 1980 Gauss–Krüger (CM 120°E) with zone prefix in the numbers.
    xian = tmp_path / "xian.shp"
    pyogrio.write_dataframe(t.set_crs(2385, allow_override=True), xian, encoding="GBK")
    with pytest.raises(WorkspaceError, match="西安1980") as err:
        build_workspace("330624", tmp_path / "b", townships=xian, census=bundle["census"])
    assert "--legacy-datum-accuracy" in str(err.value) and not (tmp_path / "b").exists()
    r = build_workspace("330624", tmp_path / "b", townships=xian, census=bundle["census"], legacy_accuracy_m=150)
    note = r.manifest["read_notes"]["townships"]
    assert note["accuracy_stated_m"] == 150 and note["transformation"]
    assert "西安1980" in " ".join(note["notes"])


def test_other_county_workspace_is_not_overwritten(ws):
    with pytest.raises(GeoplanError, match="新昌县"):
        build_workspace("330727", ws.folder)


def test_facility_spec():
    s = parse_facility_spec(r"C:\data\养老.xlsx:elderly_care")
    assert s.kind == "elderly_care" and str(s.path).endswith("养老.xlsx") and s.coords is None
    with pytest.raises(GeoplanError, match="文件:类型"):
        parse_facility_spec("养老.xlsx:nursing")


def test_cli_init_show_and_error(bundle, tmp_path):
    from geoplan.cli.main import main

    out = tmp_path / "工作区"
    args = ["workspace", "init", "330624", "--townships", str(bundle["townships"]),
            "--facilities", f"{bundle['children_homes']}:children_homes",
            "--roads", str(bundle["roads"]), "--population", str(bundle["census"]),
            "--villages", str(bundle["villages"]), "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    n_village = sum(lv == "村(社区)" for lv, _ in reference_address_levels(bundle["children_homes"]))
    assert f"地址定位：村(社区) {n_village} 条" in res.output and "带号前缀 40" in res.output
    res = CliRunner().invoke(main, ["workspace", "show", str(out)])
    assert res.exit_code == 0 and "children_homes" in res.output
    bad = tmp_path / "人口.csv"
    bad.write_bytes(bundle["census"].read_bytes().decode("gbk").replace("儒岙镇", "儒岙县").encode("gbk"))
    res = CliRunner().invoke(main, args[:-1] + [str(tmp_path / "x")] if False else
                             ["workspace", "init", "330624", "--townships", str(bundle["townships"]),
                              "--population", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "儒岙县" in res.output and "人口.csv" in res.output and not (tmp_path / "x").exists()
    assert shapely is not None


def test_roads_clipped_to_county_margin_and_user_raster_rescaled(bundle, tmp_path):
    import geopandas as gpd

    from bureau_bundle import write_osm_xml

    sample = bundle["county"]
    roads = sample["roads"].copy()
    outline = sample["townships"].to_crs(4549).union_all()
    cx, cy = outline.centroid.x, outline.centroid.y
    east = outline.bounds[2]
    extra = gpd.GeoDataFrame(
        {"road_id": ["far", "across"], "name": ["远处", "出县"], "road_class": ["primary", "secondary"],
         "speed_kmh": [np.nan, np.nan], "oneway": [False, False]},
        geometry=[shapely.LineString([(east + 40_000, cy), (east + 45_000, cy)]),
                  shapely.LineString([(cx, cy), (east + 20_000, cy)])], crs=4549).to_crs(4490)
    osm = tmp_path / "roads.osm"
    write_osm_xml(pd.concat([roads, extra], ignore_index=True), osm)
    r = build_workspace("330624", tmp_path / "ws", townships=bundle["townships"], census=bundle["census"],
                        roads=osm, population_raster=Path(sample.population.source), road_margin_m=3000)
    got = load_workspace(tmp_path / "ws")["roads"]
    assert len(got) == len(roads) + 1 and "远处" not in set(got["name"])
    across = got[got["name"] == "出县"].to_crs(4549).geometry.iloc[0]
    # Cut at the county plus 3 km: it ends 3 km beyond the outline.
    assert across.distance(outline) == pytest.approx(0.0) and shapely.Point(across.coords[-1]).distance(outline) \
        == pytest.approx(3000, abs=50)
    assert "保留 %d 条" % (len(roads) + 1) in " ".join(r.manifest["read_notes"]["roads"]["notes"])
    methods = {row["method"] for row in r.manifest["population"]["by_township"]}
    assert methods == {"用户人口栅格按普查数重新标定"}
    county = load_workspace(tmp_path / "ws")
    assert county.population.total == 419036


def test_never_overwrites_a_users_file(bundle, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "330624.gpkg").write_bytes(b"the user's own file")
    with pytest.raises(GeoplanError, match="不是 geoplan 工作区"):
        build_workspace("330624", folder, townships=bundle["townships"], census=bundle["census"])
    assert (folder / "330624.gpkg").read_bytes() == b"the user's own file"


def test_coverage_and_map_coverage_take_the_workspace(bundle, tmp_path):
    """`geoplan coverage --workspace` gives the same report as the county built directly."""
    from geoplan.cli.main import main

    plan = str(Path(__file__).parent.parent / "plans" / "330624_2022.toml")
    # The workspace, not the sample, is read: one with townships only cannot evaluate the plan.
    small = tmp_path / "small"
    build_workspace("330624", small, townships=bundle["townships"], census=bundle["census"])
    res = CliRunner().invoke(main, ["coverage", "--plan", plan, "--workspace", str(small)])
    assert res.exit_code == 1 and "已有图层：townships。" in res.output and "Traceback" not in res.output

    fac = _facilities(bundle)
    for k in ("cemeteries", "disability_homes", "social_work_stations"):  # the plan's other layers
        p = tmp_path / f"{k}.geojson"
        pyogrio.write_dataframe(bundle["county"][k], p, driver="GeoJSON")
        fac.append(f"{p}:{k}")
    out = tmp_path / "ws"
    build_workspace("330624", out, townships=bundle["townships"], facilities=fac, roads=bundle["roads"],
                    census=bundle["census"], villages=bundle["villages"])
    for name, extra in (("ws", ["--workspace", str(out)]), ("sample", [])):
        res = CliRunner().invoke(main, ["coverage", "--plan", plan, "--out", str(tmp_path / f"{name}.csv"), *extra])
        assert res.exit_code == 0, res.output
    for part in ("summary", "townships"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / f"ws_{part}.csv"),
                                      pd.read_csv(tmp_path / f"sample_{part}.csv"))
    res = CliRunner().invoke(main, ["coverage", "--plan", plan, "--workspace", str(out), "--layers", str(out)])
    assert res.exit_code == 2 and "--workspace" in res.output
    html = tmp_path / "覆盖.html"
    res = CliRunner().invoke(main, ["map", "coverage", "--plan", plan, "--workspace", str(out), "--offline",
                                    "--out", str(html)])
    assert res.exit_code == 0, res.output
    text = html.read_text(encoding="utf-8")
    assert "儒岙镇" in text and "新昌县" in text


# --------------------------------------------------------------------------
# A county that is not shipped: every command on its workspace, against the county built directly
# --------------------------------------------------------------------------

TIANTAI = "331023"  # 天台县: no shipped layers; `geoplan sample build` makes them


@pytest.fixture(scope="module")
def tiantai(tmp_path_factory):
    """天台县 built by the real sample builder, the bureau's files made from it, and the workspace from those."""
    from geoplan.cli.main import main
    from geoplan.layers.sample import load_county
    from geoplan.layers.samplebuild.build import build_county

    built = build_county(TIANTAI, tmp_path_factory.mktemp("built"))
    direct = load_county(built["gpkg"], built["tif"])
    b = build_bundle(tmp_path_factory.mktemp("bureau_tiantai"), TIANTAI, source=direct)
    fac = _facilities(b)
    for k in ("cemeteries", "disability_homes", "social_work_stations"):  # the plan's other layers
        p = b["census"].parent / f"{k}.geojson"
        pyogrio.write_dataframe(direct[k], p, driver="GeoJSON")
        fac.append(f"{p}:{k}")
    ws = tmp_path_factory.mktemp("ws") / "天台工作区"
    args = ["workspace", "init", TIANTAI, "--townships", str(b["townships"]), "--roads", str(b["roads"]),
            "--population", str(b["census"]), "--villages", str(b["villages"]), "--out", str(ws)]
    args += [a for f in fac for a in ("--facilities", f)]
    args += [a for k in ("boundary_lines", "boundary_markers", "place_names") for a in ("--layer", f"{b[k]}:{k}")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    plan = tmp_path_factory.mktemp("plan") / f"{TIANTAI}.toml"
    from geoplan.province.inputs import SAMPLE_TEMPLATE

    plan.write_text(SAMPLE_TEMPLATE.replace('county = "*"', f'county = "{TIANTAI}"'), encoding="utf-8")
    return {"bundle": b, "ws": ws, "gpkg": built["gpkg"], "tif": built["tif"], "direct": direct, "plan": plan,
            "ws_tif": ws / f"{TIANTAI}_population.tif"}


def _cli(*args):
    from geoplan.cli.main import main

    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    return res


def test_not_shipped_county_layers_equal_the_county_built_directly(tiantai):
    from geoplan.layers.sample import sample_paths

    with pytest.raises(GeoplanError):
        sample_paths(TIANTAI)  # really not shipped
    d, w = tiantai["direct"], load_workspace(tiantai["ws"])
    assert w.code == TIANTAI and w.name == "天台县"
    assert set(w.layers) == set(d.layers) - {"cemeteries", "disability_homes", "social_work_stations"} | \
        {"cemeteries", "disability_homes", "social_work_stations"}
    for kind in w.layers:
        a, b = w[kind], d[kind]
        assert len(a) == len(b), kind
    t, st = w["townships"].set_index("code"), d["townships"].set_index("code")
    assert (t[["name", "population", "pop_60plus"]] == st[["name", "population", "pop_60plus"]]).all().all()
    assert (metric(t).geometry.symmetric_difference(metric(st).geometry).area < 1.0).all()
    for kind, key in (("boundary_markers", "marker_id"), ("place_names", "name_id"),
                      ("elderly_care", "facility_id")):
        a, b = w[kind].set_index(key), d[kind].set_index(key)
        assert set(a.index) == set(b.index)
        assert metric(a).distance(metric(b.loc[a.index])).max() < 0.01, kind
    lines = w["boundary_lines"].set_index("line_code")
    dl = d["boundary_lines"].set_index("line_code").loc[lines.index]
    assert (metric(lines).geometry.hausdorff_distance(metric(dl).geometry) < 0.01).all()
    # neighbours from the shipped outlines: the counties the builder drew shared lines with
    assert sorted(w.neighbours["adcode"]) == sorted(d.neighbours["adcode"])
    # the census totals spread exactly onto the workspace's raster
    assert w.population.total == d["townships"]["population"].sum()


def test_not_shipped_county_coverage_and_site(tiantai, tmp_path):
    """coverage and site on the workspace = on the county built directly with the workspace's population."""
    ws, plan = tiantai["ws"], tiantai["plan"]
    direct = ["--layers", tiantai["gpkg"], "--population", tiantai["ws_tif"]]
    _cli("coverage", "--plan", plan, "--workspace", ws, "--out", tmp_path / "ws.csv")
    _cli("coverage", "--plan", plan, *direct, "--out", tmp_path / "direct.csv")
    for part in ("summary", "townships"):
        a, b = pd.read_csv(tmp_path / f"ws_{part}.csv"), pd.read_csv(tmp_path / f"direct_{part}.csv")
        pd.testing.assert_frame_equal(a, b)
    assert "通行时间覆盖" in set(pd.read_csv(tmp_path / "ws_summary.csv")["规则类型"])  # travel times computed
    for name, extra in (("ws", ["--workspace", ws]), ("direct", [*direct, "--county", TIANTAI])):
        _cli("site", "mclp", "--new", 2, "--minutes", 15, "--time-limit", 20, *extra, "--out", tmp_path / f"{name}_sites.csv")
    a, b = pd.read_csv(tmp_path / "ws_sites.csv"), pd.read_csv(tmp_path / "direct_sites.csv")
    pd.testing.assert_frame_equal(a, b)
    # a plan of another county with this workspace is refused, naming both
    other = Path(__file__).parent.parent / "plans" / "330624_2022.toml"
    from geoplan.cli.main import main

    res = CliRunner().invoke(main, ["coverage", "--plan", str(other), "--workspace", str(ws)])
    assert res.exit_code == 1 and "331023" in res.output and "330624" in res.output


def test_not_shipped_county_maps(tiantai, tmp_path):
    ws, gpkg = tiantai["ws"], tiantai["gpkg"]
    d = tiantai["direct"]
    for cmd in ("inspection", "gazetteer"):
        _cli("map", cmd, "--workspace", ws, "--offline", "--out", tmp_path / f"ws_{cmd}.html")
        _cli("map", cmd, "--layers", gpkg, "--offline", "--out", tmp_path / f"direct_{cmd}.html")
    html = {p.stem: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.html")}
    for mid in d["boundary_markers"]["marker_id"]:
        assert mid in html["ws_inspection"]
    for name in d["place_names"]["name"]:
        assert name in html["ws_gazetteer"]

    def same_but_outline(text):
        # Leaflet's random element IDs aside, and the county outline — the workspace's is its townships
        # dissolved, the builder's the published outline — the maps are the same, byte for byte.
        text = re.sub(r"[0-9a-f]{32}", "ID", text)
        return re.sub(r'(<script type="application/json" class="gp-data" id="gp-data-\d+" data-layer="县界">)'
                      r".*?</script>", r"\1", text, flags=re.S)

    for cmd in ("inspection", "gazetteer"):
        a, b = same_but_outline(html[f"ws_{cmd}"]), same_but_outline(html[f"direct_{cmd}"])
        assert a == b and len(a) > 100_000, cmd
    _cli("map", "coverage", "--plan", tiantai["plan"], "--workspace", ws, "--offline", "--out", tmp_path / "cov.html")
    assert "天台县" in (tmp_path / "cov.html").read_text(encoding="utf-8")


def test_not_shipped_county_inspection(tiantai, tmp_path):
    """inspect plan / atlas / forms / import on the workspace, against a plan of the county built directly."""
    import openpyxl

    from geoplan.inspection.planning import InspectionResult

    ws, gpkg = tiantai["ws"], tiantai["gpkg"]
    common = ["--as-of", "2026-11-23", "--time-limit", 2, "--all"]
    _cli("inspect", "plan", "--workspace", ws, *common)
    _cli("inspect", "plan", "--layers", gpkg, "--county", TIANTAI, *common, "--out", tmp_path / "direct")
    wp = ws / "inspection" / f"{TIANTAI}_inspection_plan.gpkg"
    a, b = InspectionResult.load(wp), InspectionResult.load(tmp_path / "direct" / f"{TIANTAI}_inspection_plan.gpkg")
    assert a.params["county"] == TIANTAI
    assert sorted(a.visits["marker_id"]) == sorted(b.visits["marker_id"])
    assert sorted(a.unreachable.index) == sorted(b.unreachable.index)
    assert a.areas == b.areas
    assert sorted(a.bases["base_id"]) == sorted(b.bases["base_id"])
    # atlas, forms and import find the workspace's plan themselves
    _cli("inspect", "atlas", "--workspace", ws)
    assert (ws / "inspection" / f"{TIANTAI}_inspection_atlas.pdf").stat().st_size > 10_000
    _cli("inspect", "forms", "--workspace", ws)
    forms = ws / "inspection" / f"{TIANTAI}_inspection_forms.xlsx"
    wb = openpyxl.load_workbook(forms)
    sheet = wb.active
    col = {c.value: c.column for c in sheet[1]}
    ids = [sheet.cell(r, col["界桩编号"]).value for r in range(2, sheet.max_row + 1)]
    assert sorted(ids) == sorted(a.visits["marker_id"])
    for r in range(2, 8):
        sheet.cell(r, col["界桩状况"]).value = "完好"
        sheet.cell(r, col["检查日期"]).value = "2026-11-24"
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    res = _cli("inspect", "import", "--workspace", ws, filled, "--no-replan")
    assert "已导入 6 个界桩" in res.output
    # a plan of the county built directly is for the same county: accepted; one of another county is not
    other = tmp_path / "other"
    from geoplan.cli.main import main

    _cli("inspect", "plan", "--county", "330727", "--as-of", "2026-11-23", "--time-limit", 1, "--out", other)
    res = CliRunner().invoke(main, ["inspect", "atlas", str(other / "330727_inspection_plan.gpkg"), "--workspace",
                                    str(ws), "--out", str(tmp_path / "x.pdf")])
    assert res.exit_code == 1 and "330727" in res.output and not (tmp_path / "x.pdf").exists()


def test_not_shipped_county_gaz_seed(tiantai, tmp_path):
    from geoplan.gazetteer.store import Gazetteer

    _cli("gaz", "seed", "--workspace", tiantai["ws"], "--db", tmp_path / "ws.sqlite")
    _cli("gaz", "seed", "--layers", tiantai["gpkg"], "--db", tmp_path / "direct.sqlite")
    with Gazetteer(tmp_path / "ws.sqlite") as a, Gazetteer(tmp_path / "direct.sqlite") as b:
        assert a.count() == b.count() == len(tiantai["direct"]["place_names"])
    from geoplan.cli.main import main

    res = CliRunner().invoke(main, ["gaz", "seed", "--workspace", str(tiantai["ws"]), "--db", str(tmp_path / "ws.sqlite")])
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_water_is_a_layer_and_stays_free_of_people(bundle, tmp_path):
    """--water: the lake is stored as a layer; no cell centred on it has people, now and after an update."""
    import geopandas as gpd

    t = bundle["county"]["townships"].to_crs(4549)
    big = t.loc[t.area.idxmax()]
    centre = big.geometry.representative_point()
    lake = gpd.GeoDataFrame({"名称": ["某水库"]}, geometry=[centre.buffer(1500, cap_style=3)], crs=4549)
    water = tmp_path / "水面.gpkg"
    lake.to_crs(4528).to_file(water)  # zone-prefixed Gauss–Krüger, like the township file
    out = tmp_path / "ws"
    r = build_workspace("330624", out, townships=bundle["townships"], census=bundle["census"],
                        villages=bundle["villages"], roads=bundle["roads"], water=water)
    assert "water" in r.written and "water" in pyogrio.list_layers(r.gpkg)[:, 0]
    stored = gpd.read_file(r.gpkg, layer="water").to_crs(4549)
    assert abs(stored.area.sum() - lake.area.sum()) < 1.0  # inside the county: kept whole

    def people_on_lake(folder):
        pop = load_workspace(folder).population
        cells = pop.cell_centres().to_crs(4549)
        on = cells[cells.within(lake.geometry.iloc[0].buffer(-1))]
        return float(on["population"].sum()) if "population" in on else len(on), pop.total

    on, total = people_on_lake(out)
    assert on == 0 and total == 419036
    # without --water the same build puts people there: the layer is what keeps them off
    r0 = build_workspace("330624", tmp_path / "dry", townships=bundle["townships"], census=bundle["census"],
                         villages=bundle["villages"], roads=bundle["roads"])
    assert people_on_lake(r0.folder)[0] > 0
    # an update that spreads the population again (one village fewer) still keeps the lake empty
    v = gpd.read_file(bundle["villages"]).iloc[1:]
    fewer = tmp_path / "村点.geojson"
    v.to_file(fewer, driver="GeoJSON")
    r2 = build_workspace("330624", out, villages=fewer)
    assert "water" not in r2.written and r2.population_method is not None
    assert people_on_lake(out) == (0, 419036)
    assert set(read_manifest(out)["layers"]["water"]["sources"]) == {"townships", "census", "water"}


# --------------------------------------------------------------------------
# GCJ-02 without being told
# --------------------------------------------------------------------------

def _coords_note(result):
    return next(v for k, v in result.manifest["read_notes"].items() if k.startswith("facilities:"))


def test_gcj02_recognised_from_roads_and_villages(bundle, tmp_path):
    """The web-map table given without :gcj02 is recognised and converted; a CGCS2000 one is left as it is."""
    from geoplan.cli.main import main

    sample = bundle["county"]["elderly_care"].set_index("facility_id")
    out = tmp_path / "ws"
    res = CliRunner().invoke(main, ["workspace", "init", "330624", "--townships", str(bundle["townships"]),
                                    "--population", str(bundle["census"]), "--roads", str(bundle["roads"]),
                                    "--villages", str(bundle["villages"]),
                                    "--facilities", f"{bundle['elderly_care']}:elderly_care", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "判定为 GCJ-02" in res.output  # the console says what was assumed
    note = next(v for k, v in read_manifest(out)["read_notes"].items() if k.startswith("facilities:"))
    assert note["coords_used"] == "gcj02" and note["coords_reason"] == "evidence"
    ev = note["coords_evidence"]
    assert ev["median_m_as_gcj02"] < 0.5 * ev["median_m_as_read"] and 300 < ev["shift_m"] < 600
    got = load_workspace(out)["elderly_care"].set_index("facility_id")
    assert metric(got).distance(metric(sample.loc[got.index])).max() < 0.01
    # The same table in CGCS2000: not converted (the evidence, if any, points the other way).
    table = pd.read_excel(bundle["elderly_care"])
    order = table["设施编号"] if "设施编号" in table else table.iloc[:, 0]
    table["经度"] = sample.loc[order].geometry.x.to_numpy()
    table["纬度"] = sample.loc[order].geometry.y.to_numpy()
    plain = tmp_path / "plain.xlsx"
    table.to_excel(plain, index=False)
    r = build_workspace("330624", tmp_path / "ws2", townships=bundle["townships"], census=bundle["census"],
                        roads=bundle["roads"], villages=bundle["villages"], facilities=[f"{plain}:elderly_care"])
    n = _coords_note(r)
    assert n["coords_used"] == "cgcs2000" and n["coords_evidence"]["verdict"] != "gcj02" and n["notes"]
    got = load_workspace(tmp_path / "ws2")["elderly_care"].set_index("facility_id")
    assert metric(got).distance(metric(sample.loc[got.index])).max() < 0.01
    # Without roads or villages nothing can tell: CGCS2000 assumed, and the note says to add :gcj02.
    r = build_workspace("330624", tmp_path / "ws3", townships=bundle["townships"], census=bundle["census"],
                        facilities=[f"{bundle['elderly_care']}:elderly_care"])
    n = _coords_note(r)
    assert n["coords_used"] == "cgcs2000" and n["coords_reason"] == "assumed" and ":gcj02" in n["notes"][-1]


def test_coordinate_system_column_row_by_row(bundle, tmp_path):
    sample = bundle["county"]["elderly_care"].set_index("facility_id")
    table = pd.read_excel(bundle["elderly_care"])
    ids = table.iloc[:, 0]
    plain = np.arange(len(table)) % 2 == 1
    table.loc[plain, "经度"] = sample.loc[ids[plain]].geometry.x.to_numpy()
    table.loc[plain, "纬度"] = sample.loc[ids[plain]].geometry.y.to_numpy()
    table["坐标系"] = np.where(plain, "CGCS2000", "高德地图拾取")
    p = tmp_path / "mixed.xlsx"
    table.to_excel(p, index=False)
    r = build_workspace("330624", tmp_path / "ws", townships=bundle["townships"], census=bundle["census"],
                        facilities=[f"{p}:elderly_care"])
    n = _coords_note(r)
    assert n["coords_used"] == "mixed" and n["coords_reason"] == "column"
    got = load_workspace(tmp_path / "ws")["elderly_care"].set_index("facility_id")
    assert metric(got).distance(metric(sample.loc[got.index])).max() < 0.01
    table.loc[3, "坐标系"] = "北京54"
    table.to_excel(p, index=False)
    with pytest.raises(WorkspaceError) as err:
        build_workspace("330624", tmp_path / "bad", townships=bundle["townships"], census=bundle["census"],
                        facilities=[f"{p}:elderly_care"])
    assert any(pr.column == "坐标系" and pr.row == row_label(5) for pr in err.value.problems)  # Excel row 5


@pytest.mark.parametrize("county", ["330624", "330727"])
def test_coordinate_evidence_is_never_wrong(county):
    """Every facility layer of both samples, as GCJ-02 and as CGCS2000: decided right or left undecided."""
    import geopandas as gpd

    from geoplan.layers.sample import load_sample
    from geoplan.layers.wsread import coordinate_evidence

    c = load_sample(county)
    refs = [c["roads"], c["villages"]]
    decided = {}
    for kind in ("elderly_care", "children_homes", "social_work_stations", "cemeteries", "disability_homes"):
        f = c[kind].reset_index(drop=True)
        x, y = _crs.wgs84_to_gcj02_xy(f.geometry.x.to_numpy(), f.geometry.y.to_numpy())
        shifted = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4490)
        for truth, pts in (("gcj02", shifted), ("cgcs2000", f)):
            verdict = coordinate_evidence(pts, refs, c["townships"], f["township_code"].to_numpy())["verdict"]
            assert verdict in (truth, "unknown"), (kind, truth)
            decided[(kind, truth)] = verdict == truth
    # the long lists are always told apart
    assert decided[("children_homes", "gcj02")] and decided[("children_homes", "cgcs2000")]
    assert decided[("elderly_care", "gcj02")]
