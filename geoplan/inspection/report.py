"""What the inspection hands over, in Chinese: plan and results workbooks, the campaign report.

* :func:`write_plan_xlsx` — the campaign plan: team-days (with 牵头方, 对方 and
  the meeting point), visit order, the lines and every marker left out with
  its reason.
* :func:`write_results_xlsx` — after an import: the inspection records and
  the repair work orders (维护/重建/补设/复位).
* :func:`campaign_report` → :class:`CampaignReport` — markers inspected by
  condition, repairs by kind, markers moved more than the tolerance, each
  line's status, the per-marker record (界桩情况记录); written as XLSX
  (:func:`write_report_xlsx`) and print-ready PDF with one joint record
  (界线联合检查记录) page per line (:func:`write_report_pdf`).
* :func:`write_programme_xlsx` — the five-year programme.

Numbers are rounded as what they are: minutes whole, metres to 0.1,
coordinates to 6 decimals.

Examples in this module use ``county = gp.load_sample("330624")``, ``campaign =
gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, ``imported`` (``campaign``'s
forms filled in and read back), ``tmp`` (an empty folder) (``import geoplan as gp``); pytest builds
them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geoplan.i18n import N_, _
from geoplan.inspection.selection import MOVED_TOLERANCE_M
from geoplan.inspection.forms import shown
from geoplan.layers.schema import MARKER_CONDITIONS

ROUTE_HEADERS = {
    "route_id": N_("team-day"), "team": N_("team"), "base_name": N_("starting point"), "date": N_("date"), "lines": N_("line code"),
    "n_markers": N_("markers"), "drive_min": N_("driving (min)"), "walk_min": N_("walking (min)"), "service_min": N_("inspecting (min)"),
    "total_min": N_("whole day (min)"), "start": N_("leave"), "end": N_("return"), "lead": N_("lead side"), "partners": N_("other side"),
    "meet_at": N_("meeting marker"), "meet_time": N_("meeting time"), "partner_drive_min": N_("other side's estimated drive (min)"),
    "partner_leave": N_("other side leaves by"),
}
VISIT_HEADERS = {
    "route_id": N_("team-day"), "date": N_("date"), "order": N_("order"), "stop": N_("stop"), "marker_id": N_("marker ID"),
    "marker_type": N_("marker type"), "line_code": N_("line code"), "lon": N_("longitude"), "lat": N_("latitude"), "arrival": N_("arrival"),
    "drive_min": N_("driving (min)"), "walk_min": N_("walking there and back (min)"), "service_min": N_("inspecting (min)"), "departure": N_("departure"),
}
LINE_HEADERS = {
    "line_code": N_("line code"), "name": N_("line name"), "level": N_("level"), "lead_name": N_("lead side"), "partner_names": N_("other side"),
    "n_planned": N_("markers planned"), "n_unreachable": N_("unreachable"),
}
UNREACHABLE_HEADERS = {"marker_id": N_("marker ID"), "line_code": N_("line code"), "line_name": N_("line name"), "reason": N_("why")}
HISTORY_HEADERS = {
    "marker_id": N_("marker ID"), "line_code": N_("line code"), "campaign": N_("campaign"), "inspected": N_("inspection date"),
    "condition": N_("marker condition"), "displacement_m": N_("displacement (m)"), "measured_lon": N_("measured longitude"), "measured_lat": N_("measured latitude"),
    "reference_ok": N_("reference objects intact"), "lettering_ok": N_("lettering legible"), "action": N_("action"), "photos": N_("photo numbers"),
    "remarks": N_("remarks"),
}
REPAIR_HEADERS = {"marker_id": N_("marker ID"), "line_code": N_("line code"), "condition": N_("marker condition"),
                  "displacement_m": N_("displacement (m)"), "action": N_("action"), "work": N_("work to do")}
PROGRAMME_HEADERS = {
    "year": N_("inspection year"), "line_code": N_("line code"), "name": N_("line name"), "level": N_("level"), "partner": N_("other side"),
    "lead": N_("lead side"), "last_year": N_("last joint inspection"), "due_year": N_("year due"), "n_markers": N_("markers"),
    "length_km": N_("length (km)"), "team_days": N_("estimated team-days"), "reason": N_("why this year"),
}
#: the marker types by the letter of the ID, translated where shown
TYPE_NAMES = {"A": N_("pair, same number"), "B": N_("pair, same number"), "C": N_("triple, same number"),
              "D": N_("triple, same number"), "E": N_("triple, same number"), "Q": N_("single")}


def _yesno(v):
    return _("yes") if v is True else _("no") if v is False else ""


def plan_tables(result) -> dict[str, pd.DataFrame]:
    """The plan's tables with rounded numbers, ready for Chinese headers.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> list(plan_tables(campaign))
    ['routes', 'visits', 'lines', 'unreachable']
    """
    routes = result.routes.copy()
    for c in ("drive_min", "walk_min", "service_min", "total_min"):
        routes[c] = routes[c].round(0).astype(int)
    for c in ROUTE_HEADERS:
        if c not in routes:
            routes[c] = ""
    routes["lines"] = routes["lines"].astype(str).str.replace(",", "、")
    from geoplan.inspection.parties import partner_departure
    routes["partner_leave"] = [partner_departure(t, d) for t, d in zip(routes["meet_time"], routes["partner_drive_min"])]
    routes["partner_drive_min"] = pd.to_numeric(routes["partner_drive_min"], errors="coerce").round(0).astype("Int64")
    visits = result.visits.copy()
    for c in ("drive_min", "walk_min", "service_min"):
        visits[c] = visits[c].round(0).astype(int)
    visits["lon"] = visits["lon"].round(6)
    visits["lat"] = visits["lat"].round(6)
    visits["marker_type"] = visits["marker_type"].map({k: _(v) for k, v in TYPE_NAMES.items()}).fillna(visits["marker_type"])
    info = result.params.get("lines") or {}
    names = dict(zip(result.lines["line_code"].astype(str), result.lines["name"].astype(str)))
    unr = result.unreachable.reset_index()
    unr["line_code"] = unr["marker_id"].astype(str).str[:4]
    unr["line_name"] = unr["line_code"].map(names)
    codes = sorted(set(visits["line_code"].astype(str)) | set(unr["line_code"]))
    lines = pd.DataFrame([dict(
        line_code=lc, name=names.get(lc, ""), level=info.get(lc, {}).get("level", ""),
        lead_name=info.get(lc, {}).get("lead_name", ""),
        partner_names="、".join(info.get(lc, {}).get("partner_names", [])),
        n_planned=int((visits["line_code"].astype(str) == lc).sum()),
        n_unreachable=int((unr["line_code"] == lc).sum())) for lc in codes], columns=list(LINE_HEADERS))
    return {"routes": routes, "visits": visits, "lines": lines, "unreachable": unr}


def write_plan_xlsx(result, path, *, overwrite: bool = False) -> Path:
    """The campaign plan workbook: 组日安排, 访问顺序, 检查界线, 未安排界桩 (all Chinese).

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> import openpyxl
    >>> openpyxl.load_workbook(write_plan_xlsx(campaign, tmp / "plan.xlsx")).sheetnames
    ['组日安排', '访问顺序', '检查界线', '未安排界桩']
    """
    from openpyxl import Workbook

    from geoplan.inspection.xlsx import save_atomic, write_table

    t = plan_tables(result)
    p = result.params
    wb = Workbook()
    ws = wb.active
    ws.title = _("team-days")
    county = p.get("county_name") or ""
    title = (_("{county} joint boundary inspection plan ({year})").format(county=county, year=p["programme_year"])
             if p.get("programme_year") else _("{county} joint boundary inspection plan").format(county=county))
    write_table(ws, t["routes"], ROUTE_HEADERS, title=title)
    write_table(wb.create_sheet(_("visit order")), t["visits"], VISIT_HEADERS,
                number_formats={"lon": "0.000000", "lat": "0.000000"})
    write_table(wb.create_sheet(_("lines inspected")), t["lines"], LINE_HEADERS)
    write_table(wb.create_sheet(_("markers left out")), t["unreachable"], UNREACHABLE_HEADERS,
                title=_("Markers unreachable or left out: {n}").format(n=len(t["unreachable"])))
    return save_atomic(wb, path, overwrite=overwrite)


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """The per-marker history as the results workbook shows it: rounded numbers, 是/否, dates.

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> list(history_table(imported.history).columns[:5])
    ['marker_id', 'line_code', 'campaign', 'inspected', 'condition']
    """
    h = history.copy()
    h["displacement_m"] = pd.to_numeric(h["displacement_m"], errors="coerce").round(1)
    for c in ("measured_lon", "measured_lat"):
        h[c] = pd.to_numeric(h[c], errors="coerce").round(6)
    for c in ("reference_ok", "lettering_ok"):
        h[c] = h[c].map(_yesno)
    h["inspected"] = pd.to_datetime(h["inspected"]).dt.date
    return h


def write_results_xlsx(imported, path, *, overwrite: bool = False) -> Path:
    """检查记录 (the per-marker history) and 维护工单 (repair work orders) in Chinese.

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> import openpyxl
    >>> openpyxl.load_workbook(write_results_xlsx(imported, tmp / "results.xlsx")).sheetnames
    ['检查记录', '维护工单']
    """
    from openpyxl import Workbook

    from geoplan.inspection.xlsx import save_atomic, write_table

    wb = Workbook()
    ws = wb.active
    ws.title = _("inspection records")
    write_table(ws, history_table(imported.history), HISTORY_HEADERS,
                number_formats={"displacement_m": "0.0", "measured_lon": "0.000000", "measured_lat": "0.000000"})
    rep = imported.repairs.copy()
    rep["displacement_m"] = pd.to_numeric(rep["displacement_m"], errors="coerce").round(1)
    write_table(wb.create_sheet(_("work orders")), rep, REPAIR_HEADERS,
                title=_("Markers needing repair: {n}").format(n=len(rep)),
                number_formats={"displacement_m": "0.0"})
    return save_atomic(wb, path, overwrite=overwrite)


def write_programme_xlsx(programme: pd.DataFrame, path, *, title: str | None = None,
                         overwrite: bool = False) -> Path:
    """The five-year programme: one row per line, and the workload per year.

    Examples
    --------
    >>> import openpyxl
    >>> from geoplan.inspection.programme import line_programme
    >>> prog = line_programme(county["boundary_lines"], county["boundary_markers"], county_code="330624",
    ...                       start_year=2026)
    >>> openpyxl.load_workbook(write_programme_xlsx(prog, tmp / "programme.xlsx")).sheetnames
    ['五年计划', '年度工作量']
    """
    title = title or _("Five-year programme of joint boundary inspections")
    from openpyxl import Workbook

    from geoplan.inspection.programme import programme_summary
    from geoplan.inspection.xlsx import save_atomic, write_table

    wb = Workbook()
    ws = wb.active
    ws.title = _("five-year programme")
    write_table(ws, programme, PROGRAMME_HEADERS, title=title)
    summ = programme_summary(programme)
    write_table(wb.create_sheet(_("workload per year")), summ,
                {"year": N_("programme year"), "lines": N_("lines"), "markers": N_("markers"), "team_days": N_("estimated team-days")})
    return save_atomic(wb, path, overwrite=overwrite)


# --------------------------------------------------------------------------
# Campaign report
# --------------------------------------------------------------------------

@dataclass
class CampaignReport:
    """The campaign's counts and lists, all computed from the imported results.

    Attributes
    ----------
    title : str
    by_condition : pandas.DataFrame
        ``condition``, ``count`` over the markers inspected this campaign.
    repairs_by_action : pandas.DataFrame
        ``action``, ``count``.
    moved : pandas.DataFrame
        Markers moved more than :data:`MOVED_TOLERANCE_M`.
    lines : pandas.DataFrame
        Per line: sides, lead, planned, inspected, counts by condition, repairs, status.
    records : pandas.DataFrame
        The per-marker record (界桩情况记录) of this campaign.
    repairs : pandas.DataFrame

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> rep = campaign_report(campaign, imported)
    >>> rep.by_condition.set_index("condition")["count"].to_dict(), len(rep.repairs)
    ({'完好': 37, '损坏': 1, '移位': 0, '丢失': 0, '字迹不清': 0, '被掩埋': 0}, 1)
    """

    title: str
    campaign: str
    by_condition: pd.DataFrame
    repairs_by_action: pd.DataFrame
    moved: pd.DataFrame
    lines: pd.DataFrame
    records: pd.DataFrame
    repairs: pd.DataFrame
    meta: dict = field(default_factory=dict)


def campaign_report(result, imported) -> CampaignReport:
    """Count what the imported forms of ``result``'s campaign say, per condition, repair kind and line.

    Every count is taken from ``imported.history`` rows of this campaign
    (all imports so far), so the report agrees with the results whatever
    order the forms came in.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    All forms come back, every marker intact but the first, found moved 10 m:

    >>> from geoplan.inspection.forms import form_table
    >>> from geoplan.inspection.results import import_results
    >>> from geoplan.output import write_csv
    >>> forms = form_table(campaign)
    >>> forms["condition"], forms["inspected"] = "完好", "2026-09-01"
    >>> first = forms.index[0]
    >>> lon, lat = forms.loc[first, ["lon", "lat"]].astype(float)
    >>> forms.loc[first, ["condition", "measured_lon", "measured_lat"]] = ["移位", f"{lon + 1e-4:.6f}", f"{lat:.6f}"]
    >>> rep = campaign_report(campaign, import_results(campaign, write_csv(forms, tmp / "filled.csv")))
    >>> len(rep.records) == len(forms), len(rep.moved), rep.by_condition.columns.tolist()
    (True, 1, ['condition', 'count'])
    """
    from geoplan.inspection.results import campaign_id, work_orders

    campaign = campaign_id(result)
    h = imported.history
    rec = h[h["campaign"].astype(str) == campaign].copy()
    by_cond = pd.DataFrame({"condition": list(MARKER_CONDITIONS),
                            "count": [int((rec["condition"] == c).sum()) for c in MARKER_CONDITIONS]})
    # the whole campaign's work orders, whichever import brought each form
    rep = work_orders(rec)
    kinds = ["维护", "重建", "补设", "复位"]
    by_action = pd.DataFrame({"action": kinds, "count": [int((rep["action"] == k).sum()) for k in kinds]})
    disp = pd.to_numeric(rec["displacement_m"], errors="coerce")
    moved = rec[(rec["condition"] == "移位") & (disp > MOVED_TOLERANCE_M)][
        ["marker_id", "line_code", "displacement_m", "measured_lon", "measured_lat"]].copy()
    moved["displacement_m"] = moved["displacement_m"].round(1)
    info = result.params.get("lines") or {}
    names = dict(zip(result.lines["line_code"].astype(str), result.lines["name"].astype(str)))
    planned = result.visits.groupby(result.visits["line_code"].astype(str)).size()
    unr = result.unreachable.index.astype(str).str[:4].value_counts()
    rows = []
    for lc in sorted(set(planned.index) | set(unr.index)):
        r = rec[rec["line_code"].astype(str) == lc]
        n_plan, n_done = int(planned.get(lc, 0)), len(r)
        n_rep = int((rep["line_code"].astype(str) == lc).sum())
        row = dict(line_code=lc, name=names.get(lc, ""), lead=info.get(lc, {}).get("lead_name", ""),
                   partners="、".join(info.get(lc, {}).get("partner_names", [])),
                   planned=n_plan, unreachable=int(unr.get(lc, 0)), inspected=n_done)
        for c in MARKER_CONDITIONS:
            row[c] = int((r["condition"] == c).sum())
        row["repairs"] = n_rep
        left = n_plan + int(unr.get(lc, 0)) - n_done
        row["status"] = (_("not finished ({n} markers not yet inspected)").format(n=left) if left > 0 else
                         _("finished, {n} markers need repair").format(n=n_rep) if n_rep else
                         _("finished, every marker intact"))
        rows.append(row)
    lines = pd.DataFrame(rows)
    p = result.params
    county = p.get("county_name") or ""
    title = (_("{county} joint boundary inspection report ({year})").format(county=county, year=p["programme_year"])
             if p.get("programme_year") else _("{county} joint boundary inspection report").format(county=county))
    # the record shows the action the work orders settled on where the form left it empty
    act = rep.set_index("marker_id")["action"]
    rec["action"] = [a if a else act.get(m, "") for m, a in zip(rec["marker_id"], rec["action"].fillna(""))]
    rep_out = rep.copy()
    rep_out["displacement_m"] = pd.to_numeric(rep_out["displacement_m"], errors="coerce").round(1)
    return CampaignReport(title, campaign, by_cond, by_action, moved, lines, history_table(rec), rep_out,
                          dict(start=str(p.get("start_date", "")), n_inspected=len(rec),
                               n_planned=len(result.visits), n_unreachable=len(result.unreachable)))


LINE_STATUS_HEADERS = {"line_code": N_("line code"), "name": N_("line name"), "lead": N_("lead side"), "partners": N_("other side"),
                       "planned": N_("planned"), "unreachable": N_("unreachable"), "inspected": N_("inspected"),
                       **{c: c for c in MARKER_CONDITIONS}, "repairs": N_("need repair"), "status": N_("line status")}


def write_report_xlsx(report: CampaignReport, path, *, overwrite: bool = False) -> Path:
    """The campaign report workbook: 汇总, 界线状况, 界桩情况记录, 维护工单, 移位界桩.

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> import openpyxl
    >>> p = write_report_xlsx(campaign_report(campaign, imported), tmp / "report.xlsx")
    >>> openpyxl.load_workbook(p).sheetnames
    ['汇总', '界线状况', '界桩情况记录', '维护工单', '移位界桩']
    """
    from openpyxl import Workbook

    from geoplan.inspection.xlsx import save_atomic, write_table

    wb = Workbook()
    ws = wb.active
    ws.title = _("overview")
    summary = pd.concat([
        report.by_condition.assign(item=[shown("condition", v) for v in report.by_condition["condition"]],
                                   kind=_("marker condition")),
        report.repairs_by_action.assign(item=[shown("action", v) for v in report.repairs_by_action["action"]],
                                        kind=_("action")),
        pd.DataFrame([{"kind": _("moved too far"), "item": _("moved more than {metres:g} m").format(
            metres=MOVED_TOLERANCE_M), "count": len(report.moved)}]),
    ], ignore_index=True)
    write_table(ws, summary, {"kind": N_("group"), "item": N_("entry"), "count": N_("count of markers")},
                title=_("{title}　{n} markers inspected").format(title=report.title, n=report.meta["n_inspected"]))
    write_table(wb.create_sheet(_("line status")), report.lines, LINE_STATUS_HEADERS)
    write_table(wb.create_sheet(_("marker records")), report.records, HISTORY_HEADERS,
                number_formats={"displacement_m": "0.0", "measured_lon": "0.000000", "measured_lat": "0.000000"})
    write_table(wb.create_sheet(_("work orders")), report.repairs, REPAIR_HEADERS, number_formats={"displacement_m": "0.0"})
    write_table(wb.create_sheet(_("moved markers")), report.moved,
                {"marker_id": N_("marker ID"), "line_code": N_("line code"), "displacement_m": N_("displacement (m)"),
                 "measured_lon": N_("measured longitude"), "measured_lat": N_("measured latitude")}, number_formats={"displacement_m": "0.0"})
    return save_atomic(wb, path, overwrite=overwrite)


def write_report_pdf(report: CampaignReport, path, *, overwrite: bool = False) -> Path:
    """Print-ready A4 report: a summary page, then one joint record page per line (界线联合检查记录).

    Examples
    --------
    ``campaign`` is the 新昌县 sample's 2026 campaign and ``imported`` its forms back from the field
    (all 完好 but one marker 损坏; line 3140 still out); recipes in ``geoplan/conftest.py``.


    >>> import dataclasses
    >>> rep = campaign_report(campaign, imported)
    >>> p = write_report_pdf(dataclasses.replace(rep, lines=rep.lines.head(1)), tmp / "report.pdf")  # one line
    >>> p.read_bytes()[:5], p.stat().st_size > 10_000
    (b'%PDF-', True)
    """
    import matplotlib

    from geoplan.maps.print import cjk_rc

    with matplotlib.rc_context(cjk_rc()):
        return _write_report_pdf(report, path, overwrite=overwrite)


def _table(ax, cells, col_widths, header=True, fontsize=10, row_h=0.05):
    ax.axis("off")
    t = ax.table(cellText=cells, loc="upper center", cellLoc="center", colWidths=col_widths)
    t.auto_set_font_size(False)
    t.set_fontsize(fontsize)
    for (i, j), cell in t.get_celld().items():
        cell.set_height(row_h)
        cell.set_linewidth(0.6)
        if header and i == 0:
            cell.set_facecolor("0.88")
            cell.get_text().set_fontweight("bold")
    return t


def _write_report_pdf(report: CampaignReport, path, overwrite: bool = False) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from geoplan.inspection.xlsx import atomic_path

    A4 = (8.27, 11.69)
    with atomic_path(path, overwrite=overwrite) as tmp, PdfPages(tmp) as pdf:
        fig = plt.figure(figsize=A4)
        fig.text(0.5, 0.95, report.title, ha="center", fontsize=17, fontweight="bold")
        m = report.meta
        fig.text(0.08, 0.91, _("Campaign: {campaign}　　markers planned {planned}, inspected {inspected}, "
                               "unreachable {unreachable}").format(campaign=report.campaign, planned=m["n_planned"],
                                                                  inspected=m["n_inspected"],
                                                                  unreachable=m["n_unreachable"]), fontsize=10)
        fig.text(0.08, 0.875, _("1. Condition of the markers"), fontsize=12, fontweight="bold")
        cells = [[_("marker condition")] + [shown("condition", c) for c in report.by_condition["condition"]],
                 [_("count of markers")] + [str(v) for v in report.by_condition["count"]]]
        _table(fig.add_axes([0.08, 0.76, 0.84, 0.1]), cells, [0.16] + [0.14] * len(report.by_condition),
               row_h=0.4)
        fig.text(0.08, 0.74, _("2. Repairs"), fontsize=12, fontweight="bold")
        cells = [[_("action")] + [shown("action", a) for a in report.repairs_by_action["action"]]
                 + [_("moved too far")],
                 [_("count of markers")] + [str(v) for v in report.repairs_by_action["count"]] + [str(len(report.moved))]]
        _table(fig.add_axes([0.08, 0.625, 0.84, 0.1]), cells, [0.2] + [0.16] * 5, row_h=0.4)
        fig.text(0.08, 0.605, _("3. The lines"), fontsize=12, fontweight="bold")
        cells = [[_("line"), _("lead side"), _("planned"), _("inspected"), _("need repair"), _("line status")]]
        for r in report.lines.head(24).itertuples():
            cells.append([f"{r.line_code} {r.name}", r.lead, str(r.planned), str(r.inspected), str(r.repairs),
                          r.status])
        _table(fig.add_axes([0.05, 0.05, 0.9, 0.54]), cells, [0.27, 0.12, 0.07, 0.08, 0.08, 0.38],
               fontsize=8, row_h=0.04)
        if len(report.lines) > 24:
            fig.text(0.08, 0.03, _("{n} more lines: see the sheet “{sheet}” of the report workbook.").format(
                n=len(report.lines) - 24, sheet=_("line status")), fontsize=8)
        pdf.savefig(fig)
        plt.close(fig)
        for r in report.lines.itertuples():
            fig = plt.figure(figsize=A4)
            fig.text(0.5, 0.95, _("Joint boundary inspection record"), ha="center", fontsize=17, fontweight="bold")
            fig.text(0.08, 0.91, _("Line: {code} {name}").format(code=r.line_code, name=r.name), fontsize=11)
            fig.text(0.08, 0.885, _("Lead side: {lead}　　other side: {partners}").format(lead=r.lead, partners=r.partners),
                     fontsize=10)
            fig.text(0.08, 0.86, _("{planned} planned, {inspected} inspected, {unreachable} unreachable; {status}").format(
                planned=r.planned, inspected=r.inspected, unreachable=r.unreachable, status=r.status), fontsize=10)
            rec = report.records[report.records["line_code"].astype(str) == r.line_code]
            cells = [[_("marker ID"), _("inspection date"), _("condition"), _("displacement (m)"), _("action"),
                      _("photo numbers")]]
            for x in rec.head(30).itertuples():
                d = "" if pd.isna(x.displacement_m) else f"{x.displacement_m:.1f}"
                cells.append([x.marker_id, str(x.inspected), shown("condition", x.condition), d,
                              shown("action", x.action) or "", str(x.photos)[:16]])
            _table(fig.add_axes([0.08, 0.2, 0.84, 0.64]), cells, [0.16, 0.16, 0.14, 0.14, 0.14, 0.26],
                   fontsize=9, row_h=0.03)
            if len(rec) > 30:
                fig.text(0.08, 0.19, _("{n} more markers: see the sheet “{sheet}” of the report workbook.").format(
                    n=len(rec) - 30, sheet=_("marker records")), fontsize=8)
            fig.text(0.08, 0.12, _("Opinions of both sides:"), fontsize=10)
            fig.text(0.08, 0.06, _("Lead side's representative (signature): ＿＿＿＿＿＿　　other side's representative "
                                   "(signature): ＿＿＿＿＿＿　　date: ＿＿＿＿"), fontsize=10)
            pdf.savefig(fig)
            plt.close(fig)
    return Path(path)
