"""Reading a bureau's own files for the workspace: CRS, census table, townships, facilities, roads.

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

import shapely

from geoplan.errors import CRSError, DataFileError, GeoplanError, Problem, ValidationError
from geoplan.i18n import _
from geoplan.layers import crs as _crs
from geoplan.layers.divisions import EDITION, county_townships, township_kind
from geoplan.layers.io import LAT_NAMES, LON_NAMES, _check_file, _decode_text_file, read_frame
from geoplan.layers.validate import validate_frame

OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.bz2")
FACILITY_KINDS = ("elderly_care", "cemeteries", "social_work_stations", "disability_homes", "children_homes")
ADDRESS_NAMES = ("address", "地址", "详细地址", "设施地址", "所在地址", "住址")

COORD_OPTIONS = ("gcj02", "wgs84", "cgcs2000")


class WorkspaceError(ValidationError):
    """Problems found in the workspace's input files; every one is listed, nothing was written."""

    MAX_SHOWN = 1000


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
    """``"西安1980"`` / ``"北京1954"`` if the CRS is on one of the old national datums.

    Read from the ellipsoid's numbers (:func:`geoplan.layers.crs.datum_family`), so a ``.prj`` that
    calls its datum "unnamed" or "Custom" is recognised all the same.

    >>> legacy_datum(CRS.from_epsg(2385)), legacy_datum(CRS.from_epsg(4549))
    ('西安1980', None)
    """
    if crs is None:
        return None
    return _crs.LEGACY_DATUMS.get(_crs.datum_family(crs))


