"""Reading a bureau's own files for the workspace: census table, townships, facilities, roads, other layers.

Which coordinate system each file is really in — Gauss–Krüger zones with or
without the zone prefix, Xian 1980 / Beijing 1954, GCJ-02 from web maps — is
decided in :mod:`geoplan.layers.wscrs` (:func:`fix_crs`, :func:`detect_crs`,
:func:`coordinate_evidence`), re-exported here.

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import io as _stdio
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.errors import DataFileError, GeoplanError, Problem, ValidationError, row_label
from geoplan.i18n import _
from geoplan.layers import crs as _crs
from geoplan.layers.divisions import EDITION, county_townships, township_kind
from geoplan.layers.io import LAT_NAMES, LON_NAMES, _check_file, _decode_text_file, read_frame
from geoplan.layers.validate import validate_frame
from geoplan.layers.wscrs import (COORD_SYSTEM_NAMES, coordinate_evidence, detect_crs,  # noqa: F401
                                  fix_crs, legacy_datum)
from geoplan.layers.wscrs import _settle_coords
from geoplan.layers.wscrs import pick_column as _pick
from geoplan.layers.wsplace import points_outside_problems

OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.bz2")
FACILITY_KINDS = ("elderly_care", "cemeteries", "social_work_stations", "disability_homes", "children_homes")
ADDRESS_NAMES = ("address", "地址", "详细地址", "设施地址", "所在地址", "住址")

COORD_OPTIONS = ("gcj02", "wgs84", "cgcs2000")


class WorkspaceError(ValidationError):
    """Problems found in the workspace's input files; every one is listed, nothing was written.

    Examples
    --------
    >>> from geoplan.errors import ValidationError
    >>> issubclass(WorkspaceError, ValidationError)
    True
    """

    MAX_SHOWN = 1000


@dataclass(frozen=True)
class FacilitySpec:
    """One ``--facilities FILE:KIND[:gcj02|wgs84|cgcs2000]`` argument.

    Examples
    --------
    >>> parse_facility_spec("儿童之家.xlsx:children_homes")
    FacilitySpec(path=PosixPath('儿童之家.xlsx'), kind='children_homes', coords=None)
    """

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
        kinds = _(", ").join(("elderly_care", "cemeteries", "social_work_stations", "disability_homes",
                              "children_homes"))
        raise GeoplanError(_(
            "The facility argument \"{text}\" is not in the form FILE:KIND[:CRS], e.g. "
            "养老设施.xlsx:elderly_care:gcj02. KIND is one of {kinds}; CRS is gcj02 (picked on a web map), wgs84 "
            "or cgcs2000 (the default).").format(text=text, kinds=kinds))
    return FacilitySpec(Path(parts[0]), parts[1], coords)


# --------------------------------------------------------------------------
# CRS
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def read_table_raw(path) -> tuple[pd.DataFrame, list[str]]:
    """A CSV (UTF-8 or GBK) or XLSX table as strings, with Excel-style row labels.

    Examples
    --------
    >>> _ = (tmp / "t.csv").write_bytes("乡镇,人口\\n儒岙镇,19513\\n".encode("gbk"))
    >>> df, labels = read_table_raw(tmp / "t.csv")
    >>> df.to_dict("list"), labels
    ({'乡镇': ['儒岙镇'], '人口': ['19513']}, ['第 2 行'])
    """
    p = _check_file(path)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(p, dtype=object, engine="openpyxl")
        except Exception as exc:
            raise DataFileError(_("{path}: cannot be read as an Excel file ({error}). Save it as .xlsx in Excel "
                                  "and try again.").format(path=p, error=exc)) from exc
    elif p.suffix.lower() == ".xls":
        raise DataFileError(_("{path} is an old Excel 97–2003 (.xls) file: save it as .xlsx in Excel.").format(path=p))
    else:
        text, _enc = _decode_text_file(p, None)
        df = pd.read_csv(_stdio.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    df = df.dropna(how="all").reset_index(drop=True)
    df.columns = [str(c).strip() for c in df.columns]
    return df, [row_label(i + 2) for i in range(len(df))]


def table_has_coords(df: pd.DataFrame) -> bool:
    """Whether a table has longitude and latitude columns (by their usual English or Chinese names).

    Examples
    --------
    >>> table_has_coords(pd.DataFrame(columns=["名称", "经度", "纬度"])), table_has_coords(pd.DataFrame(columns=["名称", "地址"]))
    (True, False)
    """
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

    Examples
    --------
    A census table with township names only, in GBK, as the statistics bureau sends it:

    >>> t = county["townships"]
    >>> rows = ["乡镇,常住人口,60岁及以上人口"] + [f"{n},{p},{o}" for n, p, o in zip(t["name"], t["population"],
    ...                                                                          t["pop_60plus"])]
    >>> _ = (tmp / "七普.csv").write_bytes("\\n".join(rows).encode("gbk"))
    >>> c = read_census(tmp / "七普.csv", "330624")
    >>> list(c.columns), len(c), int(c["population"].sum())
    (['code', 'population', 'pop_60plus'], 12, 419036)
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
    labels = [row_label(i + 2 + offset) for i in range(len(df))]
    if not (cols["pop"] and cols["old"] and (cols["code"] or cols["name"])):
        raise ValidationError([Problem(src, None, None, None, None,
                                       _("the census table lacks columns: it needs the township code or name, "
                                         "the residents and the people aged 60+"),
                                       _("write the header as 乡镇代码 (or 乡镇), 常住人口, 60岁及以上人口"))])
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
                                    _("the number of people is not a whole number of 0 or more"),
                                    _("write whole numbers of people, not ten-thousands (万人) or decimals")))
        nums[key] = num
    over = (nums["pop_60plus"] > nums["population"]).to_numpy()
    for i in np.flatnonzero(over):
        problems.append(Problem(src, None, labels[i], cols["old"], str(df[cols["old"]].iloc[i]),
                                _("more people aged 60+ than residents"),
                                _("check whether the two columns are swapped")))
    seen: dict[str, str] = {}
    for i, c in enumerate(codes):
        if c and c in seen:
            problems.append(Problem(src, None, labels[i], cols["code"] or cols["name"], c,
                                    _("the same township appears twice (see also {row})").format(row=seen[c]),
                                    _("delete the repeated row")))
        elif c:
            seen[c] = labels[i]
    off = county_townships(county)
    missing = [f"{c} {n}" for c, n in zip(off["code"], off["name"]) if c not in seen]
    if missing:
        problems.append(Problem(src, None, None, cols["code"] or cols["name"], None,
                                _("the census table lacks these townships: {towns}").format(
                                    towns=_(", ").join(missing)),
                                _("give the population of every township (乡镇/街道) of the county")))
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


def match_official_townships(frame: pd.DataFrame, county: str, source: str, labels,
                             code_col: str | None, name_col: str | None) -> tuple[np.ndarray, list[Problem]]:
    """Official 9-digit code of each row, by code or (without codes) by name within the county.

    Returns the codes (None where unmatched) and the problems found.

    Examples
    --------
    >>> df = pd.DataFrame({"名称": ["儒岙镇", "回山", "月亮镇"]})
    >>> codes, problems = match_official_townships(df, "330624", "t.csv", ["第 2 行", "第 3 行", "第 4 行"], None, "名称")
    >>> list(codes), len(problems)
    (['330624110', '330624104', None], 1)
    """
    off = county_townships(county)
    names = dict(zip(off["code"], off["name"]))
    county_name = off["county_name"].iloc[0]
    problems: list[Problem] = []
    codes = np.full(len(frame), None, dtype=object)
    hint_list = _(", ").join(f"{c} {n}" for c, n in names.items())
    for i in range(len(frame)):
        if code_col is not None:
            raw = frame[code_col].iloc[i]
            val = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw).strip()
            val = val[:-2] if val.endswith(".0") else val
            val = val[:9] if len(val) == 12 and val.endswith("000") else val
            if val in names:
                codes[i] = val
                continue
            other = len(val) == 9 and val.isdigit() and not val.startswith(county)
            msg = (_("the code is empty") if not val else
                   (_("not an official township code of {county} ({code}) (National Bureau of Statistics, {edition} "
                      "edition), but another county's") if other else
                    _("not an official township code of {county} ({code}) (National Bureau of Statistics, {edition} "
                      "edition)")).format(county=county_name, code=county, edition=EDITION))
            problems.append(Problem(source, None, labels[i], code_col, val or None, msg,
                                    _("use one of the county's township codes: {codes}").format(codes=hint_list)))
        else:
            raw = str(frame[name_col].iloc[i]).strip() if name_col else ""
            hit = [c for c, n in names.items() if raw and (raw == n or raw == n.rstrip("镇乡") or
                                                         raw + "街道" == n or raw.replace("街办", "街道") == n)]
            if len(hit) == 1:
                codes[i] = hit[0]
                continue
            problems.append(Problem(source, None, labels[i], name_col, raw or None,
                                    _("the township name is not in the official list of {county}").format(
                                        county=county_name),
                                    _("use one of the official names, or add a column of township codes to the "
                                      "file: {codes}").format(codes=hint_list)))
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

    Examples
    --------
    >>> towns = county["townships"]
    >>> towns[["code", "name", "population", "pop_60plus", "geometry"]].to_file(tmp / "t.gpkg", engine="pyogrio")
    >>> gdf, note = read_townships(tmp / "t.gpkg", "330624")
    >>> len(gdf), gdf["kind"].value_counts().to_dict(), int(gdf["population"].sum())
    (12, {'镇': 6, '街道': 4, '乡': 2}, 419036)
    """
    src = str(path)
    gdf, labels, note = fix_crs(path, "townships", crs=crs, legacy_accuracy_m=legacy_accuracy_m)
    code_col = _pick(gdf.columns, _CODE_NAMES)
    name_col = _pick(gdf.columns, _NAME_NAMES)
    if code_col is None and name_col is None:
        raise WorkspaceError([Problem(src, None, None, None, None,
                                      _("there is neither a township code column nor a township name column"),
                                      _("add a column “乡镇代码” (9 digits) or “名称” (the official township "
                                        "name)"))])
    codes, problems = match_official_townships(gdf, county, src, labels, code_col, name_col)
    off = county_townships(county).set_index("code")
    present = set(c for c in codes if c)
    missing = [c for c in off.index if c not in present]
    if missing:
        problems.append(Problem(src, None, None, code_col or name_col, None,
                                _("these official townships are missing: {towns}").format(
                                    towns=_(", ").join(f"{c} {off.loc[c, 'name']}" for c in missing)),
                                _("the township file must cover every township (乡镇/街道) of the county; add "
                                  "them and import again")))
    if problems:
        raise WorkspaceError(problems)
    gdf = gdf.assign(code=codes)
    dissolved = gdf[["code", "geometry"]].dissolve(by="code", as_index=False)
    if len(dissolved) < len(gdf):
        note["notes"].append(_("{n} extra features merged by township code").format(n=len(gdf) - len(dissolved)))
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
                                          _("the township file has no population columns and no census table "
                                            "was given"),
                                          _("give the 7th census table of population per township (residents, "
                                            "aged 60+) with --population"))])
        firsts = gdf.groupby("code")[[pop_col, old_col]].first()
        out["population"] = out["code"].map(firsts[pop_col])
        out["pop_60plus"] = out["code"].map(firsts[old_col])
    out = out[["code", "name", "kind", "county_code", "population", "pop_60plus", "geometry"]]
    valid = validate_frame(out, "townships", source=src, row_labels=[_("township {code}").format(code=c) for c in out["code"]],
                           check_official=False)
    return valid, note


