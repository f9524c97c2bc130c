"""Results back from the field: filled record forms read, checked and applied; the rest re-planned."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.errors import Problem, ValidationError
from geoplan.i18n import _
from geoplan.layers.crs import metric_crs
from geoplan.layers.schema import MARKER_ID_RE
from geoplan.inspection.selection import MOVED_TOLERANCE_M, WORKDAY_HOURS, InspectionError
from geoplan.inspection.result import InspectionResult
from geoplan.layers.values import parse_yes_no

#: What a condition calls for (处理意见): 维护 / 重建 / 补设 / 复位.
ACTIONS = ("维护", "重建", "补设", "复位")
_ACTION_OF = {"损坏": "维护", "丢失": "补设", "移位": "复位", "字迹不清": "维护", "被掩埋": "维护"}
_WORK_OF = {"损坏": "维护（修补桩体）", "丢失": "补设界桩", "字迹不清": "维护（重新描字）",
            "被掩埋": "维护（清理掩埋物，露出桩体）"}
HISTORY_COLUMNS = ["marker_id", "line_code", "campaign", "inspected", "condition", "displacement_m",
                   "measured_lon", "measured_lat", "reference_ok", "lettering_ok", "action", "photos", "remarks"]


@dataclass
class ImportedResults:
    """What a batch of filled record forms changes.

    Attributes
    ----------
    markers : geopandas.GeoDataFrame
        The markers layer with ``condition`` and ``last_inspected`` updated.
    history : pandas.DataFrame
        The per-marker history (:data:`HISTORY_COLUMNS`): earlier campaigns
        passed in plus one row per marker inspected in this campaign
        (``campaign``); a marker reported again in the same campaign
        replaces its row, so importing the same file twice changes nothing.
    repairs : pandas.DataFrame
        Work orders of this campaign: ``marker_id``, ``line_code``,
        ``condition``, ``displacement_m``, ``action`` (维护/重建/补设/复位)
        and ``work`` (in Chinese, e.g. "复位（位移 29.1 米）").
    remaining : list of str
        Planned markers with no filled form yet (to re-plan).
    """

    markers: gpd.GeoDataFrame
    history: pd.DataFrame
    repairs: pd.DataFrame
    remaining: list


# besides the package's yes/no spellings (layers.values), the words teams write in these columns
_YES_EXTRA = {"完好", "清晰"}
_NO_EXTRA = {"x", "损坏", "模糊"}
#: farther than this from its registered place, a measured point is a wrong coordinate, not a moved marker
MAX_DISPLACEMENT_M = 2000.0


def _read_form(path) -> tuple[pd.DataFrame, int]:
    from pathlib import Path
    from geoplan.inspection.forms import FORM_COLUMNS

    p = Path(path)
    if not p.exists():
        raise InspectionError(_("Form file not found: {path}.").format(path=p))
    try:
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            raw = pd.read_excel(p, dtype=str, header=None, engine="openpyxl")
        elif p.suffix.lower() in (".csv", ".txt"):
            data = p.read_bytes()
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    text = data.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise InspectionError(_("{path} is neither UTF-8 nor GBK text; save it as CSV UTF-8.").format(path=p))
            import io as _io
            from geoplan.output import unescape_frame

            # a form geoplan wrote as CSV has formula-like text quoted (OWASP); undo it
            raw = unescape_frame(pd.read_csv(_io.StringIO(text), dtype=str, header=None, keep_default_na=False))
        else:
            raise InspectionError(_("{path}: record forms are read from .xlsx or .csv files.").format(path=p))
    except InspectionError:
        raise
    except Exception as exc:
        raise InspectionError(_("{path} cannot be read as a record form ({error}).").format(
            path=p, error=f"{type(exc).__name__}: {exc}")) from exc
    names = {zh: en for en, zh in FORM_COLUMNS} | {en: en for en, _ in FORM_COLUMNS}
    header = [names.get(str(c).strip(), str(c).strip()) for c in raw.iloc[0]]
    skip = 1
    # the form's second row repeats the headers as column names
    if len(raw) > 1 and all(str(v).strip() in names for v in raw.iloc[1] if str(v).strip() not in ("", "nan")):
        skip = 2
    df = raw.iloc[skip:].copy()
    df.columns = header
    df = df.replace({"nan": ""}).fillna("")
    return df.reset_index(drop=True), skip


def import_results(result: InspectionResult, path, *, file_label: str | None = None,
                   previous_markers=None, previous_history: pd.DataFrame | None = None,
                   gpx=None) -> ImportedResults:
    """Read filled record forms (XLSX or CSV) and work out what they change.

    Nothing is changed if any row is bad: every problem (unknown marker ID,
    condition not one of 完好/损坏/移位/丢失, missing or impossible measured
    coordinates for a moved marker, a bad date, a marker reported twice) is
    collected and raised as one :class:`geoplan.errors.ValidationError`.

    Parameters
    ----------
    result : InspectionResult
        The plan the forms belong to (its markers are the register).
    path : str or Path
        The filled form (``write_forms_xlsx`` output, or the same columns as CSV).
    previous_markers, previous_history : optional
        The marker layer and history after earlier imports (default: the
        plan's markers, no history); this import is applied on top.
    gpx : str or Path, optional
        Handheld GPS waypoints named by marker ID: their positions fill the
        measured coordinates a form leaves empty.

    Returns
    -------
    ImportedResults
    """
    from geoplan.layers.schema import BOUNDARY_MARKERS

    df, skip = _read_form(path)
    label = file_label or str(path)
    waypoints = read_gpx_waypoints(gpx) if gpx is not None else {}
    problems: list[Problem] = []
    if "marker_id" not in df:
        raise ValidationError([Problem(label, None, None, "界桩编号", None, "表中没有“界桩编号”列",
                                       "请使用 `geoplan inspect forms` 生成的记录表")])
    cond_field = BOUNDARY_MARKERS.field("condition")
    register = result.markers.set_index(result.markers["marker_id"].astype(str))
    metric = metric_crs(result.markers)
    filled = df[df.get("condition", pd.Series("", index=df.index)).astype(str).str.strip() != ""]
    seen = {}
    rows = []
    for i, r in filled.iterrows():
        where = f"第{i + skip + 1}行"
        mid = str(r["marker_id"]).strip()
        if not MARKER_ID_RE.fullmatch(mid):
            problems.append(Problem(label, None, where, "界桩编号", mid, "不是界桩编号",
                                    "4位界线编号+3位序号+A–E或Q，如 3138001A"))
            continue
        if mid not in register.index:
            problems.append(Problem(label, None, where, "界桩编号", mid, "界桩登记中没有此编号",
                                    "请对照图件核对编号"))
            continue
        if mid in seen:
            problems.append(Problem(label, None, where, "界桩编号", mid, f"重复填报（另见{seen[mid]}）",
                                    "每个界桩只填一行"))
            continue
        seen[mid] = where
        cond = cond_field.canonical(str(r["condition"]))
        if cond is None:
            problems.append(Problem(label, None, where, "界桩状况", str(r["condition"]),
                                    "界桩状况须为" + "、".join(cond_field.choices), "请从下拉列表中选择"))
            continue
        date_txt = str(r.get("inspected", "")).strip()
        inspected = pd.to_datetime(date_txt, errors="coerce") if date_txt else pd.NaT
        if date_txt and pd.isna(inspected):
            problems.append(Problem(label, None, where, "检查日期", date_txt, "不是日期", "请写成 2026-10-08"))
            continue
        if date_txt and not (pd.Timestamp("1949-10-01") <= inspected <= pd.Timestamp(_dt.date.today())):
            # a typo of the year (2125, 1025) would set the marker's next due date wrongly for decades
            problems.append(Problem(label, None, where, "检查日期", date_txt, "检查日期不能晚于今天或早于1949年",
                                    "请核对年份"))
            continue
        bools = {}
        for col, zh in (("reference_ok", "方位物完好"), ("lettering_ok", "字迹清晰")):
            v = str(r.get(col, "")).strip().lower()
            bools[col] = parse_yes_no(v)
            if bools[col] is None:
                bools[col] = True if v in _YES_EXTRA else False if v in _NO_EXTRA else None
            if v and bools[col] is None:
                problems.append(Problem(label, None, where, zh, v, "请填“是”或“否”", ""))
        action = str(r.get("action", "")).strip()
        if action in ("无", "-", "—"):
            action = ""
        if action and action not in ACTIONS:
            problems.append(Problem(label, None, where, "处理意见", action, "处理意见须为" + "、".join(ACTIONS) + "或空",
                                    "请从下拉列表中选择"))
            continue
        disp = np.nan
        lon_txt, lat_txt = str(r.get("measured_lon", "")).strip(), str(r.get("measured_lat", "")).strip()
        if not lon_txt and not lat_txt and mid in waypoints:
            lon_txt, lat_txt = (f"{x:.7f}" for x in waypoints[mid])
        lon = lat = np.nan
        if lon_txt or lat_txt or cond == "移位":
            try:
                lon, lat = float(lon_txt), float(lat_txt)
                if not (70 <= lon <= 140 and 0 <= lat <= 60):
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(Problem(label, None, where, "实测经度",
                                        f"{lon_txt}, {lat_txt}",
                                        "移位界桩须填实测坐标" if cond == "移位" else "实测坐标不是经纬度",
                                        "实测经度/实测纬度填十进制度（CGCS2000），或导入手持GPS航点"))
                continue
            reg = gpd.GeoSeries([register.loc[mid].geometry], crs=result.markers.crs).to_crs(metric).iloc[0]
            now = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs="EPSG:4490").to_crs(metric).iloc[0]
            disp = float(reg.distance(now))
            if disp > MAX_DISPLACEMENT_M:  # another marker's or a mistyped coordinate, not a moved marker
                problems.append(Problem(label, None, where, "实测经度", f"{lon_txt}, {lat_txt}",
                                        f"实测位置离登记位置 {disp / 1000:.1f} 公里，不可能是界桩移位",
                                        "请核对实测坐标（或GPS航点名称）"))
                continue
        rows.append(dict(marker_id=mid, inspected=inspected, condition=cond, displacement_m=disp,
                         measured_lon=lon, measured_lat=lat,
                         reference_ok=bools["reference_ok"], lettering_ok=bools["lettering_ok"], action=action,
                         photos=str(r.get("photos", "")), remarks=str(r.get("remarks", ""))))
    if problems:
        raise ValidationError(problems, summary=f"记录表 {label} 有 {len(problems)} 处问题，未导入任何数据")
    if not rows:
        raise ValidationError([Problem(label, None, None, "界桩状况", None, "没有填写任何一行（界桩状况均为空）",
                                       "请先填写记录表")])
    campaign = campaign_id(result)
    new = pd.DataFrame(rows)
    default_date = pd.Timestamp(_dt.date.today())
    new["inspected"] = new["inspected"].fillna(default_date)
    new["campaign"] = campaign
    new["line_code"] = new["marker_id"].str[:4]
    new["displacement_m"] = new["displacement_m"].round(1)
    new = new[HISTORY_COLUMNS]
    old = previous_history if previous_history is not None else pd.DataFrame(columns=HISTORY_COLUMNS)
    old = old[HISTORY_COLUMNS] if len(old) else pd.DataFrame(columns=HISTORY_COLUMNS)
    keep = ~(old["campaign"].astype(str).eq(campaign) & old["marker_id"].astype(str).isin(new["marker_id"]))
    history = pd.concat([old[keep], new], ignore_index=True) if len(old) else new.copy()
    history["inspected"] = pd.to_datetime(history["inspected"])
    history = history.sort_values(["marker_id", "inspected", "campaign"], kind="stable").reset_index(drop=True)
    base = previous_markers if previous_markers is not None else result.markers
    markers = base.copy()
    ids = markers["marker_id"].astype(str)
    upd = new.set_index("marker_id")
    hit = ids.isin(upd.index).to_numpy()
    markers.loc[hit, "condition"] = ids[hit].map(upd["condition"]).to_numpy()
    markers["last_inspected"] = pd.to_datetime(markers["last_inspected"])
    markers.loc[hit, "last_inspected"] = ids[hit].map(upd["inspected"]).to_numpy()
    repairs = work_orders(new)
    done = set(history.loc[history["campaign"].astype(str) == campaign, "marker_id"].astype(str))
    remaining = [m for m in result.visits["marker_id"] if m not in done]
    return ImportedResults(markers, history, repairs, remaining)


def read_gpx_waypoints(path) -> dict:
    """``{marker ID: (lon, lat)}`` of the waypoints in a GPX file whose name is a marker ID."""
    import xml.etree.ElementTree as ET
    from pathlib import Path

    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (OSError, ET.ParseError) as exc:
        raise InspectionError(f"无法读取GPS航点文件 {p}（{exc}）。请导出为 GPX 1.1。") from exc
    out = {}
    for w in root.iter():
        if not str(w.tag).endswith("wpt"):
            continue
        name = next((c.text for c in w if str(c.tag).endswith("name")), None)
        if name and MARKER_ID_RE.fullmatch(name.strip()):
            try:
                lon, lat = float(w.get("lon")), float(w.get("lat"))
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError
            except (TypeError, ValueError):
                raise InspectionError(f"GPS航点文件 {p} 中航点 {name.strip()} 的坐标无效（lon={w.get('lon')!r}，"
                                      f"lat={w.get('lat')!r}）。请从手持GPS重新导出 GPX 1.1。") from None
            out[name.strip()] = (lon, lat)
    return out


def campaign_id(result: InspectionResult) -> str:
    """Name of the campaign a plan belongs to: county, lines or year, and first day."""
    p = result.params
    if p.get("campaign"):
        return str(p["campaign"])
    when = str(p.get("start_date", ""))
    what = f"{p['programme_year']}年度" if p.get("programme_year") else "专项"
    return f"{p.get('county', '')}-{what}-{when}"


def work_orders(history: pd.DataFrame) -> pd.DataFrame:
    """Repair work orders (维护/重建/补设/复位) from inspected markers, in Chinese.

    A marker reported 移位 but measured within :data:`MOVED_TOLERANCE_M` of
    its registered position is within survey error: no work order.
    """
    work = []
    for h in history.itertuples(index=False):
        jobs = []
        action = str(getattr(h, "action", "") or "")
        if h.condition == "移位":
            if pd.notna(h.displacement_m) and h.displacement_m > MOVED_TOLERANCE_M:
                jobs.append(f"复位（位移 {h.displacement_m:.1f} 米）")
                action = action or "复位"
            # else: within survey error, the marker stands where it is registered
        elif h.condition in _WORK_OF:
            jobs.append("重建界桩" if action == "重建" else _WORK_OF[h.condition])
            action = action or _ACTION_OF[h.condition]
        if h.lettering_ok is False and h.condition not in ("丢失", "字迹不清"):
            jobs.append("重新描字")
            action = action or "维护"
        if h.reference_ok is False and h.condition != "丢失":
            jobs.append("重测方位物")
            action = action or "维护"
        if jobs:
            work.append(dict(marker_id=h.marker_id, line_code=str(h.marker_id)[:4], condition=h.condition,
                             displacement_m=h.displacement_m, action=action, work="；".join(jobs)))
    return pd.DataFrame(work, columns=["marker_id", "line_code", "condition", "displacement_m", "action", "work"])


def replan(result: InspectionResult, imported: ImportedResults, *, time_limit: float = 10.0,
           start_date=None, progress=None, network=None) -> InspectionResult:
    """Plan the markers of ``result`` that no imported form covers (same teams, hours, blackout dates).

    The new plan keeps the campaign's lines and who leads them, so forms and
    reports of the re-planned days belong to the same campaign.
    """
    if not imported.remaining:
        raise InspectionError("所有计划界桩都已填表，无需重新安排。")
    from geoplan.inspection.planning import InspectionPlan

    p = result.params
    plan = InspectionPlan.from_layers(
        imported.markers, result.lines, result.roads, result.bases, teams=list(p.get("teams", [])) or None,
        workday_hours=p.get("workday_min", WORKDAY_HOURS * 60) / 60, due_markers_list=imported.remaining,
        start_date=start_date, areas=result.areas, neighbours=result.neighbours, outline=result.outline,
        service_minutes=p.get("service_minutes"), network=network, blackout=p.get("blackout") or None)
    new = plan.solve(time_limit=time_limit, progress=progress)
    new.params.update({k: v for k, v in p.items() if k in ("county", "county_name", "programme_year", "lines")})
    # the re-planned days belong to the same campaign: their forms add to its history and report
    new.params["campaign"] = campaign_id(result)
    return new


def save_results(imported: ImportedResults, path, *, overwrite: bool = False):
    """Write the updated markers and the per-marker history to one GeoPackage (atomically).

    Layers ``boundary_markers`` and ``marker_history``; read back with
    :func:`load_results` for the next import.
    """
    import pyogrio

    from geoplan.inspection.xlsx import atomic_path
    from geoplan.layers.io import write_layer

    m = imported.markers.copy()
    m["last_inspected"] = pd.to_datetime(m["last_inspected"]).dt.strftime("%Y-%m-%d")
    h = imported.history.copy()
    h["inspected"] = pd.to_datetime(h["inspected"]).dt.strftime("%Y-%m-%d")
    for c in ("reference_ok", "lettering_ok"):
        h[c] = h[c].map(lambda v: "是" if v is True else "否" if v is False else "")
    for c in ("action", "photos", "remarks", "campaign", "marker_id", "line_code", "condition"):
        h[c] = h[c].fillna("").astype(str)
    with atomic_path(path, overwrite=overwrite) as tmp:
        write_layer(m, tmp, "boundary_markers")
        pyogrio.write_dataframe(h, tmp, layer="marker_history", driver="GPKG")
    return path


def load_results(path):
    """``(markers, history)`` from a file written by :func:`save_results`."""
    import pyogrio

    markers = gpd.read_file(path, layer="boundary_markers", engine="pyogrio")
    markers["last_inspected"] = pd.to_datetime(markers["last_inspected"])
    h = pyogrio.read_dataframe(path, layer="marker_history", read_geometry=False)
    h["inspected"] = pd.to_datetime(h["inspected"])
    for c in ("reference_ok", "lettering_ok"):
        h[c] = h[c].map(lambda v: True if v == "是" else False if v == "否" else None).astype(object)
    for c in ("action", "photos", "remarks"):
        h[c] = h[c].fillna("").astype(str)
    return markers, h[HISTORY_COLUMNS]
