"""Record forms (界桩检查记录表) as PDF and XLSX, and GPX files for handheld GPS.

The XLSX has one row per marker to visit, in visit order, with the registered
data on the left and the fields the two sides fill in on the right; it is
also the format :func:`geoplan.inspection.planning.import_results` reads back (as
XLSX or saved as CSV). The PDF has one A4 page per marker for filling in by
hand in the field. The GPX has, per team-day, the base and markers as
waypoints, the visit order as a route and the road path as a track.

Examples in this module use ``campaign = gp.plan_for_county(county, time_limit=1,
start_date="2026-09-01")``, ``tmp`` (an empty folder) (``import geoplan as gp``); pytest builds them
once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from geoplan.errors import GeoplanError
from geoplan.layers.schema import MARKER_CONDITIONS
from geoplan.output import check_targets, write_bytes

#: (column, Chinese header) of the record form, registered data first.
FORM_COLUMNS = [
    ("route_id", "组日"), ("date", "计划日期"), ("order", "顺序"), ("marker_id", "界桩编号"),
    ("marker_type", "界桩类型"), ("line_code", "界线编号"), ("line_name", "界线名称"),
    ("lon", "登记经度"), ("lat", "登记纬度"),
    # filled in the field
    ("condition", "界桩状况"), ("measured_lon", "实测经度"), ("measured_lat", "实测纬度"),
    ("reference_ok", "方位物完好"), ("lettering_ok", "字迹清晰"), ("action", "处理意见"), ("photos", "照片编号"),
    ("inspected", "检查日期"), ("remarks", "备注"), ("signature_a", "甲方签字"), ("signature_b", "乙方签字"),
]
FILL_IN = ("condition", "measured_lon", "measured_lat", "reference_ok", "lettering_ok", "action", "photos",
           "inspected", "remarks", "signature_a", "signature_b")
#: 处理意见 choices on the form (无 = nothing to do).
ACTION_CHOICES = ("无", "维护", "重建", "补设", "复位")
TYPE_NAMES = {"A": "同号双立(A)", "B": "同号双立(B)", "C": "同号三立(C)", "D": "同号三立(D)", "E": "同号三立(E)",
              "Q": "单立(Q)"}


class FormError(GeoplanError):
    """A form or GPX file cannot be written.

    Examples
    --------
    >>> issubclass(FormError, GeoplanError)
    True
    """


def form_table(result) -> pd.DataFrame:
    """The record-form rows of a plan: registered data plus empty fill-in columns.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> f = form_table(campaign)
    >>> len(f) == len(campaign.visits), list(f.columns[:4])
    (True, ['route_id', 'date', 'order', 'marker_id'])
    """
    v = result.visits
    lines = result.lines.set_index(result.lines["line_code"].astype(str))["name"].astype(str).to_dict()
    out = pd.DataFrame({
        "route_id": v["route_id"], "date": v["date"].astype(str), "order": v["order"],
        "marker_id": v["marker_id"], "marker_type": v["marker_type"].map(TYPE_NAMES),
        "line_code": v["line_code"], "line_name": v["line_code"].map(lines),
        "lon": v["lon"].round(6), "lat": v["lat"].round(6),
    })
    for c in FILL_IN:
        out[c] = ""
    return out


def write_forms_xlsx(result, path, *, overwrite: bool = False) -> Path:
    """Write the record forms as one XLSX sheet (one row per marker) with drop-down lists.

    Row 1 holds the Chinese headers (the only header row; it is what
    :func:`geoplan.inspection.results.import_results` matches). The sheet
    prints on landscape A4 fitted to one page width with the header row on
    every page; the columns the teams fill in are shaded.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> import openpyxl
    >>> ws = openpyxl.load_workbook(write_forms_xlsx(campaign, tmp / "forms.xlsx")).active
    >>> ws.max_row - 1 == len(campaign.visits), ws.title
    (True, '检查记录')
    """
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from geoplan.inspection.xlsx import save_atomic, write_table

    df = form_table(result)
    wb = Workbook()
    ws = wb.active
    ws.title = "检查记录"
    write_table(ws, df, dict(FORM_COLUMNS), number_formats={"lon": "0.000000", "lat": "0.000000"})
    fill = PatternFill("solid", fgColor="FFF2CC")
    widths = {"condition": 10, "measured_lon": 12, "measured_lat": 12, "photos": 12, "inspected": 11,
              "remarks": 20, "signature_a": 10, "signature_b": 10}
    for j, (name, _) in enumerate(FORM_COLUMNS, start=1):
        letter = ws.cell(1, j).column_letter
        if name in FILL_IN:
            ws.cell(1, j).fill = fill
            # empty fill-in columns still need room for handwriting
            ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width, widths.get(name, 9))
    n = len(df) + 1
    col = {name: ws.cell(1, j).column_letter for j, (name, _) in enumerate(FORM_COLUMNS, start=1)}
    cond = DataValidation(type="list", formula1='"' + ",".join(MARKER_CONDITIONS) + '"', allow_blank=True)
    yesno = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    act = DataValidation(type="list", formula1='"' + ",".join(ACTION_CHOICES) + '"', allow_blank=True)
    for dv in (cond, yesno, act):
        ws.add_data_validation(dv)
    cond.add(f"{col['condition']}2:{col['condition']}{n}")
    act.add(f"{col['action']}2:{col['action']}{n}")
    for c in ("reference_ok", "lettering_ok"):
        yesno.add(f"{col[c]}2:{col[c]}{n}")
    ws.freeze_panes = "E2"
    return save_atomic(wb, path, overwrite=overwrite)


def write_forms_pdf(result, path, *, overwrite: bool = False) -> Path:
    """Write one A4 record form page per marker, for filling in by hand.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> import dataclasses
    >>> first = dataclasses.replace(campaign, visits=campaign.visits.head(1))  # one page is enough here
    >>> p = write_forms_pdf(first, tmp / "forms.pdf")
    >>> p.read_bytes()[:5], p.stat().st_size > 10_000
    (b'%PDF-', True)
    """
    import matplotlib

    from geoplan.maps.print import cjk_rc

    with matplotlib.rc_context(cjk_rc()):
        return _write_forms_pdf(result, path, overwrite=overwrite)


def _write_forms_pdf(result, path, overwrite: bool = False) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    df = form_table(result)
    areas = result.areas
    lines = result.lines.set_index(result.lines["line_code"].astype(str))
    from geoplan.inspection.xlsx import atomic_path

    with atomic_path(path, overwrite=overwrite) as tmp, PdfPages(tmp) as pdf:
        for row in df.itertuples(index=False):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.5, 0.94, "界桩登记表（联合检查记录）", ha="center", fontsize=18, fontweight="bold")
            ln = lines.loc[row.line_code] if row.line_code in lines.index else None
            sides = (f"{areas.get(str(ln['left_code']), ln['left_code'])} / {areas.get(str(ln['right_code']), ln['right_code'])}"
                     if ln is not None else "")
            cells = [
                ["界桩编号", row.marker_id, "界桩类型", row.marker_type],
                ["界线", f"{row.line_code} {row.line_name}", "双方", sides],
                ["登记经度", f"{row.lon:.6f}", "登记纬度", f"{row.lat:.6f}"],
                ["组日 / 顺序", f"{row.route_id} / {row.order}", "计划日期", row.date],
                ["界桩状况", "□完好 □损坏 □移位 □丢失\n□字迹不清 □被掩埋", "检查日期", ""],
                ["实测经度", "", "实测纬度", ""],
                ["方位物完好", "□是  □否", "字迹清晰", "□是  □否"],
                ["处理意见", "□无 □维护 □重建 □补设 □复位", "位移（米）", ""],
                ["方位物记录", "", "", ""],
                ["照片编号", "", "", ""],
                ["备注", "", "", ""],
                ["甲方检查人签字", "", "乙方检查人签字", ""],
            ]
            ax = fig.add_axes([0.06, 0.12, 0.88, 0.78])
            ax.axis("off")
            t = ax.table(cellText=cells, loc="upper center", cellLoc="left", colWidths=[0.18, 0.34, 0.16, 0.32])
            t.auto_set_font_size(False)
            t.set_fontsize(10)
            for (i, j), cell in t.get_celld().items():
                cell.set_height(0.085 if i in (8, 10) else 0.06)
                cell.set_linewidth(0.8)
                if j in (0, 2):
                    cell.set_facecolor("0.9")
                    cell.get_text().set_fontweight("bold")
            fig.text(0.06, 0.06, "说明: 移位界桩须填写实测坐标 (CGCS2000 经纬度); 照片编号写相机或手机的文件编号。"
                                 "本表由双方各执一份。", fontsize=8, color="0.3")
            pdf.savefig(fig)
            plt.close(fig)
    return Path(path)


def write_gpx(result, folder, *, overwrite: bool = False) -> list[Path]:
    """Write one GPX 1.1 file per team-day: waypoints, the route in visit order and the road track.

    Returns the written paths.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> files = write_gpx(campaign, tmp)
    >>> len(files) == len(campaign.routes), files[0].suffix
    (True, '.gpx')
    """
    ns = "http://www.topografix.com/GPX/1/1"
    ET.register_namespace("", ns)
    out = []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # every file is checked before the first is written: a refusal leaves the folder as it was
    check_targets([folder / f"{r.route_id}.gpx" for r in result.routes.itertuples()], overwrite=overwrite)
    bases = result.bases.set_index(result.bases["base_id"].astype(str))
    for r in result.routes.itertuples():
        gpx = ET.Element(f"{{{ns}}}gpx", version="1.1", creator="geoplan")
        meta = ET.SubElement(gpx, f"{{{ns}}}metadata")
        ET.SubElement(meta, f"{{{ns}}}name").text = f"{r.route_id} {r.team} {r.date}"
        vis = result.visits[result.visits.route_id == r.route_id]
        pts = []
        if str(r.base_id) in bases.index:
            g = bases.loc[str(r.base_id)].geometry
            pts.append((g.x, g.y, str(r.base_name), "出发地"))
        pts += [(v.lon, v.lat, v.marker_id, f"{v.order}. {v.marker_type} {v.arrival}") for v in vis.itertuples()]
        for x, y, name, desc in pts:
            w = ET.SubElement(gpx, f"{{{ns}}}wpt", lat=f"{y:.7f}", lon=f"{x:.7f}")
            ET.SubElement(w, f"{{{ns}}}name").text = name
            ET.SubElement(w, f"{{{ns}}}desc").text = desc
        rte = ET.SubElement(gpx, f"{{{ns}}}rte")
        ET.SubElement(rte, f"{{{ns}}}name").text = r.route_id
        for x, y, name, _ in pts + pts[:1]:
            p = ET.SubElement(rte, f"{{{ns}}}rtept", lat=f"{y:.7f}", lon=f"{x:.7f}")
            ET.SubElement(p, f"{{{ns}}}name").text = name
        leg = 1
        trk = ET.SubElement(gpx, f"{{{ns}}}trk")
        ET.SubElement(trk, f"{{{ns}}}name").text = f"{r.route_id} 道路路线"
        seg = ET.SubElement(trk, f"{{{ns}}}trkseg")
        while (r.route_id, leg) in result.paths:
            for x, y in result.paths[(r.route_id, leg)]:
                ET.SubElement(seg, f"{{{ns}}}trkpt", lat=f"{y:.7f}", lon=f"{x:.7f}")
            leg += 1
        path = folder / f"{r.route_id}.gpx"
        write_bytes(ET.tostring(gpx, encoding="utf-8", xml_declaration=True), path, overwrite=overwrite)
        out.append(path)
    return out
