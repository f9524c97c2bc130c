"""Writing plan evaluations for people: console tables, CSV and a formatted XLSX workbook.

Every number is shown as what it is: counts as whole numbers, shares as
percentages with one decimal, per-10,000 indicators with one decimal, money
in whole yuan, each beside its target and unit. Outcomes are 达标 / 未达标 /
不要求 / 无法评估; headers and kinds are in the reader's language (Chinese by
default, translated where shown), rule titles as the plan writes them. The workbook has
a summary sheet (one row per target of the document, with its baseline,
target, value and the section it comes from), one sheet per rule group with
the township rows, and one sheet of villages for village-level rules; failing
rows are shaded so they stand out when printed in grey too. The CSV files
hold the same cells rounded as the workbook shows them.

Examples in this module use ``ev = gp.evaluate_plan(gp.load_plan("plans/330624_2022.toml"),
county.layers)``, ``tmp`` (an empty folder) (``import geoplan as gp``); pytest builds them once per
session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geoplan.coverage.evaluation import FAIL, NOT_REQUIRED, PASS, UNKNOWN, Evaluation
from geoplan.i18n import N_, _, current_language

# Headers are marked here and translated where a table is made (the language is chosen later).
SUMMARY_HEADERS = {
    "group": N_("group"), "title": N_("indicator"), "section": N_("source (section of the document)"),
    "kind": N_("rule kind"), "baseline_year": N_("baseline year"), "baseline": N_("baseline value"),
    "target": N_("target value"), "value": N_("current value"), "unit": N_("unit"), "status": N_("outcome"),
    "reason": N_("reason"),
}
TOWNSHIP_HEADERS = {
    "title": N_("indicator"), "code": N_("township code"), "name": N_("township"), "population": N_("people"),
    "value": N_("current value"), "target": N_("target value"), "unit": N_("unit"), "status": N_("outcome"),
    "reason": N_("reason"),
}
VILLAGE_HEADERS = {
    "title": N_("indicator"), "township": N_("township"), "code": N_("village code"), "name": N_("village"),
    "status": N_("outcome"), "facilities": N_("facilities"), "note": N_("reason"),
}
#: column widths in the workbook, by header
_WIDTHS = {N_("reason"): 60, N_("indicator"): 30, N_("source (section of the document)"): 22, N_("rule kind"): 14,
           N_("group"): 10, N_("township"): 11, N_("village"): 12, N_("facilities"): 30, N_("unit"): 12,
           N_("target value"): 12}
#: the outcomes as a person reads them (the evaluation's tables hold the Chinese terms as data)
_STATUS_TEXT = {PASS: N_("pass"), FAIL: N_("fail"), NOT_REQUIRED: N_("not required"), UNKNOWN: N_("cannot be evaluated")}


#: units in English: the evaluation's own (个乡镇(街道)) and those the counties' plans use. In Chinese a unit
#: is shown as written (it is the plan's own word); a plan's other units are shown as written in both.
_UNIT_TEXT = {"个乡镇(街道)": N_("townships"), "个/万人": N_("per 10,000 people"),
              "人/万人": N_("people per 10,000 people"), "人/万老年人": N_("people per 10,000 older people"),
              "张/万人": N_("beds per 10,000 people"), "元/年": N_("yuan a year"), "人": N_("people")}


def unit_text(unit) -> str:
    """A unit (个乡镇(街道), 张/万人 …) as the reader reads it: as written in Chinese, translated in English
    where known (a count, 个, needs no unit word).

    >>> from geoplan.i18n import set_language
    >>> set_language("en"); unit_text("个乡镇(街道)"), unit_text("张/万人"), unit_text("个"), unit_text("%")
    ('townships', 'beds per 10,000 people', '', '%')
    >>> set_language(None)
    """
    if current_language() != "en":
        return unit
    if unit == "个":
        return ""
    return _(_UNIT_TEXT[unit]) if unit in _UNIT_TEXT else unit


def status_text(status) -> str:
    """An outcome of the evaluation (达标 …) in the reader's language."""
    return _(_STATUS_TEXT[status]) if status in _STATUS_TEXT else status


def _translated(headers: dict) -> dict:
    return {k: _(v) for k, v in headers.items()}


def number_format(unit: str) -> str:
    """The Excel number format for a value in ``unit``: shares as %, per-10,000 with one decimal, else whole.

    Examples
    --------
    >>> number_format("%"), number_format("张/万人"), number_format("个")
    ('0.0%', '0.0', '#,##0')
    """
    if unit == "%":
        return "0.0%"
    if "万" in str(unit):
        return "0.0"
    return "#,##0"


