"""Reading a bureau's own files for the workspace: CRS detection, census tables, raw tables.

Coordinate systems seen in Chinese county files, and what :func:`fix_crs` does:

* CGCS2000 longitude/latitude (EPSG:4490), WGS84 (EPSG:4326): used as they are
  (the two agree to centimetres).
* CGCS2000 3-degree Gauss–Krüger with the zone number in the false easting
  (EPSG:4513–4533, x ≈ 40 500 000 for zone 40) or without it (EPSG:4534–4554,
  x ≈ 500 000), and the 6-degree zones (EPSG:4491–4501): taken from the
  ``.prj``; when the ``.prj`` says "no prefix" but the x values carry one (a
  common export mistake) — or there is no ``.prj`` at all — the zone is read
  from the coordinates' magnitude (40 xxx xxx → zone 40 → EPSG:4528).
* GCJ-02 (web maps): only when the user says so (``FILE:KIND:gcj02``); it has
  no EPSG code and cannot be recognised from the numbers.
* Xian 1980 and Beijing 1954: named as such and refused, because no public
  transformation to CGCS2000 is accurate for a county (the local seven-parameter
  set is held by the natural-resources bureau). With ``legacy_accuracy_m`` the
  user accepts pyproj's best available transformation at the accuracy they
  state; the manifest records both.
"""

from __future__ import annotations

import io as _stdio
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS, Transformer

from geoplan.errors import CRSError, DataFileError, GeoplanError, Problem, ValidationError
from geoplan.layers import crs as _crs
from geoplan.layers.io import LAT_NAMES, LON_NAMES, _check_file, _decode_text_file, read_frame

OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.bz2")
COORD_OPTIONS = ("gcj02", "wgs84", "cgcs2000")


@dataclass(frozen=True)
class FacilitySpec:
    """One ``--facilities FILE:KIND[:gcj02|wgs84|cgcs2000]`` argument."""

    path: Path
    kind: str
    coords: str | None = None


def parse_facility_spec(text: str) -> FacilitySpec:
    """Parse ``FILE:KIND`` or ``FILE:KIND:COORDS`` (split from the right, so ``C:\\`` paths work).

    >>> parse_facility_spec("养老设施.xlsx:elderly_care:gcj02")
    FacilitySpec(path=PosixPath('养老设施.xlsx'), kind='elderly_care', coords='gcj02')
    """
    from geoplan.layers.schema import SCHEMAS

    parts = str(text).rsplit(":", 2)
    coords = None
    if len(parts) == 3 and parts[2].lower() in COORD_OPTIONS:
        coords = parts[2].lower()
        parts = parts[:2]
    elif len(parts) == 3:
        parts = [parts[0] + ":" + parts[1], parts[2]]
    if len(parts) != 2 or not parts[0] or parts[1] not in SCHEMAS:
        kinds = "elderly_care、cemeteries、social_work_stations、disability_homes、children_homes"
        raise GeoplanError(
            f"设施参数“{text}”的格式不对：应为 文件:类型[:坐标系]，例如 养老设施.xlsx:elderly_care:gcj02。"
            f"类型可选：{kinds}；坐标系可选 gcj02（网络地图拾取）、wgs84、cgcs2000（默认）。"
        )
    return FacilitySpec(Path(parts[0]), parts[1], coords)


# --------------------------------------------------------------------------
# CRS
# --------------------------------------------------------------------------

def legacy_datum(crs: CRS | None) -> str | None:
    """``"西安1980"`` / ``"北京1954"`` if the CRS is on one of the old national datums."""
    if crs is None:
        return None
    name = ((crs.datum.name if crs.datum else "") + " " + crs.name).lower().replace("'", "")
    if "xian" in name or "xi an" in name or "1980 xian" in name:
        return "西安1980"
    if "beijing" in name and "1954" in name:
        return "北京1954"
    return None