def detect_crs(bounds, declared: CRS | None, source: str) -> tuple[CRS, list[str]]:
    """The CRS the coordinates are really in, from the declared one's parameters and the coordinates' magnitude.

    The declared CRS is read by its projection parameters (datum from the ellipsoid, central meridian,
    false easting, scale), never by its name: a Gauss–Krüger ``.prj`` whose false easting has no zone
    prefix while the x values carry one (a common export mistake) is read with the prefix; one whose
    false easting carries a zone must agree with its central meridian and with the coordinates.

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
        The CRS and notes on what was decided, in the user's language.

    Raises
    ------
    CRSError
        When the coordinates fit no CRS geoplan can decide on alone, or the declared one contradicts itself.

    Examples
    --------
    >>> detect_crs((40_480_000, 3_250_000, 40_520_000, 3_290_000), CRS.from_epsg(4549), "x.shp")[0].to_epsg()
    4528
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    notes: list[str] = []
    if not np.all(np.isfinite([x0, y0, x1, y1])):
        raise CRSError(_("{source}: no valid coordinates (the features are empty). Check the file in a GIS "
                         "and export it again.").format(source=source))
    lonlat = -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
    zone = int(x0 // 1_000_000)
    prefixed = x0 >= 1_000_000 and zone == int(x1 // 1_000_000) and (13 <= zone <= 23 or 25 <= zone <= 45)
    if declared is not None and declared.is_geographic:
        if not lonlat:
            raise CRSError(_("{source}: the .prj says longitude/latitude ({name}), but the coordinates "
                             "(x≈{x:.0f}) are projected. Correct the .prj, or state the real CRS with --crs "
                             "(e.g. EPSG:4528).").format(source=source, name=declared.name, x=x0))
        return declared, notes
    if declared is not None and declared.is_projected:
        p = _crs.projection_parameters(declared)
        if p is None or abs(p["scale"] - 1.0) > 1e-9 or p["false_northing"] != 0:
            return declared, notes  # not Gauss–Krüger (UTM, Web Mercator …): as declared
        if p["zone"] is not None:
            cm, _six = _crs.zone_central_meridian(p["zone"]) if (13 <= p["zone"] <= 23 or 25 <= p["zone"] <= 45) \
                else (None, None)
            if cm is None or abs(p["central_meridian"] - cm) > 1e-6:
                raise CRSError(_("{source}: the .prj's false easting carries zone {zone}, but its central meridian "
                                 "is {cm}°, which is not that zone's. Check the CRS in a GIS and state it with "
                                 "--crs.").format(source=source, zone=p["zone"], cm=f"{p['central_meridian']:g}"))
            if not prefixed or zone != p["zone"]:
                raise CRSError(_("{source}: the .prj puts zone {zone} in the false easting ({fe:.0f} m), but the "
                                 "coordinates (x≈{x:.0f}) do not carry that zone number. Correct the .prj or state "
                                 "the real CRS with --crs.").format(source=source, zone=p["zone"],
                                                                    fe=p["false_easting"], x=x0))
            return declared, notes
        if prefixed:
            cm, _six = _crs.zone_central_meridian(zone)
            if abs(p["central_meridian"] - cm) > 1e-6:
                raise CRSError(_("{source}: the .prj's central meridian is {cm}°, but the coordinates' zone "
                                 "prefix says zone {zone} (central meridian {zcm}°): they contradict each other. "
                                 "Check in a GIS and state the CRS with --crs.").format(
                    source=source, cm=f"{p['central_meridian']:g}", zone=zone, zcm=f"{cm:g}"))
            fixed = _crs.gauss_kruger_crs(zone, base=declared)
            notes.append(_("the .prj is {name} without zone number, but the coordinates carry the zone prefix "
                           "{zone}: read as {fixed}").format(name=declared.name, zone=zone, fixed=fixed.name))
            return fixed, notes
        return declared, notes
    # No CRS in the file: decide from the numbers.
    if lonlat:
        notes.append(_("the file has no CRS (.prj) and its coordinates are longitude/latitude: read as CGCS2000 "
                       "(EPSG:4490)"))
        return _crs.STORAGE_CRS, notes
    if prefixed and 1_000_000 <= y0 <= 6_500_000:
        fixed = _crs.gauss_kruger_crs(zone)
        notes.append(_("the file has no CRS (.prj); the coordinates' zone prefix {zone} says {name} "
                       "(EPSG:{epsg}); if they are in Xian 1980 or Beijing 1954, say so with --crs").format(
            zone=zone, name=fixed.name, epsg=fixed.to_epsg()))
        return fixed, notes
    raise CRSError(_("{source}: the file has no CRS (.prj) and its coordinates (x≈{x:.0f}, y≈{y:.0f}) carry no "
                     "zone prefix, so their Gauss–Krüger zone cannot be told. Add the .prj, or state the CRS with "
                     "--crs, e.g. EPSG:4549 (CGCS2000 3-degree zone, central meridian 120°E).").format(
        source=source, x=x0, y=y0))


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
        real, notes = _crs.STORAGE_CRS, [_("GCJ-02 coordinates converted to CGCS2000")]
    else:
        bounds = info.get("total_bounds")
        if bounds is None:
            bounds = pyogrio.read_bounds(p)[1]
            bounds = (bounds[0].min(), bounds[1].min(), bounds[2].max(), bounds[3].max())
        real, notes = detect_crs(bounds, declared, src)
    note = {"crs_declared": declared.name if declared else None, "crs_used": real.name, "notes": notes,
            "lonlat": bool(real.is_geographic)}
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
    src = str(path)
    df, labels = read_table_raw(path)
    offset = 0
    for _attempt in range(3):
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
    off = county_townships(county)
    missing = [f"{c} {n}" for c, n in zip(off["code"], off["name"]) if c not in seen]
    if missing:
        problems.append(Problem(src, None, None, cols["code"] or cols["name"], None,
                                "普查表缺少这些乡镇：" + "、".join(missing), "补齐全县每个乡镇(街道)的人口"))
    if problems:
        raise ValidationError(problems)
    out = pd.DataFrame({"code": codes, "population": nums["population"].astype("int64"),
                        "pop_60plus": nums["pop_60plus"].astype("int64")})
    out.attrs["source"] = src
    return out


# --------------------------------------------------------------------------
# Townships
# --------------------------------------------------------------------------

_CODE_NAMES = ("code", "乡镇代码", "代码", "区划代码", "行政区划代码", "xzqdm", "xzqhdm", "dm", "adcode")
_NAME_NAMES = ("name", "名称", "乡镇名称", "乡镇", "乡镇(街道)", "乡镇（街道）", "乡镇街道", "xzqmc", "mc")


def _pick(columns, names) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    return None


def match_official_townships(frame: pd.DataFrame, county: str, source: str, labels,
                             code_col: str | None, name_col: str | None) -> tuple[np.ndarray, list[Problem]]:
    """Official 9-digit code of each row, by code or (without codes) by name within the county.

    Returns the codes (None where unmatched) and the problems found.
    """
    off = county_townships(county)
    names = dict(zip(off["code"], off["name"]))
    county_name = off["county_name"].iloc[0]
    problems: list[Problem] = []
    codes = np.full(len(frame), None, dtype=object)
    hint_list = "、".join(f"{c} {n}" for c, n in names.items())
    for i in range(len(frame)):
        if code_col is not None:
            raw = frame[code_col].iloc[i]
            val = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw).strip()
            val = val[:-2] if val.endswith(".0") else val
            val = val[:9] if len(val) == 12 and val.endswith("000") else val
            if val in names:
                codes[i] = val
                continue
            msg = ("代码为空" if not val else
                   f"不是{county_name}({county})的官方乡镇代码（国家统计局 {EDITION} 版）"
                   + ("，而是其他县的代码" if len(val) == 9 and val.isdigit() and not val.startswith(county) else ""))
            problems.append(Problem(source, None, labels[i], code_col, val or None, msg,
                                    f"改为本县乡镇代码之一：{hint_list}"))
        else:
            raw = str(frame[name_col].iloc[i]).strip() if name_col else ""
            hit = [c for c, n in names.items() if raw and (raw == n or raw == n.rstrip("镇乡") or
                                                         raw + "街道" == n or raw.replace("街办", "街道") == n)]
            if len(hit) == 1:
                codes[i] = hit[0]
                continue
            problems.append(Problem(source, None, labels[i], name_col, raw or None,
                                    f"乡镇名称在{county_name}的官方名录中找不到",
                                    f"改为官方名称之一，或在文件中加一列乡镇代码：{hint_list}"))
    return codes, problems


def read_townships(path, county: str, census: pd.DataFrame | None = None, *, crs=None,
                   legacy_accuracy_m: float | None = None, census_failed: bool = False
                   ) -> tuple[gpd.GeoDataFrame, dict]:
    """Read a bureau's township boundary file into a valid ``townships`` layer.

    Codes are checked against the official list (by name within the county when the
    file has no codes); names, kinds and the county code are taken from the official
    list; population comes from ``census`` (see :func:`geoplan.layers.wsread.read_census`)
    or, without it, from the file's own ``population``/``pop_60plus`` columns.
    Rows with the same code (a township drawn in several parts) are merged.

    Returns
    -------
    (GeoDataFrame, dict)
        The layer in EPSG:4490 and what was done (CRS used, notes), for the manifest.
    """
    src = str(path)
    gdf, labels, note = fix_crs(path, "townships", crs=crs, legacy_accuracy_m=legacy_accuracy_m)
    code_col = _pick(gdf.columns, _CODE_NAMES)
    name_col = _pick(gdf.columns, _NAME_NAMES)
    if code_col is None and name_col is None:
        raise WorkspaceError([Problem(src, None, None, None, None,
                                      "既没有乡镇代码列也没有乡镇名称列",
                                      "加一列“乡镇代码”（9位）或“名称”（官方乡镇名称）")])
    codes, problems = match_official_townships(gdf, county, src, labels, code_col, name_col)
    off = county_townships(county).set_index("code")
    present = set(c for c in codes if c)
    missing = [c for c in off.index if c not in present]
    if missing:
        problems.append(Problem(src, None, None, code_col or name_col, None,
                                "缺少这些官方乡镇：" + "、".join(f"{c} {off.loc[c, 'name']}" for c in missing),
                                "乡镇界文件应覆盖全县所有乡镇(街道)；补齐后重新导入"))
    if problems:
        raise WorkspaceError(problems)
    gdf = gdf.assign(code=codes)
    dissolved = gdf[["code", "geometry"]].dissolve(by="code", as_index=False)
    if len(dissolved) < len(gdf):
        note["notes"].append(f"{len(gdf) - len(dissolved)} 个多余要素按乡镇代码合并")
    out = dissolved.assign(name=dissolved["code"].map(off["name"]),
                           kind=dissolved["code"].map(lambda c: township_kind(off.loc[c, "name"])),
                           county_code=county)
    if census_failed:
        # The census table's own problems are reported; check the boundaries all the same.
        out = out.assign(population=0, pop_60plus=0)
    elif census is not None:
        out = out.merge(census[["code", "population", "pop_60plus"]], on="code", how="left")
        note["population_from"] = census.attrs.get("source", "census")
    else:
        pop_col = _pick(gdf.columns, ("population", "常住人口"))
        old_col = _pick(gdf.columns, ("pop_60plus", "60岁及以上人口"))
        if pop_col is None or old_col is None:
            raise WorkspaceError([Problem(src, None, None, None, None,
                                          "乡镇界文件没有人口列，也没有给出普查人口表",
                                          "用 --population 给出第七次人口普查乡镇人口表（常住人口、60岁及以上人口）")])
        firsts = gdf.groupby("code")[[pop_col, old_col]].first()
        out["population"] = out["code"].map(firsts[pop_col])
        out["pop_60plus"] = out["code"].map(firsts[old_col])
    out = out[["code", "name", "kind", "county_code", "population", "pop_60plus", "geometry"]]
    valid = validate_frame(out, "townships", source=src, row_labels=[f"乡镇 {c}" for c in out["code"]],
                           check_official=False)
    return valid, note


# --------------------------------------------------------------------------
# Facilities, roads, villages
# --------------------------------------------------------------------------

#: Column naming each row's coordinate system, and the values that mean GCJ-02 / CGCS2000 (WGS84).
COORD_SYSTEM_NAMES = ("坐标系", "坐标系统", "坐标类型", "coord_system", "coordinate_system", "crs")
_GCJ02_WORDS = ("gcj02", "gcj-02", "gcj", "火星坐标", "国测局", "高德", "腾讯", "amap", "gaode")
_PLAIN_WORDS = ("wgs84", "wgs-84", "cgcs2000", "cgcs 2000", "2000", "gps", "天地图", "epsg:4490", "epsg:4326")

#: Evidence needed before GCJ-02 is assumed without being told: the points as converted must sit at most
#: half as far from the reference features (roads, villages) as the points as read (medians), the gain must
#: be a quarter of the GCJ-02 shift itself or more, and there must be a few points.
GCJ_MIN_POINTS = 5
GCJ_RATIO = 0.5
GCJ_MIN_GAIN = 0.25
#: ... and most points, one by one, must agree.
GCJ_SHARE = 0.75


def coordinate_evidence(points: gpd.GeoDataFrame, references, townships: gpd.GeoDataFrame | None = None,
                        codes=None) -> dict:
    """Whether longitude/latitude points fit the county's roads and villages better as read or as GCJ-02.

    Each point is compared with the nearest reference feature (road line or village point) twice: as read
    (CGCS2000/WGS84) and as converted from GCJ-02. GCJ-02's shift in Zhejiang is 300–600 m, far above
    the few tens of metres between a facility and its road, so a web-map table stands out.

    Parameters
    ----------
    points : GeoDataFrame
        The points as read, labelled EPSG:4490 (or 4326).
    references : list of GeoDataFrame
        Roads and/or villages of the county (any CRS); empty frames and None are skipped.
    townships, codes : optional
        The county's townships and each point's stated township code: a second line of evidence
        (points outside their own township as read but not as GCJ-02, or the reverse).

    Returns
    -------
    dict
        ``verdict`` (``"gcj02"``, ``"cgcs2000"`` or ``"unknown"``), ``points``, ``median_m_as_read``,
        ``median_m_as_gcj02``, ``shift_m`` (median GCJ-02 shift) and ``reference`` (what was compared with).
    """
    refs = [r for r in references if r is not None and len(r)]
    pts = points[points.geometry.notna() & ~points.geometry.is_empty & (points.geom_type == "Point")]
    out = {"verdict": "unknown", "points": int(len(pts)), "reference": [], "median_m_as_read": None,
           "median_m_as_gcj02": None, "shift_m": None}
    if not refs or len(pts) < GCJ_MIN_POINTS:
        return out
    metric = _crs.metric_crs(pts)
    ref_geoms = np.concatenate([r.to_crs(metric).geometry.to_numpy() for r in refs])
    tree = shapely.STRtree(ref_geoms)
    as_read = pts.to_crs(metric).geometry.to_numpy()
    converted = _crs.gcj02_to_cgcs2000(pts.set_crs(_crs.STORAGE_CRS, allow_override=True)).to_crs(metric)
    conv = converted.geometry.to_numpy()
    d_read = tree.query_nearest(as_read, return_distance=True, all_matches=False)[1]
    d_conv = tree.query_nearest(conv, return_distance=True, all_matches=False)[1]
    m_read, m_conv = float(np.median(d_read)), float(np.median(d_conv))
    shift = float(np.median(shapely.distance(as_read, conv)))
    closer = float(np.mean(d_conv < d_read))  # share of points nearer a road or village as GCJ-02
    out.update(median_m_as_read=round(m_read, 1), median_m_as_gcj02=round(m_conv, 1), shift_m=round(shift, 1),
               share_closer_as_gcj02=round(closer, 3), reference=[str(r.attrs.get("what", "")) for r in refs])
    if m_conv <= GCJ_RATIO * m_read and m_read - m_conv >= GCJ_MIN_GAIN * shift and closer >= GCJ_SHARE:
        out["verdict"] = "gcj02"
    elif m_read <= GCJ_RATIO * m_conv and m_conv - m_read >= GCJ_MIN_GAIN * shift and closer <= 1 - GCJ_SHARE:
        out["verdict"] = "cgcs2000"
    if townships is not None and codes is not None:
        polys = dict(zip(townships["code"].astype(str), townships.to_crs(metric).geometry))
        stated = [polys.get(_code_text(c)) for c in np.asarray(codes, dtype=object)[pts.index.to_numpy()]]
        known = np.array([g is not None for g in stated])
        if known.sum() >= GCJ_MIN_POINTS:
            g = np.array(stated, dtype=object)[known]
            out_read = int((~shapely.contains(g, as_read[known])).sum())
            out_conv = int((~shapely.contains(g, conv[known])).sum())
            out.update(outside_own_township_as_read=out_read, outside_own_township_as_gcj02=out_conv)
            # Leaning one way on the roads and, point by point, only one reading keeps every point in its township.
            if out["verdict"] == "unknown" and out_conv == 0 and out_read >= 2 and closer >= 0.6:
                out["verdict"] = "gcj02"
            elif out["verdict"] == "unknown" and out_read == 0 and out_conv >= 2 and closer <= 0.4:
                out["verdict"] = "cgcs2000"
            elif (out["verdict"] == "gcj02" and out_conv > out_read) or \
                    (out["verdict"] == "cgcs2000" and out_read > out_conv):
                out["verdict"] = "unknown"  # the two lines of evidence disagree: say so rather than guess
    return out


def _code_text(v) -> str:
    text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
    return text[:-2] if text.endswith(".0") else text


def _coords_from_column(gdf: gpd.GeoDataFrame, src: str, labels) -> tuple[np.ndarray | None, str | None, list]:
    """Per-row GCJ-02 flags from a coordinate-system column, with problems for values it cannot read."""
    col = _pick(gdf.columns, COORD_SYSTEM_NAMES)
    if col is None:
        return None, None, []
    flags = np.zeros(len(gdf), bool)
    problems = []
    for i, v in enumerate(gdf[col].tolist()):
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip().lower()
        if any(w in text for w in _GCJ02_WORDS):
            flags[i] = True
        elif not any(w in text for w in _PLAIN_WORDS):
            problems.append(Problem(src, None, labels[i] if labels else None, col, str(v) if text else None,
                                    _("unknown coordinate system"),
                                    _("write GCJ-02 (picked on a Gaode/Tencent web map), WGS84 or CGCS2000")))
    return flags, col, problems


def _settle_coords(gdf: gpd.GeoDataFrame, spec: "FacilitySpec", note: dict, labels, references,
                   townships=None) -> tuple:
    """Decide and apply the coordinate system of lon/lat points given without ``:gcj02``/``:cgcs2000``.

    Order: the user's ``FILE:KIND:COORDS``; a coordinate-system column (row by row); the evidence of
    :func:`coordinate_evidence` when it is clear; otherwise CGCS2000 — and the note says which, and why.
    """
    src = str(spec.path)
    if spec.coords is not None:
        note["coords_used"] = spec.coords
        note["coords_reason"] = "stated"
        return gdf, []
    flags, col, problems = _coords_from_column(gdf, src, labels)
    if col is not None:
        if flags.any():
            conv = _crs.gcj02_to_cgcs2000(gdf[flags].set_crs(_crs.STORAGE_CRS, allow_override=True))
            gdf = gdf.copy()
            gdf.loc[flags, gdf.geometry.name] = conv.geometry.to_numpy()
        note["coords_used"] = "gcj02" if flags.all() else "cgcs2000" if not flags.any() else "mixed"
        note["coords_reason"] = "column"
        note["notes"].append(_("coordinate system from the column '{col}': {n} of {total} rows GCJ-02, converted "
                               "to CGCS2000").format(col=col, n=int(flags.sum()), total=len(gdf)))
        return gdf, problems
    tcol = _pick(gdf.columns, ("township_code", "township_c", "所属乡镇(街道)代码", "所属乡镇（街道）代码", "乡镇代码"))
    ev = coordinate_evidence(gdf.reset_index(drop=True), references, townships,
                             None if tcol is None else gdf[tcol].to_numpy())
    note["coords_evidence"] = ev
    note["coords_reason"] = "evidence" if ev["verdict"] != "unknown" else "assumed"
    if ev["verdict"] == "gcj02":
        gdf = _crs.gcj02_to_cgcs2000(gdf.set_crs(_crs.STORAGE_CRS, allow_override=True))
        note["coords_used"] = "gcj02"
        note["notes"].append(_(
            "coordinates recognised as GCJ-02 (picked on a web map) and converted to CGCS2000: as read, the points "
            "lie a median {read:.0f} m from the nearest road or village, as GCJ-02 {gcj:.0f} m (the GCJ-02 shift "
            "here is {shift:.0f} m). If this is wrong, add :cgcs2000 to the file").format(
            read=ev["median_m_as_read"], gcj=ev["median_m_as_gcj02"], shift=ev["shift_m"]))
    else:
        note["coords_used"] = "cgcs2000"
        if ev["verdict"] == "cgcs2000":
            note["notes"].append(_(
                "coordinates read as CGCS2000/WGS84: they lie a median {read:.0f} m from the nearest road or village, "
                "as GCJ-02 they would lie {gcj:.0f} m").format(read=ev["median_m_as_read"],
                                                              gcj=ev["median_m_as_gcj02"]))
        elif ev["median_m_as_read"] is not None:
            note["notes"].append(_(
                "coordinates assumed CGCS2000/WGS84, but the roads and villages do not tell clearly (median {read:.0f} m "
                "to the nearest as read, {gcj:.0f} m as GCJ-02). If they were picked on a Gaode/Tencent web map, add "
                ":gcj02 to the file; else :cgcs2000").format(read=ev["median_m_as_read"], gcj=ev["median_m_as_gcj02"]))
        else:
            note["notes"].append(_(
                "coordinates assumed CGCS2000/WGS84: without roads or villages (or with too few points) geoplan "
                "cannot tell them from GCJ-02. If they were picked on a Gaode/Tencent web map, add :gcj02 to "
                "the file"))
    return gdf, []


def read_facilities(spec: FacilitySpec, townships: gpd.GeoDataFrame, index=None, *,
                    legacy_accuracy_m: float | None = None, references=()):
    """Read one facility file (coordinates or addresses) into a valid layer of ``spec.kind``.

    Returns ``(layer, note, matches)``; ``matches`` is the address table (or None).
    Rows whose address cannot be placed are left out of the layer and listed in ``matches``.
    """
    from geoplan.layers import addresses as _addr

    src = str(spec.path)
    codes = set(townships["code"])
    note = {"kind": spec.kind, "coords": spec.coords, "notes": []}
    suffix = Path(spec.path).suffix.lower()
    if suffix in (".csv", ".txt", ".xlsx", ".xlsm"):
        raw, labels = read_table_raw(spec.path)
        if not table_has_coords(raw):
            addr_col = _pick(raw.columns, ADDRESS_NAMES)
            if addr_col is None:
                raise WorkspaceError([Problem(src, None, None, None, None,
                                              "表中既没有经纬度列，也没有地址列",
                                              "加“经度”“纬度”两列，或一列“地址”（如 新昌县儒岙镇某某村12号）")])
            if index is None:
                index = _addr.build_index(townships["county_code"].iloc[0], townships)
            name_col = _pick(raw.columns, ("name", "名称"))
            m = _addr.match_addresses(raw[addr_col], index, raw[name_col] if name_col else None)
            m.insert(0, "row", labels)
            m.insert(0, "file", src)
            m.insert(2, "name", raw[name_col].astype(str).to_numpy() if name_col else "")
            placed = m.geometry.notna().to_numpy()
            frame = raw.drop(columns=[addr_col]).iloc[placed].reset_index(drop=True)
            tc = _pick(frame.columns, ("township_code", "所属乡镇(街道)代码", "乡镇代码"))
            if tc is None:
                frame["township_code"] = m["township_code"].to_numpy()[placed]
            frame["location_level"] = m["level"].to_numpy()[placed]
            frame["location_source"] = m["point_source"].to_numpy()[placed]
            frame["address"] = raw[addr_col].to_numpy()[placed]
            gdf = gpd.GeoDataFrame(frame, geometry=list(m.geometry.to_numpy()[placed]), crs=_crs.STORAGE_CRS)
            note["addresses"] = {r.level: int(r.count) for r in _addr.match_summary(m).itertuples()}
            valid = validate_frame(gdf, spec.kind, source=src, row_labels=list(np.asarray(labels)[placed]),
                                   townships=codes, check_official=False)
            return valid, note, m
        gdf, labels, problems, layer = read_frame(spec.path, spec.kind, coords=spec.coords or "cgcs2000")
        if spec.coords == "gcj02":
            note["notes"].append(_("GCJ-02 coordinates converted to CGCS2000"))
        gdf, more = _settle_coords(gdf, spec, note, labels, references, townships)
        problems = list(problems) + more
    else:
        gdf, labels, crs_note = fix_crs(spec.path, spec.kind, legacy_accuracy_m=legacy_accuracy_m,
                                        gcj02=spec.coords == "gcj02")
        note.update(crs_note)
        problems, layer = [], None
        if spec.coords is not None or crs_note["lonlat"]:
            # longitude/latitude: GCJ-02 is possible, decided as for a table
            gdf, problems = _settle_coords(gdf, spec, note, labels, references, townships)
    tc = _pick(gdf.columns, ("township_code", "township_c", "所属乡镇(街道)代码"))
    if tc is None and len(gdf):
        joined = gpd.sjoin(gdf[["geometry"]].to_crs(_crs.STORAGE_CRS), townships[["code", "geometry"]],
                           how="left", predicate="within")
        gdf = gdf.assign(township_code=joined.groupby(level=0)["code"].first().reindex(gdf.index).to_numpy())
        note["notes"].append("所属乡镇代码按坐标所在乡镇界补齐")
    valid = validate_frame(gdf, spec.kind, source=src, layer=layer, row_labels=labels, townships=codes,
                           check_official=False, extra_problems=problems)
    return valid, note, None


def read_roads(path, outline: gpd.GeoDataFrame, margin_m: float = 5000.0, *,
               legacy_accuracy_m: float | None = None) -> tuple[gpd.GeoDataFrame, dict]:
    """Roads from an OSM extract or a vector file, clipped to the county plus ``margin_m``."""
    from geoplan.network.osm import read_osm_roads

    src = str(path)
    name = Path(path).name.lower()
    if name.endswith(OSM_SUFFIXES):
        roads, labels, note = read_osm_roads(path), None, {"crs_used": "EPSG:4326 (OSM, 视同 CGCS2000)", "notes": []}
    else:
        roads, labels, note = fix_crs(path, "roads", legacy_accuracy_m=legacy_accuracy_m)
    n_in = len(roads)
    metric = _crs.metric_crs(outline)
    area = shapely.buffer(outline.to_crs(metric).union_all(), margin_m)
    rm = roads.to_crs(metric)
    keep = shapely.intersects(rm.geometry.to_numpy(), area)
    clipped = rm[keep].copy()
    clipped.geometry = shapely.intersection(clipped.geometry.to_numpy(), area)
    clipped = clipped[~clipped.geometry.is_empty & clipped.geom_type.isin(["LineString", "MultiLineString"])]
    if clipped.empty:
        raise WorkspaceError([Problem(src, None, None, None, None,
                                      f"文件中没有位于本县及周边 {margin_m / 1000:g} 公里范围内的道路",
                                      "检查道路文件是否覆盖本县，坐标系是否正确")])
    note["notes"].append(f"按县界外扩 {margin_m / 1000:g} 公里裁剪：{n_in} 条中保留 {len(clipped)} 条")
    note["margin_m"] = margin_m
    out = clipped.to_crs(_crs.STORAGE_CRS)
    rows = labels and [labels[i] for i in np.flatnonzero(keep)]
    return validate_frame(out.reset_index(drop=True), "roads", source=src,
                          row_labels=rows or None), note


def read_villages(path, townships: gpd.GeoDataFrame, *, legacy_accuracy_m=None):
    """Village points, checked against the workspace's township codes."""
    gdf, labels, note = fix_crs(path, "villages", legacy_accuracy_m=legacy_accuracy_m)
    return validate_frame(gdf, "villages", source=str(path), row_labels=labels,
                          townships=set(townships["code"]), check_official=False), note


