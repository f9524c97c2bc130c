"""Write the bad input files of the corpus (all but gazetteer/, which is hand-made).

Run from the repository root once when a case needs a new file:
``python tests/corpus/make_inputs.py``. The files are committed; the tests only read
copies of them. Each file is one thing a user really sends: a GBK table, a zero-byte
Shapefile, a folder named like a file …; ``cases.json`` next to them says what
geoplan must answer.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geoplan.layers import crs as _crs
from geoplan.layers.sample import load_sample

HERE = Path(__file__).resolve().parent


def _table(c, kind="elderly_care"):
    g = c[kind]
    t = pd.DataFrame(g.drop(columns="geometry"))
    t["lon"], t["lat"] = g.geometry.x.round(6), g.geometry.y.round(6)
    # plain objects, as a spreadsheet holds them: any cell can take text
    return t.head(6).reset_index(drop=True).astype(object).where(lambda df: df.notna(), None)


def _csv(path: Path, df: pd.DataFrame, encoding="utf-8"):
    path.write_bytes(df.to_csv(index=False, lineterminator="\r\n").encode(encoding))


def _folder(path: Path):
    path.mkdir(parents=True, exist_ok=True)
    (path / ".keep").write_text("")


def layers(c, d: Path):
    """Inputs of ``geoplan validate`` (one layer file against its schema)."""
    d.mkdir(exist_ok=True)
    t = _table(c)
    _csv(d / "good.csv", t)
    _csv(d / "gbk.csv", t, "gbk")
    (d / "utf8_bom.csv").write_bytes(b"\xef\xbb\xbf" + t.to_csv(index=False).encode())
    (d / "utf16.csv").write_bytes(t.to_csv(index=False).encode("utf-16"))
    (d / "zero_bytes.csv").write_bytes(b"")
    raw = t.to_csv(index=False).encode()
    cut = raw.rindex(b",", 0, len(raw) // 2)  # mid-row, as a download stopped there
    (d / "truncated.csv").write_bytes(raw[:cut])
    x = t.copy(); x.loc[3, "beds"] = "三十张"; _csv(d / "text_in_beds.csv", x)
    x = t.copy(); x.loc[2, "lon"] = "东经120度"; _csv(d / "text_in_lon.csv", x)
    x = t.copy(); x.loc[4, "facility_id"] = x.loc[1, "facility_id"]; _csv(d / "duplicate_ids.csv", x)
    x = t.copy(); x.loc[1, "township_code"] = "330624999"; _csv(d / "unknown_township.csv", x)
    x = t.copy(); x.loc[2, "kind"] = "养老院（民办）"; _csv(d / "unknown_kind.csv", x)
    x = t.copy(); x.loc[1, "opened"] = 1066; _csv(d / "year_out_of_range.csv", x)
    x = t.copy(); x.loc[1, "opened"] = 2099; _csv(d / "year_in_future.csv", x)
    x = t.copy(); x.loc[0, "name"] = '=HYPERLINK("http://x","y")'; x.loc[1, "name"] = "<img src=x onerror=alert(1)>"
    _csv(d / "formula_html_names.csv", x)
    x = t.copy(); x["lon"], x["lat"] = _crs_xy(t, 4549); _csv(d / "projected_as_lonlat.csv", x)
    x = t.copy(); x["lon"], x["lat"] = x["lat"], x["lon"]; _csv(d / "swapped_lonlat.csv", x)
    x = t.drop(columns=["lon", "lat"]); _csv(d / "no_coordinates.csv", x)
    x = t.copy(); x.loc[0, "lon"] = None; x.loc[0, "lat"] = None; _csv(d / "empty_coordinates.csv", x)
    t.to_excel(d / "good.xlsx", index=False)
    raw = (d / "good.xlsx").read_bytes()
    (d / "truncated.xlsx").write_bytes(raw[: len(raw) // 2])
    _folder(d / "folder_as_file.csv")
    _folder(d / "folder.gpkg")
    towns = c["townships"].head(4).copy()
    # Townships: zero-byte and cut GeoPackages, a Shapefile without its .dbf, with no .prj
    (d / "zero_bytes.gpkg").write_bytes(b"")
    pyogrio.write_dataframe(towns, d / "towns.gpkg", layer="townships")
    raw = (d / "towns.gpkg").read_bytes()
    (d / "truncated.gpkg").write_bytes(raw[: len(raw) // 3])
    (d / "towns.gpkg").unlink()
    pyogrio.write_dataframe(towns.to_crs(4549), d / "no_dbf.shp", encoding="UTF-8")
    (d / "no_dbf.dbf").unlink()
    pyogrio.write_dataframe(towns.to_crs(4549), d / "no_prj.shp", encoding="UTF-8")
    (d / "no_prj.prj").unlink()
    (d / "zero_bytes.shp").write_bytes(b"")
    g = towns.copy()
    g.loc[g.index[1], "geometry"] = shapely.Polygon()
    pyogrio.write_dataframe(g, d / "empty_geometry.geojson", driver="GeoJSON")
    g = towns.copy()
    g.loc[g.index[2], "geometry"] = shapely.Polygon([(120.9, 29.4), (121.0, 29.5), (121.0, 29.4), (120.9, 29.5)])
    pyogrio.write_dataframe(g, d / "bowtie.geojson", driver="GeoJSON")
    g = towns.copy(); g["population"] = g["population"].astype(str); g.loc[g.index[0], "population"] = "约九万"
    pyogrio.write_dataframe(g, d / "text_population.geojson", driver="GeoJSON")
    g = towns.copy(); g.loc[g.index[3], "code"] = g.loc[g.index[0], "code"]
    pyogrio.write_dataframe(g, d / "duplicate_codes.geojson", driver="GeoJSON")
    g = towns.to_crs(4549)  # projected coordinates, file says 4490
    g = g.set_crs(4490, allow_override=True)
    pyogrio.write_dataframe(g, d / "wrong_crs.geojson", driver="GeoJSON")
    (d / "not_json.geojson").write_text("这不是 GeoJSON\n", encoding="utf-8")
    pyogrio.write_dataframe(towns.iloc[:0], d / "no_features.geojson", driver="GeoJSON")
    pyogrio.write_dataframe(c["roads"].head(3), d / "roads_as_towns.geojson", driver="GeoJSON")


def _crs_xy(t, epsg):
    from pyproj import Transformer
    tr = Transformer.from_crs(4490, epsg, always_xy=True)
    x, y = tr.transform(t["lon"].to_numpy(), t["lat"].to_numpy())
    return x.round(1), y.round(1)


PLAN_HEAD = """[plan]
county = "330624"
name = "测试规划"
year = 2022
"""
RULE = """
[[rule]]
id = "home_care_centre"
group = "养老服务"
kind = "full_coverage"
title = "每个乡镇(街道)建有居家养老服务中心"
layer = "elderly_care"
where = { kind = "居家养老服务中心" }
"""


def plans(d: Path):
    """Plan files of ``geoplan coverage --plan``."""
    d.mkdir(exist_ok=True)
    good = PLAN_HEAD + RULE
    (d / "good.toml").write_text(good, encoding="utf-8")
    (d / "gbk.toml").write_bytes(good.encode("gbk"))
    (d / "utf8_bom.toml").write_bytes(b"\xef\xbb\xbf" + good.encode())
    (d / "zero_bytes.toml").write_bytes(b"")
    (d / "truncated.toml").write_text(good[: len(good) - 60], encoding="utf-8")
    (d / "syntax_error.toml").write_text(good.replace('year = 2022', 'year = 2022\nname2 = "未闭合'), encoding="utf-8")
    (d / "unknown_county.toml").write_text(good.replace('"330624"', '"339999"'), encoding="utf-8")
    (d / "unknown_rule_kind.toml").write_text(good.replace('"full_coverage"', '"fully_covered"'), encoding="utf-8")
    (d / "unknown_layer.toml").write_text(good.replace('"elderly_care"', '"elderly_homes"'), encoding="utf-8")
    (d / "duplicate_rule_ids.toml").write_text(good + RULE, encoding="utf-8")
    (d / "text_year.toml").write_text(good.replace("year = 2022", 'year = "二〇二二"'), encoding="utf-8")
    (d / "year_out_of_range.toml").write_text(good.replace("year = 2022", "year = 1066"), encoding="utf-8")
    (d / "unknown_where_value.toml").write_text(good.replace('kind = "居家养老服务中心"', 'kind = "敬老院中心"'),
                                                encoding="utf-8")
    (d / "no_plan_table.toml").write_text(RULE, encoding="utf-8")
    (d / "formula_title.toml").write_text(good.replace('title = "每个', 'title = "=HYPERLINK(1)每个'), encoding="utf-8")
    _folder(d / "folder.toml")
    _folder(d / "folder.xlsx")
    (d / "layers_zero.gpkg").write_bytes(b"")
    (d / "layers_text.gpkg").write_text("not a geopackage", encoding="utf-8")


def census(c, d: Path):
    """Census tables and other files of ``geoplan workspace init``."""
    d.mkdir(exist_ok=True)
    towns = c["townships"]
    rows = ["乡镇(街道),常住人口,60岁及以上人口"] + [f"{r.name},{r.population},{r.pop_60plus}" for r in towns.itertuples()]
    good = "\r\n".join(rows) + "\r\n"
    (d / "census_gbk.csv").write_bytes(good.encode("gbk"))
    (d / "census_zero.csv").write_bytes(b"")
    (d / "census_text_number.csv").write_text(good.replace(f",{towns.population.iloc[2]},", ",约四万,"), encoding="utf-8")
    (d / "census_unknown_town.csv").write_text(good.replace(towns.name.iloc[3], "火星镇"), encoding="utf-8")
    (d / "census_duplicate_town.csv").write_text(good + rows[2] + "\r\n", encoding="utf-8")
    (d / "census_header_only.csv").write_text(rows[0] + "\r\n", encoding="utf-8")
    (d / "census_utf16.csv").write_bytes(good.encode("utf-16"))
    (d / "census_negative.csv").write_text(good.replace(f",{towns.pop_60plus.iloc[1]}\r", ",-5\r"), encoding="utf-8")
    (d / "census_formula.csv").write_text(good.replace(f",{towns.population.iloc[0]},", ",=SUM(A1:A9),"), encoding="utf-8")
    _folder(d / "census_folder.csv")
    t = towns[["code", "name", "geometry"]]
    pyogrio.write_dataframe(t, d / "towns.gpkg", layer="townships")
    pyogrio.write_dataframe(t.to_crs(4549), d / "towns_no_prj.shp", encoding="UTF-8")
    (d / "towns_no_prj.prj").unlink()
    (d / "towns_zero.shp").write_bytes(b"")
    for ext in ("shx", "dbf"):
        (d / f"towns_zero.{ext}").write_bytes(b"")
    g = t.copy(); g.loc[g.index[1], "code"] = g.loc[g.index[0], "code"]
    pyogrio.write_dataframe(g, d / "towns_dup.gpkg", layer="townships")
    g = t.copy(); g.loc[g.index[2], "geometry"] = shapely.Polygon()
    pyogrio.write_dataframe(g, d / "towns_empty_geom.gpkg", layer="townships")
    g = t.copy(); g.loc[g.index[0], "code"] = "330624999"
    pyogrio.write_dataframe(g, d / "towns_unknown_code.gpkg", layer="townships")
    g = c["townships"].to_crs(4490).copy(); g["geometry"] = g.geometry.translate(5, 0)  # another county's place
    pyogrio.write_dataframe(g[["code", "name", "geometry"]], d / "towns_elsewhere.gpkg", layer="townships")
    e = _table(c)
    x = e.copy(); x.loc[2, "beds"] = "很多"; _csv(d / "elderly_text_beds.csv", x)
    x = e.copy(); x.loc[3, "facility_id"] = x.loc[0, "facility_id"]; _csv(d / "elderly_dup.csv", x)
    x = e.copy(); x.loc[1, "status"] = "停业整顿中"; _csv(d / "elderly_unknown_status.csv", x)
    (d / "elderly_zero.xlsx").write_bytes(b"")
    (d / "roads_zero.osm").write_bytes(b"")
    (d / "roads_truncated.osm").write_text('<?xml version="1.0"?>\n<osm version="0.6">\n<node id="1" lat="29.5" lon="120.9"/>\n<way id="1"><nd ref="1"/>',
                                           encoding="utf-8")
    (d / "roads_not_osm.osm.pbf").write_bytes(b"\x00\x01garbage" * 20)
    (d / "villages_zero.geojson").write_bytes(b"")


def inspection(d: Path):
    """Filled forms and GPX of ``geoplan inspect import`` (marker IDs of line 3068 of 新昌县)."""
    d.mkdir(exist_ok=True)
    head = "marker_id,condition,measured_lon,measured_lat,inspected,remarks"
    ok = "3068005Q,完好,,,2025-03-03,"

    def w(name, *lines, enc="utf-8-sig"):
        (d / name).write_bytes(("\r\n".join((head,) + lines) + "\r\n").encode(enc))

    w("form_unknown_marker.csv", ok, "9999001Q,完好,,,2025-03-03,")
    w("form_unknown_condition.csv", ok, "3068006Q,挪了,,,2025-03-03,")
    w("form_text_coordinates.csv", ok, "3068006Q,移位,东经121度,29.39,2025-03-03,")
    w("form_date_out_of_range.csv", ok, "3068006Q,完好,,,2025-02-30,")
    w("form_date_future.csv", ok, "3068006Q,完好,,,2125-03-03,")
    w("form_duplicate_marker.csv", ok, "3068005Q,损坏,,,2025-03-04,")
    w("form_far_away.csv", ok, "3068006Q,移位,116.39,39.9,2025-03-03,")
    w("form_gbk.csv", ok, "3068006Q,完好,,,2025-03-03,字迹清楚", enc="gbk")
    w("form_formula.csv", ok, "3068006Q,完好,,,2025-03-03,=HYPERLINK(\"http://x\")")
    (d / "form_zero.csv").write_bytes(b"")
    (d / "form_header_only.csv").write_text(head + "\r\n", encoding="utf-8")
    (d / "form_no_marker_column.csv").write_text("编号,状况\r\n3068005Q,完好\r\n", encoding="utf-8")
    _folder(d / "form_folder.xlsx")
    (d / "form_truncated.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    gpx = ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1">\n'
           '<wpt lat="{lat}" lon="{lon}"><name>{name}</name></wpt>\n</gpx>\n')
    (d / "gpx_truncated.gpx").write_text(gpx.format(lat="29.39", lon="121.22", name="3068006Q")[:90], encoding="utf-8")
    (d / "gpx_zero.gpx").write_bytes(b"")
    (d / "gpx_unknown_marker.gpx").write_text(gpx.format(lat="29.39", lon="121.22", name="9999001Q"), encoding="utf-8")
    (d / "gpx_text_lat.gpx").write_text(gpx.format(lat="北纬29", lon="121.22", name="3068006Q"), encoding="utf-8")
    (d / "gpx_out_of_range.gpx").write_text(gpx.format(lat="129.39", lon="121.22", name="3068006Q"), encoding="utf-8")
    _folder(d / "gpx_folder.gpx")


def maps(c, d: Path):
    """Side files of ``geoplan map`` and ``geoplan site``."""
    d.mkdir(exist_ok=True)
    (d / "history_zero.csv").write_bytes(b"")
    (d / "history_no_id.csv").write_text("年份,事件\r\n1950,设镇\r\n", encoding="utf-8")
    (d / "history_utf16.csv").write_bytes("name_id,year,event\r\n330624104,1950,设镇\r\n".encode("utf-16"))
    _folder(d / "history_folder.csv")
    (d / "sites_zero.geojson").write_bytes(b"")
    (d / "sites_not_json.geojson").write_text("{\"type\": \"FeatureCollection\", \"features\": [", encoding="utf-8")
    pyogrio.write_dataframe(c["townships"].head(2)[["code", "geometry"]], d / "sites_polygons.geojson", driver="GeoJSON")
    (d / "routes_zero.gpkg").write_bytes(b"")
    pyogrio.write_dataframe(c["roads"].head(2)[["road_id", "geometry"]], d / "routes_no_team.geojson", driver="GeoJSON")
    iso = gpd.GeoDataFrame({"mins": [15]}, geometry=[c["townships"].geometry.iloc[0]], crs=4490)
    pyogrio.write_dataframe(iso, d / "isochrones_no_minutes.geojson", driver="GeoJSON")


def province(d: Path):
    """Layer and plan folders of ``geoplan province``."""
    d.mkdir(exist_ok=True)
    lay = d / "layers_bad"
    lay.mkdir(exist_ok=True)
    (lay / "330624.gpkg").write_bytes(b"")
    plansd = d / "plans_bad"
    plansd.mkdir(exist_ok=True)
    (plansd / "330624_2022.toml").write_text(PLAN_HEAD.replace("year = 2022", "year = ") + RULE, encoding="utf-8")
    (d / "template_county.toml").write_text(PLAN_HEAD + RULE, encoding="utf-8")  # a template must say county = "*"
    (d / "template_zero.toml").write_bytes(b"")
    (d / "template.toml").write_text(PLAN_HEAD.replace('"330624"', '"*"') + RULE, encoding="utf-8")
    _folder(d / "template_folder.toml")
    (d / "a_file").write_text("不是文件夹", encoding="utf-8")


def main():
    c = load_sample("330624")
    layers(c, HERE / "validate")
    plans(HERE / "coverage")
    census(c, HERE / "workspace")
    inspection(HERE / "inspect")
    maps(c, HERE / "map")
    province(HERE / "province")


if __name__ == "__main__":
    main()
