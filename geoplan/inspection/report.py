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

from geoplan.inspection.selection import MOVED_TOLERANCE_M
from geoplan.layers.schema import MARKER_CONDITIONS

ROUTE_HEADERS = {
    "route_id": "组日编号", "team": "检查组", "base_name": "出发地", "date": "日期", "lines": "界线编号",
    "n_markers": "界桩数", "drive_min": "驾车（分钟）", "walk_min": "步行（分钟）", "service_min": "检查（分钟）",
    "total_min": "全天（分钟）", "start": "出发", "end": "返回", "lead": "牵头方", "partners": "对方",
    "meet_at": "会合界桩", "meet_time": "会合时间", "partner_drive_min": "对方车程估算（分钟）",
    "partner_leave": "对方最迟出发",
}
VISIT_HEADERS = {
    "route_id": "组日编号", "date": "日期", "order": "顺序", "stop": "停靠点", "marker_id": "界桩编号",
    "marker_type": "类型", "line_code": "界线编号", "lon": "经度", "lat": "纬度", "arrival": "到达",
    "drive_min": "驾车（分钟）", "walk_min": "步行往返（分钟）", "service_min": "检查（分钟）", "departure": "离开",
}
LINE_HEADERS = {
    "line_code": "界线编号", "name": "界线名称", "level": "级别", "lead_name": "牵头方", "partner_names": "对方",
    "n_planned": "计划检查界桩", "n_unreachable": "无法到达",
}
UNREACHABLE_HEADERS = {"marker_id": "界桩编号", "line_code": "界线编号", "line_name": "界线名称", "reason": "原因"}
HISTORY_HEADERS = {
    "marker_id": "界桩编号", "line_code": "界线编号", "campaign": "检查批次", "inspected": "检查日期",
    "condition": "界桩状况", "displacement_m": "位移（米）", "measured_lon": "实测经度", "measured_lat": "实测纬度",
    "reference_ok": "方位物完好", "lettering_ok": "字迹清晰", "action": "处理意见", "photos": "照片编号",
    "remarks": "备注",
}
REPAIR_HEADERS = {"marker_id": "界桩编号", "line_code": "界线编号", "condition": "界桩状况",
                  "displacement_m": "位移（米）", "action": "处理意见", "work": "维护内容"}
PROGRAMME_HEADERS = {
    "year": "检查年度", "line_code": "界线编号", "name": "界线名称", "level": "级别", "partner": "对方",
    "lead": "牵头方", "last_year": "上次联检", "due_year": "应检年度", "n_markers": "界桩数",
    "length_km": "长度（公里）", "team_days": "估算组日", "reason": "安排说明",
}
TYPE_NAMES = {"A": "同号双立", "B": "同号双立", "C": "同号三立", "D": "同号三立", "E": "同号三立", "Q": "单立"}


def _yesno(v):
    return "是" if v is True else "否" if v is False else ""


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
    visits["marker_type"] = visits["marker_type"].map(TYPE_NAMES).fillna(visits["marker_type"])
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
    ws.title = "组日安排"
    title = (f"{p.get('county_name') or ''}界线联合检查计划"
             + (f"（{p['programme_year']}年度）" if p.get("programme_year") else ""))
    write_table(ws, t["routes"], ROUTE_HEADERS, title=title)
    write_table(wb.create_sheet("访问顺序"), t["visits"], VISIT_HEADERS,
                number_formats={"lon": "0.000000", "lat": "0.000000"})
    write_table(wb.create_sheet("检查界线"), t["lines"], LINE_HEADERS)
    write_table(wb.create_sheet("未安排界桩"), t["unreachable"], UNREACHABLE_HEADERS,
                title=f"无法到达或未安排的界桩：{len(t['unreachable'])} 个")
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
    ws.title = "检查记录"
    write_table(ws, history_table(imported.history), HISTORY_HEADERS,
                number_formats={"displacement_m": "0.0", "measured_lon": "0.000000", "measured_lat": "0.000000"})
    rep = imported.repairs.copy()
    rep["displacement_m"] = pd.to_numeric(rep["displacement_m"], errors="coerce").round(1)
    write_table(wb.create_sheet("维护工单"), rep, REPAIR_HEADERS, title=f"需维护界桩：{len(rep)} 个",
                number_formats={"displacement_m": "0.0"})
    return save_atomic(wb, path, overwrite=overwrite)


