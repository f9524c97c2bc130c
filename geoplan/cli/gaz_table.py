"""A gazetteer table as text without pandas: what ``geoplan gaz search`` prints.

``geoplan gaz search`` answers from a memory-mapped index in a few
milliseconds; importing pandas to print ten rows would cost more than the
rest of the call (issue 17: under 0.5 s). :func:`text_table` lays the rows out
exactly as the other ``gaz`` commands do through pandas
(``labels.for_reading`` then ``DataFrame.to_string(index=False)`` with East
Asian widths): headers and coded values translated, every column
right-aligned to its widest cell counting a Chinese character as two,
columns one space apart, a number column's header with a leading space, and
floats with the fewest decimals that show every value of the column.
``tests/test_gazetteer_search_cli.py`` compares the two on many random tables.

Examples
--------
>>> from geoplan.i18n import set_language
>>> set_language("en")
>>> print(text_table([{"name": "回山镇", "match": "exact", "score": 100.0},
...                   {"name": "回山村", "match": "pinyin prefix", "score": 89.5}], ["name", "match", "score"]))
  name           match  similarity
回山镇           exact       100.0
回山村 pinyin (prefix)        89.5
>>> set_language(None)
"""

from __future__ import annotations

import math
import unicodedata

from geoplan.gazetteer import labels
from geoplan.i18n import _

_WIDE = {"W": 2, "F": 2}


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: two for a wide (Chinese) character, one otherwise.

    >>> width("回山镇"), width("Huishan Zhen")
    (6, 12)
    """
    return sum(_WIDE.get(unicodedata.east_asian_width(c), 1) for c in text)


def _rjust(text: str, size: int) -> str:
    return text.rjust(size - width(text) + len(text))


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""  # as labels.for_reading shows an empty field
    # pandas prints a tab or line break inside a cell as its escape
    return str(v).replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def _floats(values: list[float]) -> list[str]:
    """As pandas writes a float column: six decimals, then trailing zeros dropped alike from all (one kept)."""
    text = [f"{v:.6f}" for v in values]
    while text and all(t.endswith("0") for t in text) and all(len(t.split(".")[1]) > 1 for t in text):
        text = [t[:-1] for t in text]
    return text


def text_table(rows: list[dict], columns: list[str]) -> str:
    """``rows`` (dicts keyed by the gazetteer's English column names) as the text table a clerk reads.

    Parameters
    ----------
    rows : list of dict
        One dict per row; missing keys and None read as empty.
    columns : list of str
        Column keys in order; headers and coded values go through
        :mod:`geoplan.gazetteer.labels` in the current language.

    Returns
    -------
    str
        The table, or "(none)" in the current language without rows.
    """
    if not rows:
        return _("(none)")
    cols = []
    for c in columns:
        values = [r.get(c) for r in rows]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric and any(isinstance(v, float) for v in values):
            cells = _floats([float(v) for v in values])
        elif numeric:
            cells = [str(v) for v in values]
        else:
            cells = [_cell(labels.value(c, v)) for v in values]
        head = (" " if numeric else "") + labels.header(c)
        size = max(max(width(x) for x in cells), width(head))  # to_string never cuts a cell short
        cols.append([_rjust(x, size) for x in [head] + cells])
    # As pandas joins them: every column but the last padded to its width and one space, the last to its
    # longest cell counted in characters.
    sizes = [max(width(x) for x in col) + 1 for col in cols[:-1]] + [max(len(x) for x in cols[-1])]
    return "\n".join("".join(col[k].ljust(sizes[i] - width(col[k]) + len(col[k])) for i, col in enumerate(cols))
                     for k in range(len(rows) + 1))


def echo_rows(rows: list[dict], columns: list[str], as_json: bool) -> None:
    """Print ``rows`` as ``gaz``'s ``_out`` prints a table: :func:`text_table`, or JSON records with ``--json``.

    The JSON is what ``DataFrame.to_json(orient="records")`` gives back, read
    and written again with two-space indents: the English keys in
    ``columns`` order, missing values as ``null``.
    """
    import json

    import click

    if as_json:
        records = [{c: r.get(c) for c in columns} for r in rows]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(text_table(rows, columns))
