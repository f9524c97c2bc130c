"""Results back from the field: filled record forms read, checked and applied; the rest re-planned.

Examples in this module use ``campaign = gp.plan_for_county(county, time_limit=1,
start_date="2026-09-01")``, ``imported`` (``campaign``'s forms filled in and read back), ``tmp`` (an
empty folder) (``import geoplan as gp``); pytest builds them once per session (see
``geoplan/conftest.py``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.errors import Problem, ValidationError
from geoplan.i18n import N_, _, ngettext
from geoplan.layers.crs import metric_crs
from geoplan.layers.schema import MARKER_ID_RE
from geoplan.inspection.selection import MOVED_TOLERANCE_M, WORKDAY_HOURS, InspectionError
from geoplan.inspection.result import InspectionResult
from geoplan.layers.values import parse_yes_no

#: What a condition calls for (处理意见): 维护 / 重建 / 补设 / 复位.
ACTIONS = ("维护", "重建", "补设", "复位")
_ACTION_OF = {"损坏": "维护", "丢失": "补设", "移位": "复位", "字迹不清": "维护", "被掩埋": "维护"}
#: the work each reported condition needs (translated where the work order is written)
_WORK_OF = {"损坏": N_("maintain (repair the marker body)"), "丢失": N_("set a new marker"),
            "字迹不清": N_("maintain (repaint the lettering)"), "被掩埋": N_("maintain (clear what buries it)")}
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

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> len(imported.history), len(imported.repairs), len(imported.remaining) > 0
    (38, 1, True)
    >>> imported.markers["condition"].value_counts().to_dict()
    {'完好': 189, '损坏': 16, '移位': 8, '丢失': 7, '被掩埋': 6, '字迹不清': 6}
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
    from geoplan.inspection.forms import header_columns

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
    names = header_columns()  # a form written in either language, or with the columns' own names
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

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``). The forms come back with
    every marker intact but the first, found damaged; line 3140's forms (with 东阳市) are not back yet:

    >>> from geoplan.inspection.forms import form_table
    >>> from geoplan.output import write_csv
    >>> forms = form_table(campaign)
    >>> forms = forms[forms["line_code"] != "3140"].copy()
    >>> forms["condition"], forms["inspected"] = "完好", "2026-09-01"
    >>> forms.loc[forms.index[0], ["condition", "action"]] = ["损坏", "维护"]
    >>> imported = import_results(campaign, write_csv(forms, tmp / "filled.csv"))
    >>> len(imported.history) == len(forms), len(imported.repairs), len(imported.remaining) > 0
    (True, 1, True)
    >>> imported.repairs.iloc[0][["marker_id", "condition"]].tolist() == [forms["marker_id"].iloc[0], "损坏"]
    True
    """
    from geoplan.inspection.forms import action_value, form_header as head
    from geoplan.layers.schema import BOUNDARY_MARKERS

    df, skip = _read_form(path)
    label = file_label or str(path)
    waypoints = read_gpx_waypoints(gpx) if gpx is not None else {}
    problems: list[Problem] = []
    if "marker_id" not in df:
        raise ValidationError([Problem(label, None, None, head("marker_id"), None,
                                       _("the form has no column “{column}”").format(column=head("marker_id")),
                                       _("use a record form made by `geoplan inspect forms`"))])
    cond_field = BOUNDARY_MARKERS.field("condition")
    register = result.markers.set_index(result.markers["marker_id"].astype(str))
    metric = metric_crs(result.markers)
    filled = df[df.get("condition", pd.Series("", index=df.index)).astype(str).str.strip() != ""]
    seen = {}
    rows = []
    for i, r in filled.iterrows():
        where = _("form row {number}").format(number=i + skip + 1)
        mid = str(r["marker_id"]).strip()
        if not MARKER_ID_RE.fullmatch(mid):
            problems.append(Problem(label, None, where, head("marker_id"), mid, _("not a marker ID"),
                                    _("4-digit line code + 3-digit sequence + A–E or Q, e.g. 3138001A")))
            continue
        if mid not in register.index:
            problems.append(Problem(label, None, where, head("marker_id"), mid, _("no such marker in the register"),
                                    _("check the ID against the atlas")))
            continue
        if mid in seen:
            problems.append(Problem(label, None, where, head("marker_id"), mid,
                                    _("reported twice (see also {row})").format(row=seen[mid]),
                                    _("one row per marker")))
            continue
        seen[mid] = where
        cond = cond_field.canonical(str(r["condition"]))
        if cond is None:
            problems.append(Problem(label, None, where, head("condition"), str(r["condition"]),
                                    _("the condition must be one of {values}").format(
                                        values=_(", ").join(cond_field.choices)), _("choose from the drop-down list")))
            continue
        date_txt = str(r.get("inspected", "")).strip()
        inspected = pd.to_datetime(date_txt, errors="coerce") if date_txt else pd.NaT
        if date_txt and pd.isna(inspected):
            problems.append(Problem(label, None, where, head("inspected"), date_txt, _("not a date"),
                                    _("write it like 2026-10-08")))
            continue
        if date_txt and not (pd.Timestamp("1949-10-01") <= inspected <= pd.Timestamp(_dt.date.today())):
            # a typo of the year (2125, 1025) would set the marker's next due date wrongly for decades
            problems.append(Problem(label, None, where, head("inspected"), date_txt,
                                    _("the inspection date cannot be later than today or before 1949"),
                                    _("check the year")))
            continue
        bools = {}
        for col in ("reference_ok", "lettering_ok"):
            v = str(r.get(col, "")).strip().lower()
            bools[col] = parse_yes_no(v)
            if bools[col] is None:
                bools[col] = True if v in _YES_EXTRA else False if v in _NO_EXTRA else None
            if v and bools[col] is None:
                problems.append(Problem(label, None, where, head(col), v, _("write “是” (yes) or “否” (no)"), ""))
        action = action_value(str(r.get("action", "")))  # 复位 or "reset": stored as 复位
        if action and action not in ACTIONS:
            problems.append(Problem(label, None, where, head("action"), action,
                                    _("the action must be one of {values}, or empty").format(
                                        values=_(", ").join(ACTIONS)), _("choose from the drop-down list")))
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
                problems.append(Problem(label, None, where, head("measured_lon"),
                                        f"{lon_txt}, {lat_txt}",
                                        _("a moved marker needs its measured coordinates") if cond == "移位"
                                        else _("the measured coordinates are not longitude and latitude"),
                                        _("write {lon}/{lat} in decimal degrees (CGCS2000), or import the "
                                          "handheld GPS waypoints").format(lon=head("measured_lon"),
                                                                           lat=head("measured_lat"))))
                continue
            reg = gpd.GeoSeries([register.loc[mid].geometry], crs=result.markers.crs).to_crs(metric).iloc[0]
            now = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs="EPSG:4490").to_crs(metric).iloc[0]
            disp = float(reg.distance(now))
            if disp > MAX_DISPLACEMENT_M:  # another marker's or a mistyped coordinate, not a moved marker
                problems.append(Problem(label, None, where, head("measured_lon"), f"{lon_txt}, {lat_txt}",
                                        _("the measured position is {km} km from the registered one: not a moved "
                                          "marker").format(km=f"{disp / 1000:.1f}"),
                                        _("check the measured coordinates (or the GPS waypoint's name)")))
                continue
        rows.append(dict(marker_id=mid, inspected=inspected, condition=cond, displacement_m=disp,
                         measured_lon=lon, measured_lat=lat,
                         reference_ok=bools["reference_ok"], lettering_ok=bools["lettering_ok"], action=action,
                         photos=str(r.get("photos", "")), remarks=str(r.get("remarks", ""))))
    if problems:
        raise ValidationError(problems, summary=ngettext(
            "The record form {file} has {n} problem; nothing was imported",
            "The record form {file} has {n} problems; nothing was imported", len(problems)).format(
                file=label, n=len(problems)))
    if not rows:
        raise ValidationError([Problem(label, None, None, head("condition"), None,
                                       _("no row is filled in (every condition is empty)"),
                                       _("fill in the record form first"))])
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
    """``{marker ID: (lon, lat)}`` of the waypoints in a GPX file whose name is a marker ID.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> from geoplan.inspection.forms import write_gpx
    >>> gpx = write_gpx(campaign, tmp)[0]
    >>> w = read_gpx_waypoints(gpx)
    >>> set(w) <= set(campaign.visits["marker_id"]), len(w) > 0
    (True, True)
    """
    import xml.etree.ElementTree as ET
    from pathlib import Path

    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (OSError, ET.ParseError) as exc:
        raise InspectionError(_("Cannot read the GPS waypoint file {path} ({error}). Export it as GPX 1.1.").format(
            path=p, error=exc)) from exc
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
                raise InspectionError(_("The GPS waypoint file {path}: waypoint {name} has invalid coordinates "
                                        "({coords}). Export GPX 1.1 from the handheld GPS again.").format(
                    path=p, name=name.strip(), coords=f"lon={w.get('lon')!r}, lat={w.get('lat')!r}")) from None
            out[name.strip()] = (lon, lat)
    return out