def write_programme_xlsx(programme: pd.DataFrame, path, *, title: str = "界线联合检查五年计划",
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
    from openpyxl import Workbook

    from geoplan.inspection.programme import programme_summary
    from geoplan.inspection.xlsx import save_atomic, write_table

    wb = Workbook()
    ws = wb.active
    ws.title = "五年计划"
    write_table(ws, programme, PROGRAMME_HEADERS, title=title)
    summ = programme_summary(programme)
    write_table(wb.create_sheet("年度工作量"), summ,
                {"year": "年度", "lines": "界线条数", "markers": "界桩数", "team_days": "估算组日"})
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
        row["status"] = (f"未完成（尚有 {left} 个界桩未检查）" if left > 0 else
                         f"已完成，{n_rep} 个界桩需维护" if n_rep else "已完成，界桩全部完好")
        rows.append(row)
    lines = pd.DataFrame(rows)
    p = result.params
    title = f"{p.get('county_name') or ''}界线联合检查报告" + (f"（{p['programme_year']}年度）"
                                                        if p.get("programme_year") else "")
    # the record shows the action the work orders settled on where the form left it empty
    act = rep.set_index("marker_id")["action"]
    rec["action"] = [a if a else act.get(m, "") for m, a in zip(rec["marker_id"], rec["action"].fillna(""))]
    rep_out = rep.copy()
    rep_out["displacement_m"] = pd.to_numeric(rep_out["displacement_m"], errors="coerce").round(1)
    return CampaignReport(title, campaign, by_cond, by_action, moved, lines, history_table(rec), rep_out,
                          dict(start=str(p.get("start_date", "")), n_inspected=len(rec),
                               n_planned=len(result.visits), n_unreachable=len(result.unreachable)))


LINE_STATUS_HEADERS = {"line_code": "界线编号", "name": "界线名称", "lead": "牵头方", "partners": "对方",
                       "planned": "计划", "unreachable": "无法到达", "inspected": "已检查",
                       **{c: c for c in MARKER_CONDITIONS}, "repairs": "需维护", "status": "界线状况"}


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
    ws.title = "汇总"
    summary = pd.concat([
        report.by_condition.rename(columns={"condition": "item"}).assign(kind="界桩状况"),
        report.repairs_by_action.rename(columns={"action": "item"}).assign(kind="处理意见"),
        pd.DataFrame([{"kind": "位移超限", "item": f"位移大于 {MOVED_TOLERANCE_M:g} 米", "count": len(report.moved)}]),
    ], ignore_index=True)
    write_table(ws, summary, {"kind": "类别", "item": "项目", "count": "个数"},
                title=f"{report.title}　检查界桩 {report.meta['n_inspected']} 个")
    write_table(wb.create_sheet("界线状况"), report.lines, LINE_STATUS_HEADERS)
    write_table(wb.create_sheet("界桩情况记录"), report.records, HISTORY_HEADERS,
                number_formats={"displacement_m": "0.0", "measured_lon": "0.000000", "measured_lat": "0.000000"})
    write_table(wb.create_sheet("维护工单"), report.repairs, REPAIR_HEADERS, number_formats={"displacement_m": "0.0"})
    write_table(wb.create_sheet("移位界桩"), report.moved,
                {"marker_id": "界桩编号", "line_code": "界线编号", "displacement_m": "位移（米）",
                 "measured_lon": "实测经度", "measured_lat": "实测纬度"}, number_formats={"displacement_m": "0.0"})
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
        fig.text(0.08, 0.91, f"检查批次：{report.campaign}　　计划界桩 {m['n_planned']} 个，"
                             f"已检查 {m['n_inspected']} 个，无法到达 {m['n_unreachable']} 个", fontsize=10)
        fig.text(0.08, 0.875, "一、界桩状况", fontsize=12, fontweight="bold")
        cells = [["界桩状况"] + list(report.by_condition["condition"]),
                 ["个数"] + [str(v) for v in report.by_condition["count"]]]
        _table(fig.add_axes([0.08, 0.76, 0.84, 0.1]), cells, [0.16] + [0.14] * len(report.by_condition),
               row_h=0.4)
        fig.text(0.08, 0.74, "二、维护工作", fontsize=12, fontweight="bold")
        cells = [["处理意见"] + list(report.repairs_by_action["action"]) + ["位移超限"],
                 ["个数"] + [str(v) for v in report.repairs_by_action["count"]] + [str(len(report.moved))]]
        _table(fig.add_axes([0.08, 0.625, 0.84, 0.1]), cells, [0.2] + [0.16] * 5, row_h=0.4)
        fig.text(0.08, 0.605, "三、各界线情况", fontsize=12, fontweight="bold")
        cells = [["界线", "牵头方", "计划", "已检查", "需维护", "界线状况"]]
        for r in report.lines.head(24).itertuples():
            cells.append([f"{r.line_code} {r.name}", r.lead, str(r.planned), str(r.inspected), str(r.repairs),
                          r.status])
        _table(fig.add_axes([0.05, 0.05, 0.9, 0.54]), cells, [0.27, 0.12, 0.07, 0.08, 0.08, 0.38],
               fontsize=8, row_h=0.04)
        if len(report.lines) > 24:
            fig.text(0.08, 0.03, f"另有 {len(report.lines) - 24} 条界线见报告工作簿“界线状况”表。", fontsize=8)
        pdf.savefig(fig)
        plt.close(fig)
        for r in report.lines.itertuples():
            fig = plt.figure(figsize=A4)
            fig.text(0.5, 0.95, "界线联合检查记录", ha="center", fontsize=17, fontweight="bold")
            fig.text(0.08, 0.91, f"界线：{r.line_code} {r.name}", fontsize=11)
            fig.text(0.08, 0.885, f"牵头方：{r.lead}　　对方：{r.partners}", fontsize=10)
            fig.text(0.08, 0.86, f"计划检查 {r.planned} 个，已检查 {r.inspected} 个，无法到达 {r.unreachable} 个；"
                                 f"{r.status}", fontsize=10)
            rec = report.records[report.records["line_code"].astype(str) == r.line_code]
            cells = [["界桩编号", "检查日期", "状况", "位移（米）", "处理意见", "照片编号"]]
            for x in rec.head(30).itertuples():
                d = "" if pd.isna(x.displacement_m) else f"{x.displacement_m:.1f}"
                cells.append([x.marker_id, str(x.inspected), x.condition, d, x.action or "", str(x.photos)[:16]])
            _table(fig.add_axes([0.08, 0.2, 0.84, 0.64]), cells, [0.16, 0.16, 0.14, 0.14, 0.14, 0.26],
                   fontsize=9, row_h=0.03)
            if len(rec) > 30:
                fig.text(0.08, 0.19, f"另有 {len(rec) - 30} 个界桩见报告工作簿“界桩情况记录”表。", fontsize=8)
            fig.text(0.08, 0.12, "双方意见：", fontsize=10)
            fig.text(0.08, 0.06, "牵头方代表（签字）：＿＿＿＿＿＿　　对方代表（签字）：＿＿＿＿＿＿　　"
                                 "日期：＿＿＿＿", fontsize=10)
            pdf.savefig(fig)
            plt.close(fig)
    return Path(path)
