"""Writing plan evaluations for people: CSV and a formatted XLSX workbook.

The workbook has a summary sheet (one row per rule, county level) and one
sheet per rule group (养老服务, 殡葬服务 …) with the township rows; failing
rows are shaded so they stand out when printed in grey too, and a bureau
clerk can filter by column. Column headers are Chinese.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from geoplan.coverage.evaluation import Evaluation

HEADERS = {
    "rule_id": "规则编号", "group": "类别", "title": "指标", "kind": "规则类型", "code": "乡镇代码",
    "name": "乡镇(街道)", "population": "人口", "value": "现状值", "target": "目标值", "passed": "是否达标",
    "reason": "说明",
}
_PASS_TEXT = {True: "达标", False: "未达标"}


def _for_people(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["passed"] = [("不适用" if pd.isna(v) else _PASS_TEXT[bool(v)]) for v in out["passed"]]
    return out.rename(columns=HEADERS)


def write_csv(evaluation: Evaluation, out_dir, stem: str) -> list[Path]:
    """Write ``<stem>_summary.csv`` and ``<stem>_townships.csv`` (UTF-8 with BOM for Excel)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in (("summary", evaluation.summary), ("townships", evaluation.townships)):
        path = out / f"{stem}_{name}.csv"
        _for_people(table).to_csv(path, index=False, encoding="utf-8-sig")
        paths.append(path)
    return paths


def write_xlsx(evaluation: Evaluation, path) -> Path:
    """Write the evaluation as a formatted workbook, atomically.

    Parameters
    ----------
    evaluation : Evaluation
    path : str or Path
        Target ``.xlsx``; written to a temporary file first and renamed, so
        an interrupted run never leaves a broken workbook.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.{os.getpid()}.tmp.xlsx")
    sheets = {"总表": evaluation.summary}
    for group, rows in evaluation.townships.groupby("group", sort=False):
        sheets[str(group)[:31]] = rows
    fail_fill = PatternFill("solid", fgColor="F4CCCC")
    head_fill = PatternFill("solid", fgColor="D9D9D9")
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for name, table in sheets.items():
                _for_people(table).to_excel(xl, sheet_name=name, index=False, startrow=2)
                ws = xl.sheets[name]
                ws["A1"] = f"{evaluation.plan.name} — {evaluation.year} 年评估（{name}）"
                ws["A1"].font = Font(bold=True, size=13)
                ncols = table.shape[1]
                for col in range(1, ncols + 1):
                    cell = ws.cell(row=3, column=col)
                    cell.font = Font(bold=True)
                    cell.fill = head_fill
                    header = str(cell.value)
                    width = {"说明": 48, "指标": 30, "规则编号": 20, "规则类型": 18}.get(header, 11)
                    ws.column_dimensions[get_column_letter(col)].width = width
                passed_col = list(table.columns).index("passed") + 1
                value_col = list(table.columns).index("value") + 1
                target_col = list(table.columns).index("target") + 1
                for row in range(4, ws.max_row + 1):
                    if ws.cell(row=row, column=passed_col).value == "未达标":
                        for col in range(1, ncols + 1):
                            ws.cell(row=row, column=col).fill = fail_fill
                        ws.cell(row=row, column=passed_col).font = Font(bold=True)
                    for col in (value_col, target_col):
                        c = ws.cell(row=row, column=col)
                        if isinstance(c.value, float):
                            c.number_format = "0.0%" if abs(c.value) <= 1.5 else "0.0"
                    for col in range(1, ncols + 1):
                        ws.cell(row=row, column=col).alignment = Alignment(wrap_text=True, vertical="top")
                ws.freeze_panes = "A4"
                # Printed by the bureau: landscape A4, all columns on one page width, headers repeated.
                ws.page_setup.orientation = "landscape"
                ws.page_setup.paperSize = ws.PAPERSIZE_A4
                ws.sheet_properties.pageSetUpPr.fitToPage = True
                ws.page_setup.fitToWidth = 1
                ws.page_setup.fitToHeight = 0
                ws.print_title_rows = "3:3"
                ws.auto_filter.ref = f"A3:{get_column_letter(ncols)}{ws.max_row}"
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
