"""Workbook helpers for the inspection's Chinese tables: headers, widths, print set-up, safe saving.

Every sheet a team prints gets Chinese headers only, a header row repeated on
every page, a print area, landscape A4 fitted to one page width, and column
widths that fit their content (CJK characters count double). Text from the
data is always written as text, never as a formula. Files are written to a
temporary name in the same folder and renamed, so a failed write leaves an
existing file untouched.

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from geoplan.i18n import _


def _display_width(v) -> int:
    s = "" if v is None else str(v)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def _plain(v):
    """A cell value: NaN/None empty, numpy scalars as Python, dates as dates."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(v, pd.Timestamp):
        return v.date() if v == v.normalize() else v.to_pydatetime()
    return v


def write_table(ws, df: pd.DataFrame, headers: dict | None = None, *, title: str | None = None,
                number_formats: dict | None = None, min_width: int = 6, max_width: int = 48) -> None:
    """Write ``df`` to ``ws`` with Chinese headers, fitted widths and print set-up.

    Parameters
    ----------
    ws : openpyxl worksheet
    df : pandas.DataFrame
    headers : dict, optional
        ``{column: header}``, the header a message id (``N_``) translated here, or text shown as it is;
        only these columns are written, in this order.
    title : str, optional
        A title row above the table (the header row is then row 2).
    number_formats : dict, optional
        ``{column: Excel number format}`` e.g. ``"0.0"``.

    Examples
    --------
    >>> import openpyxl
    >>> wb = openpyxl.Workbook()
    >>> write_table(wb.active, county["townships"][["code", "name"]], {"code": "代码", "name": "名称"}, title="乡镇")
    >>> wb.active["A1"].value, [c.value for c in wb.active[2]], wb.active.max_row  # title, headers, 12 rows
    ('乡镇', ['代码', '名称'], 14)
    """
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    from geoplan.inspection.forms import shown

    cols = list(headers) if headers else list(df.columns)
    names = [_(headers[c]) if headers else str(c) for c in cols]
    # stored conditions and actions (完好, 复位 …) in the reader's language; the stored data is not touched
    df = df.assign(**{c: df[c].map(lambda v, c=c: shown(c, v)) for c in ("action", "condition") if c in cols})
    r0 = 1
    if title:
        ws.cell(1, 1, title).font = Font(bold=True, size=13)
        r0 = 2
    thin = Side(style="thin", color="999999")
    for j, name in enumerate(names, start=1):
        c = ws.cell(r0, j, name)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="DDEBF7")
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        c.border = Border(top=thin, bottom=thin, left=thin, right=thin)
    fmts = number_formats or {}
    widths = [_display_width(n) for n in names]
    for i, row in enumerate(df[cols].itertuples(index=False), start=r0 + 1):
        for j, v in enumerate(row, start=1):
            v = _plain(v)
            cell = ws.cell(i, j)
            cell.value = v
            if isinstance(v, str):
                cell.data_type = "s"  # text from data never becomes a formula
            fmt = fmts.get(cols[j - 1])
            if fmt:
                cell.number_format = fmt
            elif hasattr(v, "year") and not isinstance(v, str):
                cell.number_format = "yyyy-mm-dd"
            cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
            w = 10 if hasattr(v, "year") and not isinstance(v, str) else _display_width(v)
            widths[j - 1] = max(widths[j - 1], w)
    from openpyxl.utils import get_column_letter

    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(min_width, min(max_width, w + 2))
    last_col = get_column_letter(max(1, len(cols)))
    last_row = r0 + len(df)
    ws.freeze_panes = ws.cell(r0 + 1, 1)
    print_setup(ws, f"A1:{last_col}{last_row}", header_rows=f"{r0}:{r0}")


def print_setup(ws, area: str, header_rows: str = "1:1") -> None:
    """Landscape A4, fitted to one page width, header rows repeated, print area set.

    Examples
    --------
    >>> import openpyxl
    >>> ws = openpyxl.Workbook().active
    >>> print_setup(ws, "A1:F20")
    >>> ws.page_setup.orientation, ws.page_setup.paperSize, ws.print_title_rows
    ('landscape', 9, '$1:$1')
    """
    ws.print_area = area
    ws.print_title_rows = header_rows
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.oddFooter.center.text = _("page {page} of {pages}").format(page="&P", pages="&N")


def save_atomic(wb, path, *, overwrite: bool = False) -> Path:
    """Save an openpyxl workbook through :func:`geoplan.output.save_workbook` (atomic, no clobber, no formulas).

    Examples
    --------
    >>> import openpyxl
    >>> wb = openpyxl.Workbook()
    >>> wb.active["A1"] = "=1+1"
    >>> cell = openpyxl.load_workbook(save_atomic(wb, tmp / "a.xlsx")).active["A1"]
    >>> cell.value, cell.data_type  # text, never a formula
    ('=1+1', 's')
    """
    from geoplan.output import save_workbook

    return save_workbook(wb, path, overwrite=overwrite)


def atomic_path(path, *, overwrite: bool = False):
    """Context manager giving a temporary path, renamed onto ``path`` on success (:func:`geoplan.output.atomic_target`).

    Examples
    --------
    >>> with atomic_path(tmp / "a.txt") as t:
    ...     _ = t.write_text("界桩")
    ...     (tmp / "a.txt").exists()
    False
    >>> (tmp / "a.txt").read_text()
    '界桩'
    """
    from geoplan.output import atomic_target

    return atomic_target(path, overwrite=overwrite)
