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

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from geoplan.errors import GeoplanError
from geoplan.i18n import LANGUAGES, N_, _, catalog, current_language
from geoplan.layers.schema import MARKER_CONDITIONS
from geoplan.output import check_targets, write_bytes

#: (column, header) of the record form, registered data first; the header a message id, translated where
#: the form is written (:func:`form_header`), and read back in either language (:func:`header_columns`).
FORM_COLUMNS = [
    ("route_id", N_("team and day")), ("date", N_("planned date")), ("order", N_("order")),
    ("marker_id", N_("marker ID")), ("marker_type", N_("type of marker")), ("line_code", N_("line code")),
    ("line_name", N_("line name")), ("lon", N_("registered longitude")), ("lat", N_("registered latitude")),
    # filled in the field
    ("condition", N_("marker condition")), ("measured_lon", N_("measured longitude")),
    ("measured_lat", N_("measured latitude")), ("reference_ok", N_("reference objects intact")),
    ("lettering_ok", N_("lettering legible")), ("action", N_("action")), ("photos", N_("photo numbers")),
    ("inspected", N_("inspection date")), ("remarks", N_("remarks")), ("signature_a", N_("signature, side A")),
    ("signature_b", N_("signature, side B")),
]
FILL_IN = ("condition", "measured_lon", "measured_lat", "reference_ok", "lettering_ok", "action", "photos",
           "inspected", "remarks", "signature_a", "signature_b")
#: 处理意见 choices on the form (无 = nothing to do), as stored; :data:`ACTION_TEXT` as a person reads them.
ACTION_CHOICES = ("无", "维护", "重建", "补设", "复位")
ACTION_TEXT = {"无": N_("none"), "维护": N_("maintain"), "重建": N_("rebuild"), "补设": N_("set anew"),
               "复位": N_("reset")}
#: the marker conditions (stored in Chinese, :data:`geoplan.layers.schema.MARKER_CONDITIONS`) as a person reads
#: them; the English words are the schema's aliases, so a form filled in English is read back.
CONDITION_TEXT = {"完好": N_("intact"), "损坏": N_("damaged"), "移位": N_("moved"), "丢失": N_("missing"),
                  "字迹不清": N_("illegible"), "被掩埋": N_("buried")}
#: the marker types by the letter of the ID ({letter}: the letter itself)
TYPE_TEXT = {"A": N_("pair, same number ({letter})"), "B": N_("pair, same number ({letter})"),
             "C": N_("triple, same number ({letter})"), "D": N_("triple, same number ({letter})"),
             "E": N_("triple, same number ({letter})"), "Q": N_("single ({letter})")}
#: (kept for callers) the types in Chinese, as the form shows them in Chinese mode
TYPE_NAMES = {k: catalog("zh_CN").gettext(v).format(letter=k) for k, v in TYPE_TEXT.items()}


def form_header(column: str, lang: str | None = None) -> str:
    """The header of a form column in ``lang`` (default: the current language).

    >>> form_header("marker_id", "zh_CN"), form_header("marker_id", "en")
    ('界桩编号', 'marker ID')
    """
    return catalog(lang).gettext(dict(FORM_COLUMNS)[column])


def header_columns() -> dict[str, str]:
    """Every header a filled form may have (Chinese, English, the column key itself) → its column.

    >>> cols = header_columns()
    >>> cols["界桩状况"], cols["marker condition"], cols["condition"]
    ('condition', 'condition', 'condition')
    """
    out = {}
    for col, msgid in FORM_COLUMNS:
        for lang in LANGUAGES:
            out[form_header(col, lang)] = col
        out[col] = col
    return out


def shown(column: str, value):
    """A stored marker condition or action (完好, 复位 …) as the reader reads it; other values unchanged.

    >>> from geoplan.i18n import set_language
    >>> set_language("en"); shown("action", "复位"), shown("condition", "移位"), shown("name", "复位")
    ('reset', 'moved', '复位')
    >>> set_language(None)
    """
    table = {"action": ACTION_TEXT, "condition": CONDITION_TEXT}.get(column)
    return _(table[value]) if table is not None and isinstance(value, str) and value in table else value


