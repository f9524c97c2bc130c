"""Reading cell values people type in spreadsheets and GIS attribute tables.

One parser per kind of value, so that every reader of geoplan accepts the
same spellings: a planner's 是/否 column means the same in a facilities layer,
an inspection form and a road table.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import math

import numpy as np
from geoplan.i18n import N_, _

#: Spellings of "yes" and "no", compared stripped and case-insensitively.
YES = frozenset({"是", "有", "√", "✓", "true", "t", "yes", "y", "1", "1.0"})
NO = frozenset({"否", "无", "×", "✗", "false", "f", "no", "n", "0", "0.0"})


def parse_yes_no(value) -> bool | None:
    """``True`` / ``False`` for a yes/no cell, ``None`` for an empty or unrecognised one.

    Accepts 是/否, 有/无, √/×, true/false, yes/no, y/n, t/f and 1/0 in any case
    and with surrounding spaces, and real booleans and the numbers 1 and 0
    (Excel and GDAL hand those over as numbers).

    Parameters
    ----------
    value : object
        The cell as read (str, bool, int, float, None or NaN).

    Returns
    -------
    bool or None
        ``None`` when the cell is empty or holds something else; the caller
        decides whether that is a problem to report.

    Examples
    --------
    >>> parse_yes_no(" 是 "), parse_yes_no("No"), parse_yes_no(1.0), parse_yes_no("√")
    (True, False, True, True)
    >>> parse_yes_no(""), parse_yes_no("maybe"), parse_yes_no(None), parse_yes_no(2)
    (None, None, None, None)
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        if isinstance(value, (float, np.floating)) and math.isnan(value):
            return None
        return True if value == 1 else False if value == 0 else None
    try:
        text = str(value).strip().lower()
    except Exception:  # an object whose str() fails is not a yes/no
        return None
    return True if text in YES else False if text in NO else None


def id_index(frame, id_col: str | None, error=ValueError, what: str = N_("layer")):
    """The IDs of a layer's rows: the column ``id_col``, or the frame's index when it is None.

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
    id_col : str or None
        ID column.
    error : type
        Exception raised when the column is missing (the caller's own, e.g. ``SitingError``).
    what : str
        What ``frame`` is, for the message.

    Returns
    -------
    pandas.Index
        Named after ``id_col``.

    Examples
    --------
    >>> list(id_index(county["townships"], "code")[:2]), id_index(county["townships"], None)[:2].tolist()
    (['330624001', '330624002'], [0, 1])
    >>> id_index(county["townships"], "township_code", KeyError, "polygon layer")
    Traceback (most recent call last):
    ...
    KeyError: "面图层中没有编号列 'township_code'。"
    """
    import pandas as pd

    if id_col is None:
        return pd.Index(frame.index)
    if id_col not in frame.columns:
        raise error(_("The ID column {column!r} is not in the {what}.").format(column=id_col, what=_(what)))
    return pd.Index(frame[id_col], name=id_col)