#: Layer kinds a workspace takes as they are with ``--layer FILE:KIND`` (boundary inspection, place names).
OTHER_KINDS = ("boundary_lines", "boundary_markers", "place_names")


def parse_layer_spec(text: str) -> tuple[Path, str]:
    """Parse ``FILE:KIND`` of ``--layer`` (split from the right, so ``C:\\`` paths work).

    >>> parse_layer_spec("界桩.shp:boundary_markers")
    (PosixPath('界桩.shp'), 'boundary_markers')
    """
    path, _sep, kind = str(text).rpartition(":")
    if not path or kind not in OTHER_KINDS:
        raise GeoplanError(_("--layer {text!r} is not FILE:KIND; KIND is one of {kinds}, e.g. "
                             "界桩.shp:boundary_markers.").format(text=text, kinds=", ".join(OTHER_KINDS)))
    return Path(path), kind


def read_other_layer(path, kind: str, townships: gpd.GeoDataFrame, *, legacy_accuracy_m: float | None = None):
    """A boundary-line, boundary-marker or place-name layer, CRS detected as for the townships, validated."""
    gdf, labels, note = fix_crs(path, kind, legacy_accuracy_m=legacy_accuracy_m)
    return validate_frame(gdf, kind, source=str(path), row_labels=labels, townships=set(townships["code"])), note


