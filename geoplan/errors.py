"""Exception classes of geoplan.

Every error a user can cause by giving geoplan a bad file or a bad argument
is a :class:`GeoplanError`. Its message is written for a planner, not a
programmer: it names the file, the layer, the row and the column at fault and
says what to do. The command line prints that message and exits non-zero
instead of showing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        Where the row is, in the words of the file format: ``"row 7"`` for a
        spreadsheet row as Excel numbers it, ``"feature 7"`` for a vector
        feature (1-based). ``None`` for a problem with the whole layer.
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
        where = [self.file]
        if self.layer:
            where.append(f"layer '{self.layer}'")
        if self.row:
            where.append(self.row)
        if self.column:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": " + self.message
        if self.value is not None:
            text += f" (value: {self.value})"
        if self.hint:
            text += f" — {self.hint}"
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
        self.summary = summary or (
            f"{len(self.problems)} problem(s) found in {self.problems[0].file}; "
            "nothing was changed"
        )
        lines = [self.summary + ":"]
        lines += ["  - " + str(p) for p in self.problems[: self.MAX_SHOWN]]
        hidden = len(self.problems) - self.MAX_SHOWN
        if hidden > 0:
            lines.append(f"  ... and {hidden} more problem(s) of the same kinds")
        super().__init__("\n".join(lines))

    def columns(self) -> set[str]:
        """Columns named in any problem (handy in tests and reports)."""
        return {p.column for p in self.problems if p.column}


class NetworkError(GeoplanError):
    """A road network cannot be built or routed on (empty, disconnected, bad speeds)."""