def action_value(text: str) -> str:
    """The stored action (维护 …; "" for none) of what a form says, in either language; else ``text`` as it is.

    >>> action_value("reset"), action_value("复位"), action_value("None"), action_value("-"), action_value("fix")
    ('复位', '复位', '', '', 'fix')
    """
    t = str(text).strip()
    for stored, msgid in ACTION_TEXT.items():
        if t.lower() in {msgid.lower(), catalog("zh_CN").gettext(msgid), stored}:
            return "" if stored == "无" else stored
    return "" if t in ("-", "—") else t


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
        "marker_id": v["marker_id"], "marker_type": v["marker_type"].map(lambda t: _(TYPE_TEXT[t]).format(letter=t) if t in TYPE_TEXT else t),
        "line_code": v["line_code"], "line_name": v["line_code"].map(lines),
        "lon": v["lon"].round(6), "lat": v["lat"].round(6),
    })
    for c in FILL_IN:
        out[c] = ""
    return out


def write_forms_xlsx(result, path, *, overwrite: bool = False) -> Path:
    """Write the record forms as one XLSX sheet (one row per marker) with drop-down lists.

    Row 1 holds the headers in the current language (the only header row;
    :func:`geoplan.inspection.results.import_results` reads either language's),
    and the drop-down lists offer the conditions, yes/no and actions in words it
    reads back. The sheet
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
    ws.title = _("inspection records")
    write_table(ws, df, dict(FORM_COLUMNS), number_formats={"lon": "0.000000", "lat": "0.000000"})
    fill = PatternFill("solid", fgColor="FFF2CC")
    widths = {"condition": 10, "measured_lon": 12, "measured_lat": 12, "photos": 12, "inspected": 11,
              "remarks": 20, "signature_a": 10, "signature_b": 10}
    for j, (name, _msgid) in enumerate(FORM_COLUMNS, start=1):
        letter = ws.cell(1, j).column_letter
        if name in FILL_IN:
            ws.cell(1, j).fill = fill
            # empty fill-in columns still need room for handwriting
            ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width, widths.get(name, 9))
    n = len(df) + 1
    col = {name: ws.cell(1, j).column_letter for j, (name, _msgid) in enumerate(FORM_COLUMNS, start=1)}
    conditions = [_(CONDITION_TEXT[c]) for c in MARKER_CONDITIONS]
    cond = DataValidation(type="list", formula1='"' + ",".join(conditions) + '"', allow_blank=True)
    yesno = DataValidation(type="list", formula1=f'"{_("yes")},{_("no")}"', allow_blank=True)
    act = DataValidation(type="list", formula1='"' + ",".join(_(ACTION_TEXT[a]) for a in ACTION_CHOICES) + '"',
                         allow_blank=True)
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
            fig.text(0.5, 0.94, _("Boundary marker record (joint inspection)"), ha="center", fontsize=18,
                     fontweight="bold")
            ln = lines.loc[row.line_code] if row.line_code in lines.index else None
            sides = (f"{areas.get(str(ln['left_code']), ln['left_code'])} / {areas.get(str(ln['right_code']), ln['right_code'])}"
                     if ln is not None else "")
            h = form_header
            boxes = lambda words: " ".join("□" + w for w in words)  # noqa: E731
            conds = [_(CONDITION_TEXT[c]) for c in MARKER_CONDITIONS]
            acts = [_(ACTION_TEXT[a]) for a in ACTION_CHOICES]
            # English words are longer than the Chinese ones: the check-boxes take two lines of three
            english = current_language() == "en"
            split = 3 if english else 4
            action_boxes = boxes(acts[:3]) + "\n" + boxes(acts[3:]) if english else boxes(acts)
            yes_no = f"□{_('yes')}  □{_('no')}"
            cells = [
                [h("marker_id"), row.marker_id, h("marker_type"), row.marker_type],
                [_("line"), f"{row.line_code} {row.line_name}", _("both sides"), sides],
                [h("lon"), f"{row.lon:.6f}", h("lat"), f"{row.lat:.6f}"],
                [_("{team_day} / {order}").format(team_day=h("route_id"), order=h("order")),
                 f"{row.route_id} / {row.order}", h("date"), row.date],
                [h("condition"), boxes(conds[:split]) + "\n" + boxes(conds[split:]), h("inspected"), ""],
                [h("measured_lon"), "", h("measured_lat"), ""],
                [h("reference_ok"), yes_no, h("lettering_ok"), yes_no],
                [h("action"), action_boxes, _("displacement (metres)"), ""],
                [_("reference objects"), "", "", ""],
                [h("photos"), "", "", ""],
                [h("remarks"), "", "", ""],
                [_("inspector's signature, side A"), "", _("inspector's signature, side B"), ""],
            ]
            ax = fig.add_axes([0.06, 0.12, 0.88, 0.78])
            ax.axis("off")
            t = ax.table(cellText=cells, loc="upper center", cellLoc="left", colWidths=[0.18, 0.34, 0.16, 0.32])
            t.auto_set_font_size(False)
            t.set_fontsize(9 if english else 10)
            for (i, j), cell in t.get_celld().items():
                cell.set_height(0.085 if i in (8, 10) else 0.06)
                cell.set_linewidth(0.8)
                if j in (0, 2):
                    cell.set_facecolor("0.9")
                    cell.get_text().set_fontweight("bold")
                    # a label longer than its column (English) wraps instead of running into the next cell
                    cell.get_text().set_text(textwrap.fill(cell.get_text().get_text(), 15 if j == 0 else 13,
                                                           break_long_words=False))
            fig.text(0.06, 0.06, _("Note: for a moved marker write its measured coordinates (CGCS2000 longitude "
                                   "and latitude); for the photos write the camera's or phone's file numbers. Each "
                                   "side keeps one copy of this form."), fontsize=8, color="0.3", wrap=True)
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
            pts.append((g.x, g.y, str(r.base_name), _("starting point")))
        pts += [(v.lon, v.lat, v.marker_id, f"{v.order}. {v.marker_type} {v.arrival}") for v in vis.itertuples()]
        for x, y, name, desc in pts:
            w = ET.SubElement(gpx, f"{{{ns}}}wpt", lat=f"{y:.7f}", lon=f"{x:.7f}")
            ET.SubElement(w, f"{{{ns}}}name").text = name
            ET.SubElement(w, f"{{{ns}}}desc").text = desc
        rte = ET.SubElement(gpx, f"{{{ns}}}rte")
        ET.SubElement(rte, f"{{{ns}}}name").text = r.route_id
        for x, y, name, _desc in pts + pts[:1]:
            p = ET.SubElement(rte, f"{{{ns}}}rtept", lat=f"{y:.7f}", lon=f"{x:.7f}")
            ET.SubElement(p, f"{{{ns}}}name").text = name
        leg = 1
        trk = ET.SubElement(gpx, f"{{{ns}}}trk")
        ET.SubElement(trk, f"{{{ns}}}name").text = _("{route} road route").format(route=r.route_id)
        seg = ET.SubElement(trk, f"{{{ns}}}trkseg")
        while (r.route_id, leg) in result.paths:
            for x, y in result.paths[(r.route_id, leg)]:
                ET.SubElement(seg, f"{{{ns}}}trkpt", lat=f"{y:.7f}", lon=f"{x:.7f}")
            leg += 1
        path = folder / f"{r.route_id}.gpx"
        write_bytes(ET.tostring(gpx, encoding="utf-8", xml_declaration=True), path, overwrite=overwrite)
        out.append(path)
    return out
