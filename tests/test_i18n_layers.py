"""Reading layers in the reader's language: Chinese by default, English on request, same facts in both.

The bad inputs are those of tests/test_io.py. Each is read twice, in Chinese
and in English; the Chinese message must name the file, the row (第 N 行 /
第 N 个要素) and the field in Chinese words, hold no English outside a short
allow-list, and carry exactly the numbers and file names of the English one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geoplan import i18n
from geoplan.errors import CRSError, DataFileError, EncodingError, GeoplanError, Problem, ValidationError
from geoplan.layers import crs as _crs
from geoplan.layers.io import LAT_NAMES, LON_NAMES, read_layer, read_population
from geoplan.layers.schema import SCHEMAS
from geoplan.layers.values import parse_yes_no

ROOT = Path(__file__).resolve().parents[1]

# English a Chinese message may contain: format and standard names, codes, units, the schema's
# own column and kind names (they are what the file holds), and GDAL/shapely's own reasons.
ALLOWED = {
    "geoplan", "csv", "xlsx", "xls", "gpkg", "geojson", "shp", "shx", "dbf", "prj", "cpg", "json",
    "geopackage", "shapefile", "excel", "utf", "gbk", "gb", "epsg", "cgcs", "gcj", "wgs", "crs",
    "nan", "qgis", "gis", "dbf", "point", "polygon", "multipolygon", "linestring", "multilinestring",
    "multipoint", "nodata", "yes", "no", "true", "false", "layer", "encoding",
    "lon", "lat", "col", "repair", "python", "scripts", "build", "sample", "layers", "py", "readme", "md",
    "kind", "geometry", "kml",
}
ALLOWED.update(n.lower() for n in LON_NAMES + LAT_NAMES)  # the column names the reader looks for
for _schema in SCHEMAS.values():
    ALLOWED.add(_schema.kind.lower())
    ALLOWED.update(w.lower() for w in re.findall(r"[A-Za-z]+", _schema.kind))
    for _f in _schema.fields:
        ALLOWED.update(w.lower() for w in re.findall(r"[A-Za-z]+", _f.name))


# The schema's English descriptions name the Chinese category values a file holds (运营 (operating) …):
# data terms, left out of the English-mode scan for Chinese.
SCHEMA_TEXTS = sorted({t for s in SCHEMAS.values() for f in s.fields for t in (f.description, f.pattern_hint) if t},
                      key=len, reverse=True)


@pytest.fixture(autouse=True)
def restore_language():
    yield
    i18n.set_language(None)


def english_words(text: str, *paths) -> set[str]:
    """ASCII words in ``text`` outside the allow-list and file paths (the schema's texts are translated too)."""
    for p in paths:
        text = text.replace(str(p), " ")
    words = {w for w in re.findall(r"[A-Za-z]{2,}", text)}
    return {w for w in words if w.lower() not in ALLOWED}


def numbers(text: str, *paths) -> Counter:
    for p in paths:
        text = text.replace(str(p), " PATH ")
    return Counter(re.findall(r"\d+(?:\.\d+)?", text))


def in_both(func):
    """``str`` of the exception ``func`` raises in Chinese and in English, and the exception itself."""
    out = {}
    for lang in ("zh_CN", "en"):
        i18n.set_language(lang)
        with pytest.raises(GeoplanError) as info:
            func()
        out[lang] = info.value
    i18n.set_language(None)
    return out["zh_CN"], out["en"]


# ----------------------------------------------------------------- the bad inputs of test_io.py

def _gpkg(tmp_path, frame, name="t.gpkg"):
    frame.to_file(tmp_path / name)
    return tmp_path / name


def case_missing_column(tmp_path, towns, centres):
    p = _gpkg(tmp_path, towns.drop(columns="pop_60plus"))
    return p, dict(kind="townships"), ["字段 'pop_60plus'", "缺少必需字段"], ["column 'pop_60plus'", "is missing"]


def case_wrong_type(tmp_path, towns, centres):
    t = towns.astype({"population": object})
    t.loc[1, "population"] = "约六万"
    p = _gpkg(tmp_path, t)
    return (p, dict(kind="townships"), ["第 2 个要素", "字段 'population'", "必须是数字", "（值：约六万）"],
            ["feature 2", "column 'population'", "must be a number", "(value: 约六万)"])


def case_duplicate_ids(tmp_path, towns, centres):
    t = towns.copy()
    t.loc[2, ["code", "name", "kind"]] = ["330624001", "羽林街道", "街道"]
    p = _gpkg(tmp_path, t)
    return (p, dict(kind="townships"), ["第 3 个要素", "code 重复", "第 1 个要素使用了相同的编号"],
            ["feature 3", "duplicate code", "feature 1"])


def case_invalid_geometry(tmp_path, towns, centres):
    t = towns.copy()
    t.loc[0, "geometry"] = shapely.Polygon([(120.80, 29.40), (120.85, 29.45), (120.85, 29.40), (120.80, 29.45)])
    p = _gpkg(tmp_path, t)
    return p, dict(kind="townships"), ["第 1 个要素", "几何图形无效（自相交，位置 ("], ["feature 1", "invalid (Self-intersection at ("]


def case_wrong_geometry_type(tmp_path, towns, centres):
    t = towns.copy()
    t["geometry"] = t.geometry.representative_point()
    p = _gpkg(tmp_path, t)
    return (p, dict(kind="townships"), ["几何类型为 Point", "Polygon 或 MultiPolygon"],
            ["is a Point", "Polygon or MultiPolygon"])


def case_csv_coordinates(tmp_path, towns, centres):
    c = centres.astype({"lon": object})
    c.loc[1, "lon"] = ""
    c.loc[2, "lon"] = "120.9E"
    c.to_csv(tmp_path / "c.csv", index=False)
    return (tmp_path / "c.csv", dict(kind="elderly_care"),
            ["第 3 行，字段 'lon'：坐标为空", "第 4 行", "坐标不是数字", "120.9E"],
            ["row 3, column 'lon': the coordinate is empty", "row 4", "not a number", "120.9E"])


def case_out_of_china(tmp_path, towns, centres):
    c = centres.copy()
    c.loc[0, "lon"] = 10.0
    c.to_csv(tmp_path / "c.csv", index=False)
    return tmp_path / "c.csv", dict(kind="elderly_care"), ["第 2 行", "境外"], ["row 2", "outside China"]


def case_swapped(tmp_path, towns, centres):
    c = centres.rename(columns={"lon": "lat", "lat": "lon"})
    c.to_csv(tmp_path / "c.csv", index=False)
    return tmp_path / "c.csv", dict(kind="elderly_care"), ["颠倒"], ["look swapped"]


def case_unknown_township(tmp_path, towns, centres):
    c = centres.copy()
    c.loc[1, "township_code"] = "330624999"
    c.loc[2, "township_code"] = "3306241"
    c.to_csv(tmp_path / "c.csv", index=False)
    return (tmp_path / "c.csv", dict(kind="elderly_care"), ["第 3 行", "不是官方乡镇(街道)行政区划代码", "第 4 行"],
            ["row 3", "not an official township code", "row 4"])


def case_negative(tmp_path, towns, centres):
    t = towns.copy()
    t.loc[0, "population"] = -5
    t.to_file(tmp_path / "t.geojson")
    return (tmp_path / "t.geojson", dict(kind="townships"), ["第 1 个要素", "'population' 为负数"],
            ["feature 1", "'population' is negative"])


def case_no_features(tmp_path, towns, centres):
    p = _gpkg(tmp_path, towns.iloc[:0])
    return p, dict(kind="townships"), ["没有要素"], ["no features"]


def case_not_found(tmp_path, towns, centres):
    return tmp_path / "缺失.gpkg", dict(kind="townships"), ["找不到文件"], ["File not found"]


def case_empty_file(tmp_path, towns, centres):
    (tmp_path / "e.gpkg").write_bytes(b"")
    return tmp_path / "e.gpkg", dict(kind="townships"), ["空文件（0 字节）"], ["empty (0 bytes)"]


def case_unsupported(tmp_path, towns, centres):
    (tmp_path / "t.kml").write_text("<kml/>")
    return tmp_path / "t.kml", dict(kind="townships"), ["不能读取 '.kml' 文件"], ["does not read '.kml'"]


def case_old_excel(tmp_path, towns, centres):
    (tmp_path / "t.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    return tmp_path / "t.xls", dict(kind="townships"), ["另存为 .xlsx"], ["save it as .xlsx"]


def case_no_crs(tmp_path, towns, centres):
    towns.to_file(tmp_path / "t.shp", encoding="utf-8")
    (tmp_path / "t.prj").unlink()
    return tmp_path / "t.shp", dict(kind="townships"), ["没有坐标系（缺少 .prj 文件）"], ["no coordinate reference system"]


def case_truncated_csv(tmp_path, towns, centres):
    text = "facility_id,name,kind,status,township_code,lon,lat\nE1,a,养老机构,运营,330624001,120.9,29.5\nE2,\"b"
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    return tmp_path / "c.csv", dict(kind="elderly_care"), ["引号"], ["quote is left open"]


def case_no_lonlat(tmp_path, towns, centres):
    centres.drop(columns=["lon", "lat"]).to_csv(tmp_path / "c.csv", index=False)
    return tmp_path / "c.csv", dict(kind="elderly_care"), ["找不到经度/纬度列"], ["no longitude/latitude columns"]


def case_gbk_without_cpg(tmp_path, towns, centres):
    towns.to_file(tmp_path / "t.shp", encoding="UTF-8")
    (tmp_path / "t.cpg").unlink(missing_ok=True)
    dbf = tmp_path / "t.dbf"
    data = bytearray(dbf.read_bytes())
    pos = data.find("羽林".encode("utf-8"))
    data[pos:pos + 2] = b"\xff\xfe"  # neither UTF-8 nor GB18030
    dbf.write_bytes(bytes(data))
    return tmp_path / "t.shp", dict(kind="townships"), ["乱码"], ["garbled"]


def case_several_layers(tmp_path, towns, centres):
    towns.to_file(tmp_path / "m.gpkg", layer="a")
    towns.to_file(tmp_path / "m.gpkg", layer="b")
    return tmp_path / "m.gpkg", dict(kind="townships"), ["含有多个图层（a、b）"], ["several layers (a, b)"]


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__[5:])
def test_bad_input_in_chinese_and_english(tmp_path, towns, centres, case):
    path, kwargs, zh_fragments, en_fragments = case(tmp_path, towns, centres)
    zh_err, en_err = in_both(lambda: read_layer(path, **kwargs))
    zh, en = str(zh_err), str(en_err)
    assert type(zh_err) is type(en_err)
    for fragment in zh_fragments:
        assert fragment in zh, f"{fragment!r} not in:\n{zh}"
    for fragment in en_fragments:
        assert fragment in en, f"{fragment!r} not in:\n{en}"
    # the file is named in both, and the same numbers (rows, counts, values, codes) are in both
    stem = str(path.with_suffix(""))  # a Shapefile's fault may be in its .dbf
    assert stem in zh and stem in en
    files = (path, path.with_suffix(".dbf"), Path.cwd(), path.resolve())
    assert numbers(zh, *files) == numbers(en, *files), f"{zh}\n---\n{en}"
    leftover = english_words(zh, *files)
    assert not leftover, f"English words {leftover} in the Chinese message:\n{zh}"
    assert not re.search(r"[\u4e00-\u9fff]", english_only(en, path)), f"Chinese UI text in:\n{en}"
    if isinstance(zh_err, ValidationError):
        assert zh.startswith("在 ") and "未做任何修改" in zh.splitlines()[0]
        assert "nothing was changed" in en.splitlines()[0]
        assert [(p.file, p.column, p.value) for p in zh_err.problems] == \
               [(p.file, p.column, p.value) for p in en_err.problems]


def english_only(en: str, path) -> str:
    """The English message without what comes from the data (file names, values, Chinese labels)."""
    text = en.replace(str(path), " ").replace(str(path.with_suffix(".dbf")), " ")
    for name in LON_NAMES + LAT_NAMES:  # the column names looked for, 经度 and 纬度 among them
        text = text.replace(name, " ")
    text = re.sub(r"\(value: [^)]*\)", " ", text)
    text = re.sub(r"\(([^)]*)\) is missing", " is missing", text)  # the schema's Chinese label
    for t in SCHEMA_TEXTS:
        text = text.replace(t, " ")
    return text


def test_problem_reads_like_a_chinese_sentence():
    p = Problem("乡镇.xlsx", "Sheet1", None, "kind", "羽林", "类别为“镇”，但名称不以“镇”结尾", "请检查类别或名称")
    i18n.set_language("zh_CN")
    assert str(p) == "文件 乡镇.xlsx，图层 'Sheet1'，字段 'kind'：类别为“镇”，但名称不以“镇”结尾（值：羽林）——请检查类别或名称"
    i18n.set_language("en")
    assert str(p).startswith("乡镇.xlsx, layer 'Sheet1', column 'kind': ")


def test_summary_counts_hidden_problems_in_both_languages():
    problems = [Problem("a.csv", None, f"row {i}", "x", None, "m") for i in range(ValidationError.MAX_SHOWN + 4)]
    i18n.set_language("zh_CN")
    zh = str(ValidationError(problems))
    i18n.set_language("en")
    en = str(ValidationError(problems))
    assert zh.splitlines()[0] == "在 a.csv 中发现 34 个问题，未做任何修改："
    assert zh.splitlines()[-1].strip() == "……另有 4 个同类问题"
    assert en.splitlines()[0] == "34 problems found in a.csv; nothing was changed:"
    assert en.splitlines()[-1].strip() == "... and 4 more problems of the same kinds"
    one = [Problem("a.csv", None, None, None, None, "m")]
    assert str(ValidationError(one)).startswith("1 problem found in a.csv;")


def test_population_raster_cells_are_named_in_chinese(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    data = np.ones((3, 4), dtype="float32")
    data[1, 2] = -2
    with rasterio.open(tmp_path / "p.tif", "w", driver="GTiff", height=3, width=4, count=1, dtype="float32",
                       crs="EPSG:4549", transform=from_origin(500000, 3300000, 100, 100)) as dst:
        dst.write(data, 1)
    zh, en = in_both(lambda: read_population(tmp_path / "p.tif"))
    assert "第 2 行第 3 列像元" in str(zh) and "有 1 个像元的值为负数" in str(zh)
    assert "cell row 2, column 3" in str(en) and "1 cell is negative" in str(en)
    assert numbers(str(zh), tmp_path / "p.tif") == numbers(str(en), tmp_path / "p.tif")


def test_crs_messages_in_chinese(towns):
    zh, en = in_both(lambda: _crs.gk_zone_epsg(10.0))
    assert "不在我国 3 度带高斯–克吕格投影带范围内" in str(zh) and "outside China" in str(en)
    no_crs = towns.set_crs(None, allow_override=True)
    zh, en = in_both(lambda: _crs.require_crs(no_crs))
    assert str(zh).startswith("图层没有坐标系") and str(en).startswith("The layer has no coordinate reference system")
    zh, en = in_both(lambda: _crs.gcj02_to_cgcs2000(towns.to_crs(4549)))
    assert "投影坐标系" in str(zh) and "projected" in str(en)
    for z, e in ((zh, en),):
        assert numbers(str(z)) == numbers(str(e))


def test_divisions_and_sample_messages_in_chinese(tmp_path, monkeypatch):
    from geoplan.layers.divisions import county_townships
    from geoplan.layers.sample import sample_paths

    zh, en = in_both(lambda: county_townships("999999"))
    assert "'999999'" in str(zh) and "官方区划代码表" in str(zh) and "official list" in str(en)
    monkeypatch.setenv("GEOPLAN_LAYERS", str(tmp_path))
    zh, en = in_both(lambda: sample_paths("330100"))
    assert "没有县 330100 的示例图层" in str(zh) and "No sample layers for county 330100" in str(en)
    assert "330624 (新昌县)、330727 (磐安县)" in str(zh)


# ----------------------------------------------------------------- one yes/no parser

@pytest.mark.parametrize("text, expected", [
    ("是", True), ("否", False), ("有", True), ("无", False), ("√", True), ("×", False),
    ("true", True), ("FALSE", False), (" Yes ", True), ("no", False), ("Y", True), ("n", False),
    ("t", True), ("F", False), ("1", True), ("0", False), (1, True), (0, False), (1.0, True), (0.0, False),
    (True, True), (np.bool_(False), False),
    ("", None), ("  ", None), (None, None), (float("nan"), None), (pd.NA, None), ("maybe", None), (2, None),
    ("是的", None), ("10", None),
])
def test_parse_yes_no(text, expected):
    assert parse_yes_no(text) is expected


def test_validate_uses_the_yes_no_parser(tmp_path, towns):
    sites = gpd.GeoDataFrame(
        {"facility_id": ["C1", "C2", "C3", "C4"], "name": ["甲公墓", "乙公墓", "丙公墓", "丁公墓"],
         "kind": ["公墓"] * 4, "township_code": ["330624001"] * 4, "status": ["运营"] * 4,
         "eco_burial": ["有", " √ ", "N", "也许"]},
        geometry=shapely.points([120.81, 120.82, 120.83, 120.84], [29.41] * 4), crs=4490)
    sites.to_file(tmp_path / "c.gpkg")
    i18n.set_language("zh_CN")
    with pytest.raises(ValidationError) as info:
        read_layer(tmp_path / "c.gpkg", "cemeteries", check_official=False)
    (problem,) = [p for p in info.value.problems if p.column == "eco_burial"]
    assert problem.row == "第 4 个要素" and problem.value == "也许" and "只能填“是”或“否”" in problem.message
    sites.loc[3, "eco_burial"] = "否"
    sites.to_file(tmp_path / "c.gpkg")
    try:
        got = read_layer(tmp_path / "c.gpkg", "cemeteries", check_official=False)
    except ValidationError as exc:  # other columns of the schema this test does not fill
        assert "eco_burial" not in exc.columns(), str(exc)
    else:
        assert got["eco_burial"].tolist() == [True, True, False, False]


# ----------------------------------------------------------------- the commands

def _cli(*args, lang=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("GEOPLAN_LANG", "LANGUAGE", "LC_ALL", "LANG")}
    env["PYTHONIOENCODING"] = "utf-8"
    if lang:
        env["GEOPLAN_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "geoplan.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT)


def test_validate_command_in_both_languages(tmp_path, centres):
    c = centres.astype({"lon": object})
    c.loc[1, "lon"] = ""
    c.to_csv(tmp_path / "c.csv", index=False)
    zh = _cli("validate", "c.csv", "--kind", "elderly_care", cwd=tmp_path)
    en = _cli("validate", "c.csv", "--kind", "elderly_care", lang="en", cwd=tmp_path)
    assert zh.returncode == en.returncode == 1 and zh.stdout == en.stdout == ""
    assert zh.stderr.startswith("错误：在 c.csv 中发现 1 个问题，未做任何修改：")
    assert "文件 c.csv，第 3 行，字段 'lon'：坐标为空" in zh.stderr
    assert en.stderr.startswith("Error: 1 problem found in c.csv; nothing was changed:")
    assert "c.csv, row 3, column 'lon': the coordinate is empty" in en.stderr
    assert numbers(zh.stderr) == numbers(en.stderr)
    centres.to_csv(tmp_path / "ok.csv", index=False)
    ok = _cli("validate", "ok.csv", "--kind", "elderly_care", "--out", "clean.gpkg", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "通过" in ok.stdout and "3 个要素" in ok.stdout and "已写出 clean.gpkg（图层 'elderly_care'" in ok.stdout


def test_layers_command_headers_follow_the_language():
    from geoplan.cli.main import main

    runner = CliRunner()
    try:
        i18n.set_language("zh_CN")
        zh = runner.invoke(main, ["layers", "elderly_care"]).output
        zh_list = runner.invoke(main, ["layers"]).output
        i18n.set_language("en")
        en = runner.invoke(main, ["layers", "elderly_care"]).output
    finally:
        os.environ.pop("LANGUAGE", None)  # use_for_click sets it for click's own texts
    header = zh.splitlines()[3].split()
    assert header == ["字段", "数据类型", "中文名", "必需", "可为空", "取值", "含义"]
    assert "几何类型：Point；编号字段：facility_id" in zh
    assert zh_list.splitlines()[0].split() == ["图层类型", "名称", "几何类型", "编号字段"]
    assert en.splitlines()[3].split()[:5] == ["column", "type", "label", "required", "empty"]
    facility_zh = next(line for line in zh.splitlines() if line.strip().startswith("facility_id"))
    facility_en = next(line for line in en.splitlines() if line.strip().startswith("facility_id"))
    assert facility_zh.split()[3:5] == ["是", "否"] and facility_en.split()[3:5] == ["yes", "no"]


def test_catalog_check_passes():
    """``scripts/update_catalogs.py --check`` finds every message translated."""
    run = subprocess.run([sys.executable, "scripts/update_catalogs.py", "--check"], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stdout
