"""Exception classes of geoplan.

Every error a user can cause by giving geoplan a bad file or a bad argument
is a :class:`GeoplanError`. Its message is written for a planner, not a
programmer: it names the file, the layer, the row and the column at fault and
says what to do. The command line prints that message and exits non-zero
instead of showing a traceback.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

from geoplan.i18n import _, ngettext


def row_label(number: int) -> str:
    """A spreadsheet row as Excel numbers it, in the reader's language: ``第 7 行`` / ``row 7``.

    >>> from geoplan.i18n import set_language
    >>> set_language("en"); row_label(7)
    'row 7'
    >>> set_language("zh_CN"); row_label(7)
    '第 7 行'
    >>> set_language(None)
    """
    return _("row {number}").format(number=number)


def feature_label(number: int) -> str:
    """A vector feature, 1-based, in the reader's language: ``第 7 个要素`` / ``feature 7``.

    Examples
    --------
    >>> from geoplan.i18n import set_language
    >>> set_language("zh_CN"); feature_label(7)
    '第 7 个要素'
    >>> set_language("en"); feature_label(7)
    'feature 7'
    >>> set_language(None)
    """
    return _("feature {number}").format(number=number)


class RowLabels(Sequence):
    """The labels of ``n`` rows (:func:`feature_label` or :func:`row_label`), each made when asked for.

    A message names few rows; making every label up front cost more than
    validating a 2M-segment roads layer (the translation looked up on each
    call). The translated template is looked up once, here.

    Examples
    --------
    >>> from geoplan.i18n import set_language
    >>> set_language("en"); labels = RowLabels.features(3)
    >>> len(labels), labels[0], labels[-1], list(labels)[1]
    (3, 'feature 1', 'feature 3', 'feature 2')
    >>> RowLabels.rows(2)[0]  # a spreadsheet's first data row is Excel's row 2
    'row 2'
    >>> set_language(None)
    """

    def __init__(self, n: int, template: str, first: int = 1):
        self._n, self._template, self._first = int(n), template, first

    @classmethod
    def features(cls, n: int) -> "RowLabels":
        """:func:`feature_label` of features 1 … n."""
        return cls(n, _("feature {number}"))

    @classmethod
    def rows(cls, n: int, first: int = 2) -> "RowLabels":
        """:func:`row_label` of ``n`` spreadsheet rows, the first being row ``first``."""
        return cls(n, _("row {number}"), first)

    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        return (self._template.format(number=k) for k in range(self._first, self._first + self._n))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        i = operator.index(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._template.format(number=i + self._first)


class GeoplanError(Exception):
    """Base class of every error geoplan raises on purpose.

    Examples
    --------
    >>> from geoplan.layers.schema import get_schema
    >>> try:
    ...     get_schema("wells")
    ... except GeoplanError as e:
    ...     type(e).__name__, isinstance(e, Exception)
    ('GeoplanError', True)
    """


class DataFileError(GeoplanError):
    """A file cannot be opened or read at all (missing, empty, truncated, wrong format).

    Examples
    --------
    >>> from geoplan.layers.io import read_layer
    >>> read_layer("no_such.gpkg", "villages")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.DataFileError: 找不到文件：no_such.gpkg（查找的是 .../no_such.gpkg）。请检查路径和文件名；当前目录为 ...。
    """


class CRSError(GeoplanError):
    """A layer has no coordinate reference system, or one geoplan cannot use.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from geoplan.layers.crs import to_metric
    >>> to_metric(gpd.GeoDataFrame(geometry=[shapely.Point(120.9, 29.5)]))
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: 图层没有坐标系。请补上 .prj 文件（Shapefile），或明确指定坐标系，如 CGCS2000 经纬度用 crs='EPSG:4490'。
    """


class EncodingError(DataFileError):
    """The text in a file cannot be decoded with any encoding Chinese data uses.

    Examples
    --------
    >>> issubclass(EncodingError, DataFileError), issubclass(EncodingError, GeoplanError)
    (True, True)
    """


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row (or the whole layer) of an input file.

    Attributes
    ----------
    file : str
        Path of the file, as the user gave it.
    layer : str or None
        Layer inside the file (GeoPackage table, XLSX sheet), if any.
    row : str or None
        Where the row is, in the words of the file format and the reader's
        language: :func:`row_label` (``"第 7 行"`` / ``"row 7"``) for a
        spreadsheet row as Excel numbers it, :func:`feature_label`
        (``"第 7 个要素"`` / ``"feature 7"``) for a vector feature (1-based).
        ``None`` for a problem with the whole layer.
    column : str or None
        The column (field) at fault, if any.
    value : str or None
        The offending value, shortened for display.
    message : str
        What is wrong.
    hint : str
        What to do about it.

    Examples
    --------
    >>> from geoplan.i18n import set_language
    >>> set_language("en")
    >>> p = Problem("村.xlsx", "Sheet1", row_label(7), "code", "33062410", "not a 12-digit village code",
    ...             "use the official code")
    >>> str(p)
    "村.xlsx, layer 'Sheet1', row 7, column 'code': not a 12-digit village code (value: 33062410) — use the official code"
    >>> set_language(None)
    """

    file: str
    layer: str | None
    row: str | None
    column: str | None
    value: str | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        # "文件 X" in Chinese; the English text names the file bare, as before
        where = [_("{file}").format(file=self.file)]
        if self.layer:
            where.append(_("layer '{layer}'").format(layer=self.layer))
        if self.row:
            where.append(self.row)
        if self.column:
            where.append(_("column '{column}'").format(column=self.column))
        place = where[0]
        for part in where[1:]:
            place = _("{where}, {part}").format(where=place, part=part)
        text = _("{where}: {message}").format(where=place, message=self.message)
        if self.value is not None:
            text += _(" (value: {value})").format(value=self.value)
        if self.hint:
            text += _(" — {hint}").format(hint=self.hint)
        return text


