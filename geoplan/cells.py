"""Cells that stay text: what keeps a CSV or XLSX cell from being run as a formula (CSV injection, OWASP).

A spreadsheet reads a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula. :func:`escape_cell` prefixes such text (unless it
is a number) with a single quote for CSV and :func:`unescape_cell` takes it off
again when geoplan reads its own files back, so a round trip keeps every value;
for XLSX, :func:`xlsx_value` gives each value its cell type (text is always a
string cell) and :func:`neutralise_workbook` turns any formula cell of a
workbook built elsewhere back into text. The writers themselves are in
:mod:`geoplan.output`, which re-exports these names.

Examples
--------
>>> escape_cell("=1+1"), unescape_cell(escape_cell("=1+1")), escape_cell("-2")
("'=1+1", '=1+1', '-2')
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where a frame is handled: importing this module must stay cheap (CLI start-up)
    import pandas as pd

__all__ = ["TRIGGERS", "escape_cell", "unescape_cell", "escape_frame", "unescape_frame", "xlsx_value",
           "clean_xml_text", "neutralise_workbook"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")
# Characters XML 1.0 cannot hold; openpyxl refuses them, so they are dropped from XLSX text.
_XML_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")


# ---------------------------------------------------------------------- formula injection
def _needs_quote(text: str) -> bool:
    # A leading quote followed by something that needs one is quoted too, so
    # that escape/unescape are exact inverses for every string.
    if not text:
        return False
    if text[0] == "'":
        return _needs_quote(text[1:])
    return text[0] in TRIGGERS and not _NUMBER.fullmatch(text)


def escape_cell(value):
    """A value safe to write into a CSV cell: text that a spreadsheet would run as a formula gets a ``'`` prefix.

    Parameters
    ----------
    value : object
        Any cell value; only strings are changed.

    Returns
    -------
    object
        ``"'" + value`` for text starting with ``= + - @``, tab or carriage
        return that is not a number; everything else unchanged.

    Examples
    --------
    >>> escape_cell("=HYPERLINK(\\"http://x\\",\\"y\\")")
    '\\'=HYPERLINK("http://x","y")'
    >>> escape_cell("-12.5"), escape_cell("回山镇"), escape_cell(7)
    ('-12.5', '回山镇', 7)
    """
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def unescape_cell(value):
    """Undo :func:`escape_cell` (for CSV files geoplan wrote).

    Examples
    --------
    >>> unescape_cell("'=1+1"), unescape_cell("'just a quote")
    ('=1+1', "'just a quote")
    """
    if isinstance(value, str) and value[:1] == "'" and _needs_quote(value[1:]):
        return value[1:]
    return value


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :func:`escape_cell` applied to every text cell and column name.

    Examples
    --------
    >>> import pandas as pd
    >>> escape_frame(pd.DataFrame({"=名称": ["=SUM(A1)", "南山村"], "人口": [1, 2]}))
            '=名称  人口
    0  '=SUM(A1)   1
    1        南山村   2
    """
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = [escape_cell(v) for v in out[c].tolist()]
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def unescape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :func:`unescape_cell` applied to every text cell and column name.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"=名称": ["=SUM(A1)", "南山村"]})
    >>> unescape_frame(escape_frame(df)).equals(df)
    True
    """
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = [unescape_cell(v) for v in out[c].tolist()]
    out.columns = [unescape_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def xlsx_value(v):
    """The value and openpyxl cell type (``"s"``, ``"n"``, ``"b"``) an XLSX cell gets; ``(None, None)`` for a blank.

    Text is always a string cell (never a formula), with the characters XML cannot hold dropped;
    dates and anything else become their text.

    Examples
    --------
    >>> xlsx_value("=1+1"), xlsx_value(3), xlsx_value(float("nan")), xlsx_value("a\x07b")
    (('=1+1', 's'), (3, 'n'), (None, None), ('ab', 's'))
    """
    if v is None or (isinstance(v, str) and v == ""):
        return None, None
    if isinstance(v, bool):
        return v, "b"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return None, None
        return v, "n"
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        try:
            return xlsx_value(v.item())
        except (ValueError, TypeError):
            pass
    if isinstance(v, str):
        return _XML_ILLEGAL.sub("", v), "s"
    import pandas as pd

    if v is pd.NaT or v is pd.NA:
        return None, None
    if isinstance(v, (pd.Timestamp, _dt.datetime, _dt.date)):
        return v.isoformat(), "s"
    return _XML_ILLEGAL.sub("", str(v)), "s"


def clean_xml_text(text: str) -> str:
    """``text`` without the control characters XML 1.0 cannot hold (openpyxl refuses them).

    Examples
    --------
    >>> clean_xml_text("南山\x01村")
    '南山村'
    """
    return _XML_ILLEGAL.sub("", text)


# ---------------------------------------------------------------------- workbooks built elsewhere
def neutralise_workbook(wb) -> int:
    """Make every formula cell of an openpyxl workbook a string cell; returns how many were changed.

    openpyxl turns any string assigned to a cell that starts with ``=`` into a
    formula. geoplan never writes a formula on purpose, so a formula cell can
    only be text from data: it is written back as text (``data_type='s'``).
    Characters XML cannot hold are dropped from text cells.

    Examples
    --------
    >>> import openpyxl
    >>> wb = openpyxl.Workbook()
    >>> wb.active["A1"], wb.active["A2"] = '=HYPERLINK("http://x")', "南山村"
    >>> neutralise_workbook(wb), wb.active["A1"].data_type, wb.active["A1"].value
    (1, 's', '=HYPERLINK("http://x")')
    """
    n = 0
    for ws in wb.worksheets:
        # the cells that hold something (iter_rows would create every empty cell of the range)
        for c in list(getattr(ws, "_cells", {}).values()):
            if c.data_type == "f":
                v = c.value
                c.value = _XML_ILLEGAL.sub("", v if isinstance(v, str) else str(v))
                c.data_type = "s"  # after the value: assigning "=…" makes openpyxl set "f" again
                n += 1
            elif c.data_type == "s" and isinstance(c.value, str) and _XML_ILLEGAL.search(c.value):
                c.value = _XML_ILLEGAL.sub("", c.value)
                c.data_type = "s"
    return n
