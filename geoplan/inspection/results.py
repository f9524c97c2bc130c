"""Results back from the field: filled record forms read, checked and applied; the rest re-planned."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.errors import Problem, ValidationError
from geoplan.layers.crs import metric_crs
from geoplan.layers.schema import MARKER_ID_RE
from geoplan.inspection.selection import WORKDAY_HOURS, InspectionError
from geoplan.inspection.result import InspectionResult

@dataclass
class ImportedResults:
    """What a batch of filled record forms changes.

    Attributes
    ----------
    markers : geopandas.GeoDataFrame
        The markers layer with ``condition`` and ``last_inspected`` updated.
    history : pandas.DataFrame
        One row per inspected marker: ``marker_id``, ``inspected``,
        ``condition``, ``displacement_m`` (moved markers), ``reference_ok``,
        ``lettering_ok``, ``photos``, ``remarks``.
    repairs : pandas.DataFrame
        Markers needing repair work, with ``work`` saying what.
    remaining : list of str
        Planned markers with no filled form yet (to re-plan).
    """

    markers: gpd.GeoDataFrame
    history: pd.DataFrame
    repairs: pd.DataFrame
    remaining: list


_YES = {"是", "y", "yes", "true", "1", "√", "✓", "完好", "清晰"}
_NO = {"否", "n", "no", "false", "0", "×", "x", "损坏", "模糊"}


def _read_form(path) -> tuple[pd.DataFrame, int]:
    from pathlib import Path
    from geoplan.inspection.forms import FORM_COLUMNS

    p = Path(path)
    if not p.exists():
        raise InspectionError(f"Form file not found: {p}.")
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
                raise InspectionError(f"{p} is neither UTF-8 nor GBK text; save it as CSV UTF-8.")
            import io as _io
            raw = pd.read_csv(_io.StringIO(text), dtype=str, header=None, keep_default_na=False)
        else:
            raise InspectionError(f"{p}: record forms are read from .xlsx or .csv files.")
    except InspectionError:
        raise
    except Exception as exc:
        raise InspectionError(f"{p} cannot be read as a record form ({type(exc).__name__}: {exc}).") from exc
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


def import_results(result: InspectionResult, path, *, file_label: str | None = None) -> ImportedResults:
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

    Returns
    -------
    ImportedResults
    """
    from geoplan.layers.schema import BOUNDARY_MARKERS

    df, skip = _read_form(path)
    label = file_label or str(path)
    problems: list[Problem] = []
    if "marker_id" not in df:
        raise ValidationError([Problem(label, None, None, "marker_id", None, "no 界桩编号 / marker_id column",
                                       "use the form written by `geoplan inspect forms`")])
    cond_field = BOUNDARY_MARKERS.field("condition")
    register = result.markers.set_index(result.markers["marker_id"].astype(str))
    metric = metric_crs(result.markers)
    filled = df[df.get("condition", pd.Series("", index=df.index)).astype(str).str.strip() != ""]
    seen = {}
    rows = []
    for i, r in filled.iterrows():
        where = f"row {i + skip + 1}"
        mid = str(r["marker_id"]).strip()
        if not MARKER_ID_RE.fullmatch(mid):
            problems.append(Problem(label, None, where, "marker_id", mid, "not a marker ID",
                                    "4-digit line + 3-digit number + A–E/Q, e.g. 3138001A"))
            continue
        if mid not in register.index:
            problems.append(Problem(label, None, where, "marker_id", mid, "marker not in the register",
                                    "check the number against the printed map"))
            continue
        if mid in seen:
            problems.append(Problem(label, None, where, "marker_id", mid, f"reported twice (also {seen[mid]})",
                                    "keep one row per marker"))
            continue
        seen[mid] = where
        cond = cond_field.canonical(str(r["condition"]))
        if cond is None:
            problems.append(Problem(label, None, where, "condition", str(r["condition"]),
                                    "condition must be 完好, 损坏, 移位 or 丢失", "pick from the drop-down list"))
            continue
        date_txt = str(r.get("inspected", "")).strip()
        inspected = pd.to_datetime(date_txt, errors="coerce") if date_txt else pd.NaT
        if date_txt and pd.isna(inspected):
            problems.append(Problem(label, None, where, "inspected", date_txt, "not a date", "write e.g. 2025-03-03"))
            continue
        bools = {}
        for col in ("reference_ok", "lettering_ok"):
            v = str(r.get(col, "")).strip().lower()
            bools[col] = True if v in _YES else False if v in _NO else None
            if v and bools[col] is None:
                problems.append(Problem(label, None, where, col, v, "answer 是 or 否", ""))
        disp = np.nan
        if cond == "移位":
            try:
                lon, lat = float(r.get("measured_lon", "")), float(r.get("measured_lat", ""))
                if not (70 <= lon <= 140 and 0 <= lat <= 60):
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(Problem(label, None, where, "measured_lon",
                                        f"{r.get('measured_lon', '')}, {r.get('measured_lat', '')}",
                                        "a moved (移位) marker needs its measured position",
                                        "fill in 实测经度/实测纬度 in decimal degrees (CGCS2000)"))
                continue
            reg = gpd.GeoSeries([register.loc[mid].geometry], crs=result.markers.crs).to_crs(metric).iloc[0]
            now = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs="EPSG:4490").to_crs(metric).iloc[0]
            disp = float(reg.distance(now))
        rows.append(dict(marker_id=mid, inspected=inspected, condition=cond, displacement_m=disp,
                         reference_ok=bools["reference_ok"], lettering_ok=bools["lettering_ok"],
                         photos=str(r.get("photos", "")), remarks=str(r.get("remarks", ""))))
    if problems:
        raise ValidationError(problems, summary=f"{len(problems)} problem(s) in the record forms {label}; "
                                                "nothing was imported")
    if not rows:
        raise ValidationError([Problem(label, None, None, "condition", None, "no filled-in row (界桩状况 empty everywhere)",
                                       "fill in the forms first")])
    history = pd.DataFrame(rows)
    default_date = pd.Timestamp(_dt.date.today())
    history["inspected"] = history["inspected"].fillna(default_date)
    markers = result.markers.copy()
    ids = markers["marker_id"].astype(str)
    upd = history.set_index("marker_id")
    hit = ids.isin(upd.index).to_numpy()
    markers.loc[hit, "condition"] = ids[hit].map(upd["condition"]).to_numpy()
    markers["last_inspected"] = pd.to_datetime(markers["last_inspected"])
    markers.loc[hit, "last_inspected"] = ids[hit].map(upd["inspected"]).to_numpy()
    work = []
    for h in history.itertuples():
        jobs = []
        if h.condition == "丢失":
            jobs.append("补设界桩 (replace)")
        elif h.condition == "移位":
            jobs.append(f"复位 (reset; moved {h.displacement_m:.1f} m)")
        elif h.condition == "损坏":
            jobs.append("维修 (repair)")
        if h.lettering_ok is False and h.condition != "丢失":
            jobs.append("重新描字 (repaint lettering)")
        if h.reference_ok is False and h.condition != "丢失":
            jobs.append("重测方位物 (re-survey reference objects)")
        if jobs:
            work.append(dict(marker_id=h.marker_id, condition=h.condition, displacement_m=h.displacement_m,
                             work="; ".join(jobs)))
    repairs = pd.DataFrame(work, columns=["marker_id", "condition", "displacement_m", "work"])
    remaining = [m for m in result.visits["marker_id"] if m not in set(history["marker_id"])]
    return ImportedResults(markers, history, repairs, remaining)


def replan(result: InspectionResult, imported: ImportedResults, *, time_limit: float = 10.0,
           start_date=None, progress=None, network=None) -> InspectionResult:
    """Plan the markers of ``result`` that no imported form covers."""
    if not imported.remaining:
        raise InspectionError("Every planned marker has a filled form; nothing to re-plan.")
    from geoplan.inspection.planning import InspectionPlan

    p = result.params
    plan = InspectionPlan.from_layers(
        imported.markers, result.lines, result.roads, result.bases, teams=list(p.get("teams", [])) or None,
        workday_hours=p.get("workday_min", WORKDAY_HOURS * 60) / 60, due_markers_list=imported.remaining,
        start_date=start_date, areas=result.areas, neighbours=result.neighbours, outline=result.outline,
        service_minutes=p.get("service_minutes"), network=network)
    new = plan.solve(time_limit=time_limit, progress=progress)
    new.params.update({k: v for k, v in p.items() if k in ("county", "county_name")})
    return new