def campaign_id(result: InspectionResult) -> str:
    """Name of the campaign a plan belongs to: county, lines or year, and first day.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> campaign_id(campaign)
    '330624-2026年度-2026-09-01'
    """
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

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> w = work_orders(imported.history)
    >>> len(w), list(w.columns[:4])
    (1, ['marker_id', 'line_code', 'condition', 'displacement_m'])
    """
    work = []
    for h in history.itertuples(index=False):
        jobs = []
        action = str(getattr(h, "action", "") or "")
        if h.condition == "移位":
            if pd.notna(h.displacement_m) and h.displacement_m > MOVED_TOLERANCE_M:
                jobs.append(_("reset (moved {metres:.1f} m)").format(metres=h.displacement_m))
                action = action or "复位"
            # else: within survey error, the marker stands where it is registered
        elif h.condition in _WORK_OF:
            jobs.append(_("rebuild the marker") if action == "重建" else _(_WORK_OF[h.condition]))
            action = action or _ACTION_OF[h.condition]
        if h.lettering_ok is False and h.condition not in ("丢失", "字迹不清"):
            jobs.append(_("repaint the lettering"))
            action = action or "维护"
        if h.reference_ok is False and h.condition != "丢失":
            jobs.append(_("re-survey the reference objects"))
            action = action or "维护"
        if jobs:
            work.append(dict(marker_id=h.marker_id, line_code=str(h.marker_id)[:4], condition=h.condition,
                             displacement_m=h.displacement_m, action=action, work=_("; ").join(jobs)))
    return pd.DataFrame(work, columns=["marker_id", "line_code", "condition", "displacement_m", "action", "work"])


def replan(result: InspectionResult, imported: ImportedResults, *, time_limit: float = 10.0,
           start_date=None, progress=None, network=None) -> InspectionResult:
    """Plan the markers of ``result`` that no imported form covers (same teams, hours, blackout dates).

    The new plan keeps the campaign's lines and who leads them, so forms and
    reports of the re-planned days belong to the same campaign.

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> again = replan(campaign, imported, time_limit=1)
    >>> sorted(again.visits["marker_id"]) == sorted(imported.remaining)
    True
    """
    if not imported.remaining:
        raise InspectionError(_("Every planned marker has a filled-in form: nothing to re-plan."))
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

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> markers, history = load_results(save_results(imported, tmp / "results.gpkg"))
    >>> len(markers) == len(imported.markers), len(history) == len(imported.history)
    (True, True)
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
    """``(markers, history)`` from a file written by :func:`save_results`.

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> p = save_results(imported, tmp / "results.gpkg")
    >>> markers, history = load_results(p)
    >>> history["condition"].value_counts().to_dict()
    {'完好': 37, '损坏': 1}
    """
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
