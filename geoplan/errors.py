"""Exception classes of geoplan.

Every error a user can cause by giving geoplan a bad file or a bad argument
is a :class:`GeoplanError`. Its message is written for a planner, not a
programmer: it names the file, the layer, the row and the column at fault and
says what to do. The command line prints that message and exits non-zero
instead of showing a traceback.
"""

from __future__ import annotations

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
    """A vector feature, 1-based, in the reader's language: ``第 7 个要素`` / ``feature 7``."""
    return _("feature {number}").format(number=number)


class GeoplanError(Exception):
    """Base class of every error geoplan raises on purpose."""


class DataFileError(GeoplanError):
    """A file cannot be opened or read at all (missing, empty, truncated, wrong format)."""


class CRSError(GeoplanError):
    """A layer has no coordinate reference system, or one geoplan cannot use."""


class EncodingError(DataFileError):
    """The text in a file cannot be decoded with any encoding Chinese data uses."""


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
    """A road network cannot be built or routed on (empty, disconnected, bad speeds)."""