def format_value(value, unit: str) -> str:
    """A value as the workbook shows it (without thousands separators, for CSV and the console).

    Examples
    --------
    >>> format_value(0.9067, "%"), format_value(31.04, "张/万人"), format_value(11000.0, "元/年")
    ('90.7%', '31.0', '11000')
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    if unit == "%":
        return f"{value * 100:.1f}%"
    if "万" in str(unit):
        return f"{value:.1f}"
    return f"{value:.0f}"


def _summary_rows(evaluation: Evaluation) -> pd.DataFrame:
    s = evaluation.summary
    out = pd.DataFrame({
        "group": s["group"], "title": s["title"], "section": s["section"], "kind": s["kind"],
        "baseline_year": [("" if pd.isna(y) else int(y)) for y in s["baseline_year"]],
        "baseline": s["baseline"], "target": s["target"], "value": s["value"], "unit": s["unit"],
        "status": s["status"], "reason": s["reason"],
    })
    return out


def _township_rows(evaluation: Evaluation) -> pd.DataFrame:
    t = evaluation.townships
    return pd.DataFrame({"group": t["group"], "title": t["title"], "code": t["code"], "name": t["name"],
                         "population": t["population"], "value": t["value"], "target": t["target"],
                         "unit": t["unit"], "status": t["status"], "reason": t["reason"]})


def _village_rows(evaluation: Evaluation) -> pd.DataFrame:
    v = evaluation.villages
    if v is None or not len(v):
        return pd.DataFrame(columns=list(VILLAGE_HEADERS))
    titles = {r.id: r.title for r in evaluation.plan.rules}
    towns = dict(zip(evaluation.townships["code"], evaluation.townships["name"]))
    return pd.DataFrame({"title": v["rule_id"].map(titles), "township": v["township_code"].map(towns),
                         "code": v["code"], "name": v["name"],
                         "status": v["covered"].map({True: PASS, False: FAIL}),
                         "facilities": v["facilities"], "note": v["note"]})


def for_people(evaluation: Evaluation, table: str = "summary") -> pd.DataFrame:
    """A table of the evaluation as text cells, rounded as in the workbook, with Chinese headers.

    ``table`` is ``summary``, ``townships`` or ``villages``.

    Examples
    --------
    ``ev = gp.evaluate_plan(gp.load_plan("plans/330624_2022.toml"), county.layers)``:

    >>> t = for_people(ev)
    >>> list(t.columns[:4])
    ['类别', '指标', '依据（文件章节）', '规则类型']
    >>> len(for_people(ev, "townships")) == len(ev.townships)
    True
    """
    if table == "summary":
        df, headers = _summary_rows(evaluation), SUMMARY_HEADERS
    elif table == "townships":
        df, headers = _township_rows(evaluation), TOWNSHIP_HEADERS
    else:
        df, headers = _village_rows(evaluation), VILLAGE_HEADERS
    df = df.copy()
    for col in ("baseline", "target", "value"):
        if col in df:
            df[col] = [format_value(v, u) for v, u in zip(df[col], df["unit"])]
    if "population" in df:
        df["population"] = [format_value(v, "人") for v in df["population"]]
    if "status" in df:
        df["status"] = df["status"].map(status_text)
    if "unit" in df:
        df["unit"] = df["unit"].map(unit_text)
    # Plain text: the writers (geoplan.output) keep formula-like text from being run by a spreadsheet.
    return df[[c for c in headers if c in df.columns]].rename(columns=_translated(headers))


def console_summary(evaluation: Evaluation) -> pd.DataFrame:
    """The summary as the console shows it: indicator, baseline (year), target and value with their unit,
    outcome and reason.

    Examples
    --------
    ``ev`` as in :func:`for_people`:

    >>> s = console_summary(ev)
    >>> len(s) == len(ev.summary), list(s.columns)
    (True, ['指标', '基期', '目标', '现状', '是否达标', '说明'])
    """
    s = _summary_rows(evaluation)

    def with_unit(value, unit):
        text = format_value(value, unit)
        shown = unit_text(unit)
        return text if not text or not shown or unit == "%" or isinstance(value, str) else f"{text} {shown}"

    return pd.DataFrame({
        _("indicator"): s["title"],
        _("baseline"): [(_("{value} ({year})").format(value=with_unit(b, u), year=y) if y != "" else with_unit(b, u))
                        for b, u, y in zip(s["baseline"], s["unit"], s["baseline_year"])],
        _("target"): [with_unit(t, u) for t, u in zip(s["target"], s["unit"])],
        _("current"): [with_unit(v, u) for v, u in zip(s["value"], s["unit"])],
        _("outcome"): s["status"].map(status_text), _("reason"): s["reason"],
    })


def csv_paths(evaluation: Evaluation, out_dir, stem: str) -> list[Path]:
    """The files :func:`write_csv` writes (to check them all before any is written).

    Examples
    --------
    >>> [p.name for p in csv_paths(ev, "out", "330624_2022")]
    ['330624_2022_summary.csv', '330624_2022_townships.csv']
    """
    tables = ["summary", "townships"] + (["villages"] if len(evaluation.villages) else [])
    return [Path(out_dir) / f"{stem}_{name}.csv" for name in tables]


def write_csv(evaluation: Evaluation, out_dir, stem: str, *, overwrite: bool = False) -> list[Path]:
    """Write ``<stem>_summary.csv`` and ``<stem>_townships.csv`` (and ``_villages.csv`` for village rules).

    UTF-8 with BOM so that Excel on a Chinese Windows PC opens them; cells are
    rounded as the workbook shows them (``50.3%``, ``12.3``, ``11000``). Written
    through :func:`geoplan.output.write_csv` (atomic, formula-like text quoted,
    read back with :func:`geoplan.output.read_csv`); an existing file is
    replaced only with ``overwrite``, and all are checked before any is written.

    Examples
    --------
    ``ev`` as in :func:`for_people`; ``tmp`` an empty folder:

    >>> from geoplan.output import read_csv
    >>> files = write_csv(ev, tmp, "330624_2022")
    >>> summary = read_csv(files[0])
    >>> len(summary) == len(ev.summary), summary.columns[0]
    (True, '类别')
    """
    from geoplan.output import check_targets
    from geoplan.output import write_csv as _write

    targets = check_targets(csv_paths(evaluation, out_dir, stem), overwrite=overwrite)
    return [_write(for_people(evaluation, p.stem[len(stem) + 1:]), p, overwrite=overwrite) for p in targets]


def _sheet(wb, name: str, title: str, subtitle: str, df: pd.DataFrame, headers: dict, unit_col: str | None):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(name[:31])
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = subtitle
    ws["A2"].font = Font(size=9, color="555555")
    cols = [c for c in headers if c in df.columns]
    fail_fill = PatternFill("solid", fgColor="F4CCCC")
    unknown_fill = PatternFill("solid", fgColor="EDEDED")
    head_fill = PatternFill("solid", fgColor="D9D9D9")
    for j, col in enumerate(cols, start=1):
        c = ws.cell(row=3, column=j, value=_(headers[col]))
        c.font, c.fill = Font(bold=True), head_fill
        c.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(j)].width = _WIDTHS.get(headers[col], 11)  # keyed by the msgid
    for i, row in enumerate(df[cols].itertuples(index=False), start=4):
        unit = getattr(row, unit_col) if unit_col else ""
        for j, (col, value) in enumerate(zip(cols, row), start=1):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            c = ws.cell(row=i, column=j)
            if col == "status":
                value = status_text(value)
            elif col == "unit":
                value = unit_text(value)
            if isinstance(value, str):
                c.value = value
                c.data_type = "s"  # never a formula, whatever the text starts with
            else:
                c.value = value
                if col in ("baseline", "target", "value"):
                    c.number_format = number_format(unit)
                elif col == "population":
                    c.number_format = "#,##0"
            c.alignment = Alignment(wrap_text=True, vertical="top")
        status = getattr(row, "status", None)
        if status in (FAIL, UNKNOWN):
            for j in range(1, len(cols) + 1):
                ws.cell(row=i, column=j).fill = fail_fill if status == FAIL else unknown_fill
            ws.cell(row=i, column=cols.index("status") + 1).font = Font(bold=True)
    ws.freeze_panes = "A4"
    # Printed by the bureau: landscape A4, all columns on one page width, headers repeated.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "3:3"
    ws.auto_filter.ref = f"A3:{get_column_letter(len(cols))}{max(ws.max_row, 3)}"
    return ws


def write_xlsx(evaluation: Evaluation, path, *, overwrite: bool = False) -> Path:
    """Write the evaluation as a formatted workbook, atomically.

    Parameters
    ----------
    evaluation : Evaluation
    path : str or Path
        Target ``.xlsx``; written to a temporary file first and renamed, so
        an interrupted run never leaves a broken workbook.
    overwrite : bool
        Replace an existing file (else :class:`geoplan.output.OutputExistsError`).

    Examples
    --------
    ``ev`` as in :func:`for_people`; ``tmp`` an empty folder:

    >>> import openpyxl
    >>> wb = openpyxl.load_workbook(write_xlsx(ev, tmp / "plan.xlsx"))
    >>> wb.sheetnames
    ['总表', '养老服务', '殡葬服务', '残疾人服务', '社会工作']
    """
    from geoplan.output import check_target, save_workbook

    check_target(path, overwrite=overwrite)
    from openpyxl import Workbook

    p = Path(path)
    plan = evaluation.plan
    as_of = evaluation.as_of.isoformat() if evaluation.as_of else f"{evaluation.year}-12-31"
    subtitle = _("Evaluated as of {date} (facilities opened after it or closed do not count); source: {source}. "
                 "Outcome: {outcomes} (data missing).").format(
        date=as_of, source=plan.source or plan.name, outcomes=" / ".join(status_text(s) for s in _STATUS_TEXT))

    # the workbook is built in memory, then saved through the one output path
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, _("summary"), _("{plan} — targets of {year}").format(plan=plan.name, year=evaluation.year), subtitle,
           _summary_rows(evaluation), SUMMARY_HEADERS, "unit")
    towns = _township_rows(evaluation)
    for group, rows in towns.groupby("group", sort=False):
        _sheet(wb, str(group), _("{plan} — {group} (by township)").format(plan=plan.name, group=group), subtitle,
               rows, TOWNSHIP_HEADERS, "unit")
    villages = _village_rows(evaluation)
    if len(villages):
        _sheet(wb, _("villages in detail"), _("{plan} — villages in detail").format(plan=plan.name), subtitle,
               villages, VILLAGE_HEADERS, None)
    return save_workbook(wb, p, overwrite=overwrite)