def _prefixed_crs(base: CRS | None, zone: int, six_degree: bool) -> CRS:
    """The Gauss–Krüger CRS of ``zone`` with the zone number in the false easting."""
    if base is None or legacy_datum(base) is None:
        return CRS.from_epsg((4491 + zone - 13) if six_degree else (4513 + zone - 25))
    # Same datum and projection, only the false easting (and central meridian) changed.
    d = base.to_json_dict()
    for par in d["conversion"]["parameters"]:
        if par["name"] == "False easting":
            par["value"] = zone * 1_000_000 + 500_000
        elif par["name"] == "Longitude of natural origin":
            par["value"] = zone * 6 - 3 if six_degree else zone * 3
    d["name"] = f"{base.name} (zone {zone} prefix in false easting)"
    d.pop("id", None)
    return CRS.from_json_dict(d)


def detect_crs(bounds, declared: CRS | None, source: str) -> tuple[CRS, list[str]]:
    """The CRS the coordinates are really in, from the declared one and their magnitude.

    Parameters
    ----------
    bounds : (xmin, ymin, xmax, ymax)
    declared : pyproj.CRS or None
        What the file says (``.prj``), if anything.
    source : str
        File name for messages.

    Returns
    -------
    (pyproj.CRS, list of str)
        The CRS and notes in Chinese on what was decided.

    Raises
    ------
    CRSError
        When the coordinates fit no CRS geoplan can decide on alone.

    Examples
    --------
    >>> detect_crs((40_480_000, 3_250_000, 40_520_000, 3_290_000), CRS.from_epsg(4549), "x.shp")[0].to_epsg()
    4528
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    notes: list[str] = []
    if not np.all(np.isfinite([x0, y0, x1, y1])):
        raise CRSError(f"{source}：没有有效坐标（要素为空）。请在 GIS 中检查后重新导出。")
    lonlat = -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
    prefixed = x0 >= 1_000_000 and int(x0 // 1_000_000) == int(x1 // 1_000_000)
    zone = int(x0 // 1_000_000)
    if declared is not None and declared.is_geographic:
        if not lonlat:
            raise CRSError(f"{source}：.prj 写的是经纬度（{declared.name}），但坐标数值（x≈{x0:.0f}）是投影坐标。"
                           "请改正 .prj，或用 --crs 指明真实坐标系（如 EPSG:4528）。")
        return declared, notes
    if declared is not None and declared.is_projected:
        fe = float(declared.to_dict().get("x_0", 500000) or 0)
        if fe < 1_000_000 and prefixed and 13 <= zone <= 45:
            six = zone <= 23
            fixed = _prefixed_crs(declared, zone, six)
            cm = zone * 6 - 3 if six else zone * 3
            lon0 = declared.to_dict().get("lon_0")
            if lon0 is not None and abs(float(lon0) - cm) > 1e-6:
                raise CRSError(f"{source}：.prj 的中央经线是 {lon0}°，坐标的带号前缀却是第 {zone} 带（中央经线 {cm}°），"
                               "两者矛盾。请在 GIS 中核对后用 --crs 指明。")
            notes.append(f".prj 为不带带号的 {declared.name}，但坐标带有带号前缀 {zone}，按 {fixed.name} 读取")
            return fixed, notes
        return declared, notes
    # No CRS in the file: decide from the numbers.
    if lonlat:
        notes.append("文件没有坐标系（.prj），坐标为经纬度，按 CGCS2000（EPSG:4490）读取；若是 GCJ-02 请加 :gcj02")
        return _crs.STORAGE_CRS, notes
    if prefixed and 1_000_000 <= y0 <= 6_500_000 and (25 <= zone <= 45 or 13 <= zone <= 23):
        fixed = _prefixed_crs(None, zone, zone <= 23)
        notes.append(f"文件没有坐标系（.prj），按坐标的带号前缀 {zone} 判断为 {fixed.name}（EPSG:{fixed.to_epsg()}）；"
                     "若实为西安1980或北京1954坐标，请用 --crs 说明")
        return fixed, notes
    raise CRSError(f"{source}：文件没有坐标系（.prj），坐标（x≈{x0:.0f}, y≈{y0:.0f}）不带带号前缀，无法判断属于哪个"
                   "高斯–克吕格投影带。请补上 .prj，或用 --crs 指明，例如 EPSG:4549（CGCS2000 3度带 中央经线120°E）。")


def fix_crs(path, kind: str, *, crs=None, legacy_accuracy_m: float | None = None, gcj02: bool = False):
    """Read a vector file with the CRS its coordinates are really in, converted to EPSG:4490.

    Returns ``(gdf, row_labels, note)`` where ``note`` says which CRS was used and how
    (``crs_declared``, ``crs_used``, ``notes``, and for Xian 1980 / Beijing 1954 the
    ``transformation`` and the accuracy the user accepted).
    """
    p = _check_file(path)
    src = str(path)
    try:
        info = pyogrio.read_info(p)
    except Exception as exc:  # a damaged file: let read_frame report it
        read_frame(p, kind)
        raise DataFileError(f"{src}：无法读取（{exc}）。请重新导出。") from exc
    declared = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    if crs is not None:
        real, notes = CRS.from_user_input(crs), [f"按用户指定的 {crs} 读取"]
    elif gcj02:
        real, notes = _crs.STORAGE_CRS, ["GCJ-02 坐标已转换为 CGCS2000"]
    else:
        bounds = info.get("total_bounds")
        if bounds is None:
            bounds = pyogrio.read_bounds(p)[1]
            bounds = (bounds[0].min(), bounds[1].min(), bounds[2].max(), bounds[3].max())
        real, notes = detect_crs(bounds, declared, src)
    note = {"crs_declared": declared.name if declared else None, "crs_used": real.name, "notes": notes}
    legacy = legacy_datum(real)
    if legacy and legacy_accuracy_m is None:
        raise CRSError(
            f"{src}：坐标系是{legacy}（{real.name}）。{legacy}与 CGCS2000 之间没有公开的精确换算参数，"
            "两者在本地相差可达数十米到一百多米，geoplan 不会静默换算。请在 GIS 中用自然资源局提供的本地七参数"
            "转为 CGCS2000 后重新导入；或者确认可以接受近似换算，加上 --legacy-datum-accuracy 米数"
            "（例如 100），换算方法和你声明的精度会记在工作区清单里。"
        )
    gdf, labels, problems, _layer = read_frame(p, kind, crs=None if gcj02 else real, coords="gcj02" if gcj02 else "cgcs2000")
    if problems:
        raise ValidationError(problems)
    if legacy:
        tr = Transformer.from_crs(real, _crs.STORAGE_CRS, always_xy=True)
        note["transformation"] = tr.description
        note["accuracy_stated_m"] = float(legacy_accuracy_m)
        note["notes"].append(f"{legacy}按 pyproj 的“{tr.description}”近似换算为 CGCS2000，"
                             f"用户声明可接受精度 {legacy_accuracy_m:g} 米")
    return _crs.to_storage(gdf), labels, note


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def read_table_raw(path) -> tuple[pd.DataFrame, list[str]]:
    """A CSV (UTF-8 or GBK) or XLSX table as strings, with Excel-style row labels."""
    p = _check_file(path)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(p, dtype=object, engine="openpyxl")
        except Exception as exc:
            raise DataFileError(f"{p}：无法作为 Excel 文件读取（{exc}）。请在 Excel 中另存为 .xlsx 后重试。") from exc
    elif p.suffix.lower() == ".xls":
        raise DataFileError(f"{p} 是旧版 Excel 97–2003 (.xls) 文件：请在 Excel 中另存为 .xlsx。")
    else:
        text, _enc = _decode_text_file(p, None)
        df = pd.read_csv(_stdio.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    df = df.dropna(how="all").reset_index(drop=True)
    df.columns = [str(c).strip() for c in df.columns]
    return df, [f"第 {i + 2} 行" for i in range(len(df))]


def table_has_coords(df: pd.DataFrame) -> bool:
    low = {c.lower() for c in df.columns}
    return any(n in low for n in LON_NAMES) and any(n in low for n in LAT_NAMES)


_CENSUS_CODE = ("code", "乡镇代码", "代码", "区划代码", "行政区划代码")
_CENSUS_NAME = ("name", "乡镇", "乡镇(街道)", "乡镇（街道）", "乡镇街道", "名称", "地区", "单位")
_CENSUS_POP = ("population", "常住人口", "常住人口(人)", "常住人口（人）", "总人口", "人口")
_CENSUS_OLD = ("pop_60plus", "60岁及以上", "60岁及以上人口", "60岁以上人口", "60周岁及以上人口", "60岁及以上(人)")


def read_census(path, county: str) -> pd.DataFrame:
    """A census table per township (CSV in UTF-8 or GBK, or XLSX) → ``code, population, pop_60plus``.

    Townships are recognised by code or, without a code column, by official name
    within the county. A title row above the header is skipped. Every faulty row
    is reported (file, row, column, what to do) in one :class:`ValidationError`.
    """
    from geoplan.layers.workspace import _pick, match_official_townships

    src = str(path)
    df, labels = read_table_raw(path)
    offset = 0
    for _ in range(3):
        cols = {"code": _pick(df.columns, _CENSUS_CODE), "name": _pick(df.columns, _CENSUS_NAME),
                "pop": _pick(df.columns, _CENSUS_POP), "old": _pick(df.columns, _CENSUS_OLD)}
        if (cols["pop"] and cols["old"] and (cols["code"] or cols["name"])) or len(df) == 0:
            break
        # A title row above the header: the next row is the header.
        header = [str(v).strip() for v in df.iloc[0]]
        df = df.iloc[1:].reset_index(drop=True).set_axis(header, axis=1)
        offset += 1
    labels = [f"第 {i + 2 + offset} 行" for i in range(len(df))]
    if not (cols["pop"] and cols["old"] and (cols["code"] or cols["name"])):
        raise ValidationError([Problem(src, None, None, None, None,
                                       "普查表缺少必要的列：需要乡镇代码或乡镇名称、常住人口、60岁及以上人口",
                                       "表头写成 乡镇代码（或 乡镇）、常住人口、60岁及以上人口")])
    # Total rows (合计/全县) are not townships.
    namecol = cols["name"]
    keep = np.ones(len(df), bool)
    if namecol:
        keep = ~df[namecol].astype(str).str.strip().isin(["合计", "总计", "全县", "全市", "小计"])
    df, labels = df[keep].reset_index(drop=True), [lab for lab, k in zip(labels, keep) if k]
    codes, problems = match_official_townships(df, county, src, labels, cols["code"], cols["name"])
    nums = {}
    for key, col in (("population", cols["pop"]), ("pop_60plus", cols["old"])):
        text = df[col].map(lambda v: str(v).replace(",", "").replace("，", "").strip(), na_action="ignore")
        num = pd.to_numeric(text, errors="coerce")
        bad = num.isna() | (num < 0) | (num != num.round())
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(Problem(src, None, labels[i], col, None if pd.isna(df[col].iloc[i]) else str(df[col].iloc[i]),
                                    "人数不是非负整数", "填写整数人数，不要写“万人”或小数"))
        nums[key] = num
    over = (nums["pop_60plus"] > nums["population"]).to_numpy()
    for i in np.flatnonzero(over):
        problems.append(Problem(src, None, labels[i], cols["old"], str(df[cols["old"]].iloc[i]),
                                "60岁及以上人口大于常住人口", "核对这两列是否填反"))
    seen: dict[str, str] = {}
    for i, c in enumerate(codes):
        if c and c in seen:
            problems.append(Problem(src, None, labels[i], cols["code"] or cols["name"], c,
                                    f"同一乡镇出现两次（另见{seen[c]}）", "删去重复行"))
        elif c:
            seen[c] = labels[i]
    off = county_townships_codes(county)
    missing = [c for c in off if c not in seen]
    if missing:
        problems.append(Problem(src, None, None, cols["code"] or cols["name"], None,
                                "普查表缺少这些乡镇：" + "、".join(missing), "补齐全县每个乡镇(街道)的人口"))
    if problems:
        raise ValidationError(problems)
    out = pd.DataFrame({"code": codes, "population": nums["population"].astype("int64"),
                        "pop_60plus": nums["pop_60plus"].astype("int64")})
    out.attrs["source"] = src
    return out


def county_townships_codes(county: str) -> list[str]:
    from geoplan.layers.divisions import county_townships

    return list(county_townships(county)["code"])