# --------------------------------------------------------------------------
# Facilities, roads, villages
# --------------------------------------------------------------------------

def read_facilities(spec: FacilitySpec, townships: gpd.GeoDataFrame, index=None, *,
                    legacy_accuracy_m: float | None = None, references=()):
    """Read one facility file (coordinates or addresses) into a valid layer of ``spec.kind``.

    Returns ``(layer, note, matches)``; ``matches`` is the address table (or None).
    Rows whose address cannot be placed are left out of the layer and listed in ``matches``.

    Examples
    --------
    A facility list with longitude and latitude columns:

    >>> care = county["elderly_care"]
    >>> table = pd.DataFrame(care.drop(columns="geometry")).assign(经度=care.geometry.x, 纬度=care.geometry.y)
    >>> table.to_csv(tmp / "养老.csv", index=False)
    >>> layer, note, matches = read_facilities(FacilitySpec(tmp / "养老.csv", "elderly_care"), county["townships"])
    >>> len(layer), matches is None
    (25, True)
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
                                              _("the table has neither longitude/latitude columns nor an "
                                                "address column"),
                                              _("add two columns “经度” and “纬度”, or one column “地址” (e.g. "
                                                "新昌县儒岙镇某某村12号)"))])
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
    problems = list(problems) + points_outside_problems(gdf, townships, src, labels, layer=layer)
    tc = _pick(gdf.columns, ("township_code", "township_c", "所属乡镇(街道)代码"))
    if tc is None and len(gdf):
        joined = gpd.sjoin(gdf[["geometry"]].to_crs(_crs.STORAGE_CRS), townships[["code", "geometry"]],
                           how="left", predicate="within")
        gdf = gdf.assign(township_code=joined.groupby(level=0)["code"].first().reindex(gdf.index).to_numpy())
        note["notes"].append(_("township codes filled in from the township each point lies in"))
    valid = validate_frame(gdf, spec.kind, source=src, layer=layer, row_labels=labels, townships=codes,
                           check_official=False, extra_problems=problems)
    return valid, note, None


def read_roads(path, outline: gpd.GeoDataFrame, margin_m: float = 5000.0, *,
               legacy_accuracy_m: float | None = None) -> tuple[gpd.GeoDataFrame, dict]:
    """Roads from an OSM extract or a vector file, clipped to the county plus ``margin_m``.

    Examples
    --------
    >>> county["roads"].to_file(tmp / "roads.gpkg", engine="pyogrio")
    >>> roads, note = read_roads(tmp / "roads.gpkg", county.outline)
    >>> len(roads) == len(county["roads"]), roads.crs.to_epsg()
    (True, 4490)
    """
    from geoplan.network.osm import read_osm_roads

    src = str(path)
    name = Path(path).name.lower()
    if name.endswith(OSM_SUFFIXES):
        roads, labels, note = read_osm_roads(path), None, {"crs_used": _("EPSG:4326 (OSM, taken as CGCS2000)"), "notes": []}
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
                                      _("the file has no roads within the county and {km:g} km around it").format(
                                          km=margin_m / 1000),
                                      _("check that the road file covers the county and that its coordinate "
                                        "system is right"))])
    note["notes"].append(_("clipped to the county outline plus {km:g} km: {kept} of {total} roads kept").format(
        km=margin_m / 1000, kept=len(clipped), total=n_in))
    note["margin_m"] = margin_m
    out = clipped.to_crs(_crs.STORAGE_CRS)
    rows = labels and [labels[i] for i in np.flatnonzero(keep)]
    return validate_frame(out.reset_index(drop=True), "roads", source=src,
                          row_labels=rows or None), note


def read_villages(path, townships: gpd.GeoDataFrame, *, legacy_accuracy_m=None):
    """Village points, checked against the workspace's township codes.

    Examples
    --------
    >>> county["villages"].to_file(tmp / "v.geojson", engine="pyogrio")
    >>> v, note = read_villages(tmp / "v.geojson", county["townships"])
    >>> len(v), v["name"].iloc[0] == county["villages"]["name"].iloc[0]
    (292, True)
    """
    gdf, labels, note = fix_crs(path, "villages", legacy_accuracy_m=legacy_accuracy_m)
    return validate_frame(gdf, "villages", source=str(path), row_labels=labels,
                          townships=set(townships["code"]), check_official=False,
                          extra_problems=points_outside_problems(gdf, townships, str(path), labels)), note


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