class ValidationError(GeoplanError):
    """A layer was read but breaks its schema; ``problems`` lists every fault found.

    Validation does not stop at the first problem, so a planner can fix a
    file in one pass. The message shows the first ``MAX_SHOWN`` problems and
    says how many more there are.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from geoplan.layers.validate import validate_frame
    >>> bad = county["villages"].head(3).copy()
    >>> bad.loc[bad.index[1], "township_code"] = "330624999"
    >>> try:
    ...     validate_frame(bad, "villages", source="v.gpkg", townships=set(county["townships"]["code"]))
    ... except ValidationError as e:
    ...     len(e.problems), e.problems[0].column, e.problems[0].value
    (1, 'township_code', '330624999')
    """

    MAX_SHOWN = 30

    def __init__(self, problems: list[Problem], summary: str | None = None):
        if not problems:
            raise ValueError("ValidationError needs at least one problem")
        self.problems = list(problems)
        n = len(self.problems)
        self.summary = summary or ngettext(
            "{n} problem found in {file}; nothing was changed",
            "{n} problems found in {file}; nothing was changed", n,
        ).format(n=n, file=self.problems[0].file)
        lines = [self.summary + _(":")]
        lines += ["  - " + str(p) for p in self.problems[: self.MAX_SHOWN]]
        hidden = len(self.problems) - self.MAX_SHOWN
        if hidden > 0:
            lines.append("  " + ngettext("... and {n} more problem of the same kinds",
                                         "... and {n} more problems of the same kinds",
                                         hidden).format(n=hidden))
        super().__init__("\n".join(lines))

    def columns(self) -> set[str]:
        """Columns named in any problem (handy in tests and reports)."""
        return {p.column for p in self.problems if p.column}


class NetworkError(GeoplanError):
    """A road network cannot be built or routed on (empty, disconnected, bad speeds).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from geoplan.network.build import resolve_speeds
    >>> resolve_speeds({"县道": 0})
    Traceback (most recent call last):
    ...
    geoplan.errors.NetworkError: 道路等级 '县道' 的速度须为正数（km/h），而不是 0。
    """
