"""Reading and validating layers: every bad input gets a clear error and changes nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.errors import CRSError, DataFileError, EncodingError, GeoplanError, ValidationError
from geoplan.layers.io import read_layer, read_population, write_layer
from geoplan import i18n


@pytest.fixture(autouse=True)
def english():
    """These tests assert the English texts; tests/test_i18n_layers.py checks the Chinese ones."""
    i18n.set_language("en")
    yield
    i18n.set_language(None)


def snapshot(folder):
    """Names and content hashes of every file in a folder: reading must not change them."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def expect_failure(tmp_path, path, exc_type, *fragments, **kwargs):
    before = snapshot(tmp_path)
    with pytest.raises(exc_type) as info:
        read_layer(path, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in message:\n{message}"
    assert snapshot(tmp_path) == before, "a failed read changed files"
    return info.value


# ---------------------------------------------------------------- good inputs

@pytest.mark.parametrize("ext", ["gpkg", "geojson", "shp"])
def test_reads_vector_formats_to_cgcs2000(tmp_path, towns, ext):
    path = tmp_path / f"towns.{ext}"
    towns.to_crs(4549).to_file(path)  # a metric CRS on disk: the reader brings it back to EPSG:4490
    got = read_layer(path, "townships")
    assert got.crs.to_epsg() == 4490
    assert got["name"].tolist() == towns["name"].tolist()
    assert got["population"].dtype == "Int64"
    assert np.allclose(got.total_bounds, towns.total_bounds, atol=1e-7)


def test_reads_csv_and_xlsx_with_lonlat(tmp_path, centres):
    centres.to_csv(tmp_path / "c.csv", index=False)
    centres.rename(columns={"lon": "经度", "lat": "纬度"}).to_excel(tmp_path / "c.xlsx", index=False)
    for name in ("c.csv", "c.xlsx"):
        got = read_layer(tmp_path / name, "elderly_care")
        assert got["status"].tolist() == ["运营"] * 3  # 'operating' is an alias
        assert got.loc[2, "beds"] == 300 and pd.isna(got.loc[0, "beds"])
        assert got.geometry.x.tolist() == pytest.approx(centres["lon"].tolist())


def test_csv_in_gbk_is_decoded(tmp_path, centres):
    centres.to_csv(tmp_path / "gbk.csv", index=False, encoding="gbk")
    got = read_layer(tmp_path / "gbk.csv", "elderly_care")
    assert got["name"].iloc[2] == "新昌县社会福利院"


def test_gcj02_csv_is_converted(tmp_path, centres):
    from geoplan.layers.crs import wgs84_to_gcj02_xy

    gx, gy = wgs84_to_gcj02_xy(centres["lon"], centres["lat"])
    shifted = centres.assign(lon=gx, lat=gy)
    shifted.to_csv(tmp_path / "amap.csv", index=False)
    got = read_layer(tmp_path / "amap.csv", "elderly_care", coords="gcj02")
    assert got.geometry.x.to_numpy() == pytest.approx(centres["lon"].to_numpy(), abs=1e-8)
    raw = read_layer(tmp_path / "amap.csv", "elderly_care")
    shift_m = gpd.GeoSeries(raw.geometry).to_crs(4549).distance(got.geometry.to_crs(4549))
    assert (shift_m > 100).all()  # GCJ-02 is hundreds of metres off in Zhejiang


def test_gbk_shapefile_without_cpg_is_detected(tmp_path, towns):
    path = tmp_path / "gbk.shp"
    towns.to_file(path, encoding="GBK")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    import pyogrio

    garbled = pyogrio.read_dataframe(path)["name"].tolist()
    assert garbled != towns["name"].tolist()  # what GDAL alone shows: mojibake
    before = snapshot(tmp_path)
    assert read_layer(path, "townships")["name"].tolist() == towns["name"].tolist()
    assert snapshot(tmp_path) == before  # no .cpg written behind the user's back


def test_chinese_column_labels_are_accepted(tmp_path, towns):
    labelled = towns.rename(columns={"code": "乡镇代码", "population": "常住人口"})
    labelled.to_file(tmp_path / "t.gpkg")
    got = read_layer(tmp_path / "t.gpkg", "townships")
    assert {"code", "population"} <= set(got.columns)


# ---------------------------------------------------------------- bad inputs

def test_missing_required_column(tmp_path, towns):
    towns.drop(columns="pop_60plus").to_file(tmp_path / "t.gpkg")
    err = expect_failure(tmp_path, tmp_path / "t.gpkg", ValidationError, "pop_60plus", "is missing",
                         kind="townships")
    assert err.columns() == {"pop_60plus"}


def test_wrong_type(tmp_path, towns):
    t = towns.astype({"population": object})
    t.loc[1, "population"] = "约六万"
    t.to_file(tmp_path / "t.gpkg")
    err = expect_failure(tmp_path, tmp_path / "t.gpkg", ValidationError, "feature 2", "population",
                         "must be a number", "约六万", kind="townships")
    assert len(err.problems) == 1


def test_duplicate_ids(tmp_path, towns):
    t = towns.copy()
    t.loc[2, "code"] = "330624001"
    t.loc[2, "name"] = "羽林街道"
    t.loc[2, "kind"] = "街道"
    t.to_file(tmp_path / "t.gpkg")
    expect_failure(tmp_path, tmp_path / "t.gpkg", ValidationError, "feature 3", "duplicate code",
                   "feature 1", kind="townships")


def test_invalid_geometry(tmp_path, towns):
    t = towns.copy()
    t.loc[0, "geometry"] = shapely.Polygon([(120.80, 29.40), (120.85, 29.45), (120.85, 29.40), (120.80, 29.45)])
    t.to_file(tmp_path / "t.gpkg")
    expect_failure(tmp_path, tmp_path / "t.gpkg", ValidationError, "feature 1", "invalid", "Self-intersection",
                   kind="townships")
    repaired = read_layer(tmp_path / "t.gpkg", "townships", repair=True)
    assert repaired.is_valid.all()


def test_empty_geometry(tmp_path, towns):
    t = towns.copy()
    t.loc[1, "geometry"] = shapely.Polygon()
    t.to_file(tmp_path / "t.gpkg")
    expect_failure(tmp_path, tmp_path / "t.gpkg", ValidationError, "feature 2", "empty", kind="townships")


def test_wrong_geometry_type(tmp_path, towns):
    t = towns.copy()
    t["geometry"] = t.geometry.representative_point()
    t.to_file(tmp_path / "t.gpkg")
    err = expect_failure(tmp_path, tmp_path / "t.gpkg", ValidationError, "is a Point",
                         "Polygon or MultiPolygon", kind="townships")
    assert len(err.problems) == 3


def test_nan_coordinates(tmp_path, centres):
    c = centres.astype({"lon": object})
    c.loc[1, "lon"] = ""
    c.loc[2, "lon"] = "120.9E"
    c.to_csv(tmp_path / "c.csv", index=False)
    err = expect_failure(tmp_path, tmp_path / "c.csv", ValidationError, "row 3", "coordinate is empty",
                         "row 4", "not a number", "120.9E", kind="elderly_care")
    assert len(err.problems) == 2  # one per row, not repeated as 'no geometry'


def test_nan_coordinates_in_geometry(tmp_path, centres):
    g = gpd.GeoDataFrame(centres.drop(columns=["lon", "lat"]),
                         geometry=shapely.points([120.8, np.nan, 120.9], [29.4, 29.4, np.nan]), crs=4490)
    g.to_file(tmp_path / "c.gpkg")
    err = expect_failure(tmp_path, tmp_path / "c.gpkg", ValidationError, "NaN", kind="elderly_care")
    assert {p.row for p in err.problems} == {"feature 2", "feature 3"}


def test_out_of_china(tmp_path, centres):
    c = centres.copy()
    c.loc[0, ["lon", "lat"]] = [2.35, 48.85]  # Paris
    c.to_csv(tmp_path / "c.csv", index=False)
    expect_failure(tmp_path, tmp_path / "c.csv", ValidationError, "row 2", "outside China", kind="elderly_care")


def test_lat_lon_swapped(tmp_path, centres):
    c = centres.rename(columns={"lon": "lat", "lat": "lon"})
    c.to_csv(tmp_path / "c.csv", index=False)
    err = expect_failure(tmp_path, tmp_path / "c.csv", ValidationError, "look swapped", kind="elderly_care")
    assert len(err.problems) == 3


def test_no_crs(tmp_path, towns):
    towns.to_file(tmp_path / "t.shp")
    (tmp_path / "t.prj").unlink()
    expect_failure(tmp_path, tmp_path / "t.shp", CRSError, "no coordinate reference system", ".prj",
                   "EPSG:4490", kind="townships")
    # ... and with the CRS given it reads
    assert len(read_layer(tmp_path / "t.shp", "townships", crs="EPSG:4490")) == 3


def test_unknown_crs(tmp_path, towns):
    towns.to_file(tmp_path / "t.shp")
    (tmp_path / "t.prj").write_text(
        'LOCAL_CS["Site grid",LOCAL_DATUM["unknown",0],UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]')
    expect_failure(tmp_path, tmp_path / "t.shp", CRSError, "cannot be related to CGCS2000", kind="townships")


@pytest.mark.parametrize("ext", ["gpkg", "geojson", "xlsx", "shp"])
def test_truncated_file(tmp_path, towns, centres, ext):
    path = tmp_path / f"t.{ext}"
    if ext == "xlsx":
        centres.to_excel(path, index=False)
    else:
        towns.to_file(path)
    data = (path if ext != "shp" else path.with_suffix(".shp")).read_bytes()
    (path if ext != "shp" else path.with_suffix(".shp")).write_bytes(data[: len(data) // 2])
    kind = "elderly_care" if ext == "xlsx" else "townships"
    expect_failure(tmp_path, path, DataFileError, str(path), kind=kind)


@pytest.mark.parametrize("tail, message", [('E4,"未写完的名称', "quote is left open"),
                                           ("E4,新昌县某某居家养", "looks truncated")])
def test_truncated_csv(tmp_path, centres, tail, message):
    text = centres.to_csv(index=False)
    (tmp_path / "c.csv").write_text(text + tail)
    expect_failure(tmp_path, tmp_path / "c.csv", DataFileError, message, kind="elderly_care")


def test_empty_file(tmp_path):
    (tmp_path / "t.gpkg").write_bytes(b"")
    expect_failure(tmp_path, tmp_path / "t.gpkg", DataFileError, "empty (0 bytes)", kind="townships")


def test_layer_without_features(tmp_path, centres):
    centres.iloc[:0].to_csv(tmp_path / "c.csv", index=False)
    expect_failure(tmp_path, tmp_path / "c.csv", ValidationError, "no features", kind="elderly_care")


def test_unknown_township_code(tmp_path, towns, centres):
    c = centres.copy()
    c.loc[1, "township_code"] = "330624999"  # well-formed, but no such township
    c.loc[2, "township_code"] = "33062400"  # too short
    c.to_csv(tmp_path / "c.csv", index=False)
    expect_failure(tmp_path, tmp_path / "c.csv", ValidationError, "row 3", "not an official township code",
                   "row 4", "9-digit", kind="elderly_care")
    # a real code that is not one of the study area's townships
    c.loc[1, "township_code"] = "330727001"  # 安文街道, 磐安县
    c.loc[2, "township_code"] = "330624002"
    c.to_csv(tmp_path / "c.csv", index=False)
    expect_failure(tmp_path, tmp_path / "c.csv", ValidationError, "not a township of the study area",
                   kind="elderly_care", townships=set(towns["code"]))


def test_negative_population(tmp_path, towns):
    t = towns.copy()
    t.loc[0, "population"] = -100
    t.to_file(tmp_path / "t.geojson")
    expect_failure(tmp_path, tmp_path / "t.geojson", ValidationError, "feature 1", "population", "negative",
                   kind="townships")


def test_undecodable_shapefile_text(tmp_path, towns):
    path = tmp_path / "t.shp"
    towns.to_file(path, encoding="UTF-8")
    (tmp_path / "t.cpg").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    pos = data.find("羽林".encode("utf-8"))
    data[pos:pos + 2] = b"\xff\xfe"  # invalid in UTF-8 and in GB18030
    dbf.write_bytes(bytes(data))
    expect_failure(tmp_path, path, EncodingError, "neither UTF-8 nor GBK", ".cpg", kind="townships")


def test_file_not_found(tmp_path):
    expect_failure(tmp_path, tmp_path / "nope.gpkg", DataFileError, "File not found", "nope.gpkg",
                   kind="townships")


def test_unsupported_format(tmp_path):
    (tmp_path / "t.kml").write_text("<kml/>")
    expect_failure(tmp_path, tmp_path / "t.kml", DataFileError, "does not read '.kml'", kind="townships")


def test_every_problem_is_collected(tmp_path, towns):
    t = towns.astype({"population": object})
    t.loc[0, "population"] = -1
    t.loc[1, "kind"] = "县"
    t.loc[2, "code"] = "330624999"
    t.to_file(tmp_path / "t.gpkg")
    err = expect_failure(tmp_path, tmp_path / "t.gpkg", ValidationError, kind="townships")
    rows = [int(p.row.split()[1]) for p in err.problems]
    assert rows == sorted(rows) and set(rows) == {1, 2, 3}  # all rows, reported in file order
    assert {p.column for p in err.problems} >= {"population", "kind", "code"}
    assert all(p.hint for p in err.problems)


def test_marker_ids_and_families(tmp_path):
    ids = ["3301001A", "3301001B", "3301002Q", "3301003C", "3301003D", "3302004A", "33010X5Q"]
    g = gpd.GeoDataFrame(
        {"marker_id": ids, "line_code": ["3301"] * len(ids), "condition": ["完好"] * len(ids),
         "last_inspected": ["2019-05-01"] * len(ids)},
        geometry=shapely.points(np.linspace(120.8, 120.9, len(ids)), np.full(len(ids), 29.5)), crs=4490)
    g.to_file(tmp_path / "m.gpkg")
    err = expect_failure(tmp_path, tmp_path / "m.gpkg", ValidationError, kind="boundary_markers")
    text = str(err)
    assert "3301003" in text and "triple" in text  # C, D without E
    assert "line_code differs" in text  # 3302004A on line 3301
    assert "33010X5Q" in text  # malformed ID
    assert "3301001" not in text.replace("3301001A", "").replace("3301001B", "") or "pair" not in text


# ---------------------------------------------------------------- writing and the CLI

def test_write_layer_is_atomic_and_keeps_other_layers(tmp_path, towns):
    import pyogrio

    out = tmp_path / "out.gpkg"
    write_layer(towns, out, "townships")
    write_layer(towns.iloc[:1], out, "other")
    assert set(pyogrio.list_layers(out)[:, 0]) == {"townships", "other"}
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_write_layer_refuses_to_replace_a_layer_and_leaves_the_file_on_failure(tmp_path, towns):
    import hashlib

    import pyogrio

    from geoplan.errors import CRSError
    from geoplan.output import OutputExistsError

    out = tmp_path / "out.gpkg"
    write_layer(towns, out, "townships")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    with pytest.raises(OutputExistsError, match="townships"):
        write_layer(towns.iloc[:1], out, "townships")
    with pytest.raises(CRSError):  # a layer without a CRS: refused before anything is written
        write_layer(towns.set_crs(None, allow_override=True), out, "other")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    assert not [p for p in tmp_path.iterdir() if p.name != "out.gpkg"]  # no temporary file or folder left
    write_layer(towns.iloc[:2], out, "townships", overwrite=True)
    assert len(pyogrio.read_dataframe(out, layer="townships")) == 2


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "geoplan.cli.main", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PYTHONIOENCODING": "utf-8", "GEOPLAN_LANG": "en"})


def test_cli_validate_bad_file_exits_nonzero_without_traceback_or_output(tmp_path, towns):
    t = towns.copy()
    t.loc[0, "population"] = -1
    t.to_file(tmp_path / "t.gpkg")
    before = snapshot(tmp_path)
    res = run_cli("validate", tmp_path / "t.gpkg", "--kind", "townships", "--out", tmp_path / "clean.gpkg")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "population" in res.stderr and "negative" in res.stderr
    assert snapshot(tmp_path) == before  # no clean.gpkg


def test_cli_validate_good_file_writes_output(tmp_path, towns):
    towns.to_crs(4549).to_file(tmp_path / "t.shp")
    res = run_cli("validate", tmp_path / "t.shp", "--kind", "townships", "--out", tmp_path / "clean.gpkg")
    assert res.returncode == 0, res.stderr
    back = gpd.read_file(tmp_path / "clean.gpkg")
    assert back.crs.to_epsg() == 4490 and back["name"].tolist() == towns["name"].tolist()


def test_cli_missing_file(tmp_path):
    res = run_cli("validate", tmp_path / "none.csv", "--kind", "villages")
    assert res.returncode == 1 and "File not found" in res.stderr and "Traceback" not in res.stderr


# ---------------------------------------------------------------- population raster

def _write_raster(path, data, crs="EPSG:4549"):
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype, crs=crs, transform=from_origin(500000, 3260000, 100, 100)) as dst:
        dst.write(data, 1)


def test_population_raster(tmp_path):
    data = np.arange(12, dtype="int32").reshape(3, 4)
    _write_raster(tmp_path / "p.tif", data)
    pop = read_population(tmp_path / "p.tif")
    assert pop.total == data.sum() and pop.cell_area_m2 == 10000
    cells = pop.cell_centres()
    assert len(cells) == 11 and cells["population"].sum() == data.sum()
    # the centre of the cell in row 1, column 2
    c = cells[(cells.row == 1) & (cells.col == 2)].geometry.iloc[0]
    assert (c.x, c.y) == (500250.0, 3259850.0)


def test_population_raster_negative_and_no_crs(tmp_path):
    data = np.ones((2, 2), dtype="float32")
    data[1, 0] = -3
    _write_raster(tmp_path / "neg.tif", data)
    with pytest.raises(ValidationError, match="negative"):
        read_population(tmp_path / "neg.tif")
    _write_raster(tmp_path / "nocrs.tif", np.ones((2, 2), dtype="float32"), crs=None)
    with pytest.raises(CRSError, match="no coordinate reference system"):
        read_population(tmp_path / "nocrs.tif")


def test_all_errors_are_geoplan_errors():
    for exc in (CRSError, DataFileError, EncodingError, ValidationError):
        assert issubclass(exc, GeoplanError)