def read_water(path, townships: gpd.GeoDataFrame, *, legacy_accuracy_m: float | None = None):
    """Water polygons (lakes, reservoirs, wide rivers) within the county, for keeping people off water.

    Only polygons are kept, clipped to the county; a file without any polygon in the county is an error.
    """
    src = str(path)
    gdf, _labels, note = fix_crs(path, "", legacy_accuracy_m=legacy_accuracy_m)
    geoms = shapely.make_valid(gdf.geometry.to_numpy())
    polys = np.array([g if g is not None and g.geom_type in ("Polygon", "MultiPolygon") else
                      (shapely.unary_union([p for p in getattr(g, "geoms", []) if p.geom_type in
                                            ("Polygon", "MultiPolygon")]) if g is not None else None)
                      for g in geoms], dtype=object)
    county = townships.to_crs(gdf.crs).union_all()
    keep = np.array([g is not None and not g.is_empty and g.intersects(county) for g in polys])
    if not keep.any():
        raise WorkspaceError([Problem(src, None, None, None, None,
                                      _("no water polygon lies within the county"),
                                      _("give water areas (polygons) of this county, in a file with its CRS"))])
    clipped = shapely.intersection(polys[keep], county)
    out = gpd.GeoDataFrame({"water_id": [f"W{i + 1}" for i in np.flatnonzero(keep)]}, geometry=list(clipped),
                           crs=gdf.crs)
    out = out[~out.geometry.is_empty].reset_index(drop=True)
    note["notes"].append(_("{kept} of {total} water polygons lie in the county; people are kept off them").format(
        kept=len(out), total=len(gdf)))
    return _crs.to_storage(out), note


def neighbour_outlines(county: str) -> gpd.GeoDataFrame | None:
    """Counties that share a boundary with ``county`` (shipped Zhejiang outlines), or None outside Zhejiang.

    A neighbour is a county whose outline lies within 50 m of this county's outline (the published
    outlines meet along shared boundaries; a gap of a few metres is drawing noise).
    """
    try:
        from geoplan.layers.samplebuild.outlines import load_zhejiang
    except ImportError:  # a geoplan without the sample builder's data
        return None
    zj = load_zhejiang()
    me = zj[zj["adcode"] == str(county)]
    if me.empty:
        return None
    metric = _crs.metric_crs(me)
    zm = zj.to_crs(metric)
    near = (zm["adcode"] != str(county)) & (zm.distance(zm.loc[me.index[0], "geometry"]) < 50.0)
    return zj[near][["adcode", "name", "geometry"]].reset_index(drop=True)
