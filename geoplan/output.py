"""The one way geoplan writes a file a person will open.

Every output goes through :func:`atomic_target` (or a writer built on it):

* **Atomic**: the file is written to a temporary file in the same folder,
  flushed to disk (``fsync``) and renamed into place, so an interrupted run
  leaves either the old file or the new one, never half of one.
* **No silent overwrite**: an existing file is replaced only with
  ``overwrite=True`` (the command line's ``--overwrite``); otherwise
  :class:`OutputExistsError` says so and nothing is written.
* **Text stays text** (CSV/formula injection, OWASP): :func:`write_csv`
  prefixes a single quote to any text cell that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return (unless the cell is a number), and
  :func:`write_xlsx` writes every text cell as a string cell, never a
  formula. :func:`unescape_cell` / :func:`read_csv` undo the CSV prefix when
  geoplan reads its own files back, so a round trip keeps every value. The
  cell rules themselves are in :mod:`geoplan.cells` (re-exported here).

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> df = pd.DataFrame({"name": ["回山镇", "=1+1"], "n": [3, -2]})
>>> p = write_csv(df, folder / "a.csv")
>>> p.read_text(encoding="utf-8-sig").splitlines()[2]
"'=1+1,-2"
>>> read_csv(p)["name"].tolist()
['回山镇', '=1+1']

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

# the cell handling lives in geoplan.cells; its public names stay importable from here
from geoplan.cells import (TRIGGERS, clean_xml_text, escape_cell, escape_frame, neutralise_workbook,  # noqa: F401
                           unescape_cell, unescape_frame, xlsx_value)
from geoplan.errors import GeoplanError
from geoplan.i18n import N_, _

if TYPE_CHECKING:  # pandas is imported where a frame is handled: importing this module must stay cheap (CLI start-up)
    import pandas as pd

__all__ = ["OutputError", "OutputExistsError", "check_target", "atomic_target", "write_text", "write_bytes",
           "write_csv", "write_xlsx", "write_geo", "escape_cell", "unescape_cell", "escape_frame",
           "unescape_frame", "read_csv", "TRIGGERS"]


class OutputError(GeoplanError):
    """An output file cannot be written (folder missing or read-only, disk full, path is a folder); nothing was written.

    Examples
    --------
    >>> write_text("x", tmp / "no_such_folder" / "a.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.output.OutputError: 输出文件夹 .../no_such_folder 不存在，未写任何文件。请先建好文件夹，或换一个输出路径。
    """


class OutputExistsError(OutputError):
    """The output file exists and ``overwrite`` was not given; the existing file is unchanged.

    Examples
    --------
    >>> p = write_text("一", tmp / "a.txt")
    >>> write_text("二", p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.output.OutputExistsError: 输出文件 .../a.txt 已存在，未作任何改动。要替换它请加 --overwrite，或换一个文件名。
    >>> p.read_text(encoding="utf-8")
    '一'
    """


# ---------------------------------------------------------------------- atomic writing
def check_target(path, *, overwrite: bool = False) -> Path:
    """Check that ``path`` may be written, before any work is done.

    Parameters
    ----------
    path : str or Path
        The output file.
    overwrite : bool
        Allow replacing an existing file.

    Returns
    -------
    Path

    Raises
    ------
    OutputExistsError
        The file exists and ``overwrite`` is false.
    OutputError
        The path is a folder, its folder does not exist or is not writable.

    Examples
    --------
    >>> p = write_text("x", tmp / "a.txt")
    >>> check_target(p, overwrite=True) == p
    True
    >>> check_target(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.output.OutputExistsError: 输出文件 .../a.txt 已存在，未作任何改动。要替换它请加 --overwrite，或换一个文件名。
    """
    p = Path(path)
    if p.is_dir():
        raise OutputError(_("{path} is a folder, not a file: give the path of the output file (e.g. {example}). "
                            "No file was written.").format(path=p, example=p / _("result.csv")))
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise OutputError(_("The output folder {folder} does not exist; no file was written. Make the folder first, "
                            "or give another output path.").format(folder=parent))
    if not parent.is_dir():
        raise OutputError(_("{parent} is a file, not a folder; {name} cannot be written in it. Give another output "
                            "path.").format(parent=parent, name=p.name))
    if p.exists() or p.is_symlink():
        if not overwrite:
            raise OutputExistsError(_("The output file {path} exists; nothing was changed. To replace it add "
                                      "--overwrite, or give another file name.").format(path=p))
        if not os.access(p, os.W_OK):
            raise OutputError(_("The output file {path} is read-only; nothing was changed. Give another file name or "
                                "make it writable first.").format(path=p))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(_("The folder {folder} is not writable (read-only or no permission); no file was written. "
                            "Give a folder you can write to.").format(folder=parent))
    return p


def _os_error(p: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(_("The disk is full; {path} could not be written completely, and the existing file (if any) "
                             "is unchanged. Free some space and try again.").format(path=p))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(_("{path} cannot be written ({error}): the folder is read-only or you have no permission; "
                             "no file was written. Give a folder you can write to.").format(path=p, error=exc.strerror))
    return OutputError(_("{path} cannot be written ({error}); the existing file (if any) is unchanged.").format(
        path=p, error=exc.strerror or exc))


def _disk_full(exc: BaseException) -> bool:
    text = str(exc)
    return "No space" in text or "disk is full" in text or "disk full" in text


def _save_workbook(wb, tmp: Path) -> None:
    # Built in memory, then written in one go: openpyxl's zip writer left half-open on a full disk
    # complains (a traceback on stderr) when it is collected later.
    buf = io.BytesIO()
    wb.save(buf)
    tmp.write_bytes(buf.getvalue())


def _fsync_path(path: Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        return  # some platforms cannot open a folder; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_target(path, *, overwrite: bool = False) -> Iterator[Path]:
    """Write a file atomically: yields a temporary path in the same folder, renamed into place on success.

    The temporary file sits in a private hidden folder next to the target,
    so writers that add side files (GeoPackage journals) keep them there.
    On success it is fsynced and moved onto ``path`` (without ``overwrite``
    by a no-clobber hard link, so a file created meanwhile is not replaced
    either); on any error the temporary folder is removed and ``path`` is
    as it was.

    Parameters
    ----------
    path : str or Path
        The output file.
    overwrite : bool
        Replace an existing file.

    Yields
    ------
    Path
        Where to write (same name as ``path``, inside the temporary folder).

    Raises
    ------
    OutputExistsError, OutputError
        See :func:`check_target`; also a full disk or a read-only folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_target(out) as tmp:
    ...     _ = tmp.write_text("ok")
    >>> out.read_text()
    'ok'
    """
    p = check_target(path, overwrite=overwrite)
    parent = p.parent if str(p.parent) else Path(".")
    try:
        tmpdir = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise _os_error(p, exc) from exc
    tmp = tmpdir / p.name
    try:
        try:
            yield tmp
        except OSError as exc:
            raise _os_error(p, exc) from exc
        except Exception as exc:
            if _disk_full(exc):  # GDAL and SQLite report a full disk as their own error types
                raise _os_error(p, OSError(errno.ENOSPC, "No space left on device")) from exc
            raise
        if not tmp.exists():
            raise OutputError(_("{path} was not made (the writer produced no file).").format(path=p))
        try:
            _fsync_path(tmp)
            if overwrite:
                os.replace(tmp, p)
            else:
                try:
                    os.link(tmp, p)  # fails if the file appeared meanwhile: never clobber
                except FileExistsError:
                    raise OutputExistsError(_("The output file {path} was created while writing; nothing was changed. "
                                              "To replace it add --overwrite.").format(path=p)) from None
                except OSError:  # no hard links on this file system
                    if p.exists():
                        raise OutputExistsError(_("The output file {path} exists; nothing was changed. To replace it "
                                                  "add --overwrite.").format(path=p)) from None
                    os.replace(tmp, p)
            _fsync_path(parent, directory=True)
        except OSError as exc:
            raise _os_error(p, exc) from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def write_bytes(data: bytes, path, *, overwrite: bool = False) -> Path:
    """Write bytes atomically (see :func:`atomic_target`). Returns the path.

    Examples
    --------
    >>> p = write_bytes(b"GIF89a", tmp / "a.gif")
    >>> p.read_bytes(), write_bytes(b"x", p, overwrite=True).read_bytes()
    (b'GIF89a', b'x')
    """
    with atomic_target(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_text(text: str, path, *, overwrite: bool = False, encoding: str = "utf-8") -> Path:
    """Write text atomically (HTML, JSON, GPX …; see :func:`atomic_target`). Returns the path.

    Examples
    --------
    >>> p = write_text("<p>新昌县</p>", tmp / "a.html")
    >>> p.read_text(encoding="utf-8")
    '<p>新昌县</p>'
    """
    return write_bytes(text.encode(encoding), path, overwrite=overwrite)


# ---------------------------------------------------------------------- tables
def write_csv(df: pd.DataFrame, path, *, overwrite: bool = False) -> Path:
    """Write a table as CSV for Excel: UTF-8 with BOM, text cells safe from formula injection, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; the index is not written.
    path : str or Path
        Output file.
    overwrite : bool
        Replace an existing file (else :class:`OutputExistsError`).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import codecs
    >>> import pandas as pd
    >>> p = write_csv(pd.DataFrame({"名称": ["=1+1", "南山村"]}), tmp / "a.csv")
    >>> p.read_bytes().startswith(codecs.BOM_UTF8), p.read_text(encoding="utf-8-sig").splitlines()
    (True, ['名称', "'=1+1", '南山村'])
    """
    check_target(path, overwrite=overwrite)
    text = escape_frame(df).to_csv(index=False, lineterminator="\r\n")
    return write_bytes(text.encode("utf-8-sig"), path, overwrite=overwrite)


def read_csv(path, **kwargs) -> pd.DataFrame:
    """Read a CSV geoplan wrote (UTF-8 with BOM), undoing the formula-injection prefix.

    Extra keyword arguments go to :func:`pandas.read_csv` (default ``dtype=str``,
    blanks as missing).

    Examples
    --------
    >>> import pandas as pd
    >>> p = write_csv(pd.DataFrame({"名称": ["=1+1", "南山村"]}), tmp / "a.csv")
    >>> read_csv(p)["名称"].tolist()
    ['=1+1', '南山村']
    """
    kwargs.setdefault("dtype", str)
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    kwargs.setdefault("encoding", "utf-8-sig")
    import pandas as pd

    return unescape_frame(pd.read_csv(path, **kwargs))


def write_xlsx(sheets, path, *, overwrite: bool = False, sheet_name: str = "Sheet1",
               widths: dict | None = None) -> Path:
    """Write one or more tables to an XLSX workbook: text as string cells (never formulas), atomically.

    Parameters
    ----------
    sheets : pandas.DataFrame or dict of str to DataFrame
        A table, or sheet name → table (in order).
    path : str or Path
        Output file.
    overwrite : bool
        Replace an existing file (else :class:`OutputExistsError`).
    sheet_name : str
        Sheet name when ``sheets`` is a single table.
    widths : dict, optional
        Column header → width in characters (default: from the content, 8–60).

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    Every text cell is written with ``data_type='s'``: a value such as
    ``=HYPERLINK(...)`` is shown as that text, and Excel never evaluates it.
    Numbers stay numbers. The header row is bold and frozen.

    Examples
    --------
    >>> import openpyxl, pandas as pd
    >>> p = write_xlsx({"乡镇": county["townships"][["code", "name"]], "说明": pd.DataFrame({"x": ["=1+1"]})},
    ...                tmp / "a.xlsx")
    >>> wb = openpyxl.load_workbook(p)
    >>> wb.sheetnames, wb["乡镇"].max_row, wb["乡镇"]["B2"].value, wb["说明"]["A2"].data_type
    (['乡镇', '说明'], 13, '羽林街道', 's')
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    import pandas as pd

    check_target(path, overwrite=overwrite)  # before any work: a refusal leaves nothing half-built
    if isinstance(sheets, pd.DataFrame):
        sheets = {sheet_name: sheets}
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=clean_xml_text(str(name))[:31] or "Sheet")
        cols = [str(c) for c in df.columns]
        for k, c in enumerate(cols, 1):
            if widths and c in widths:
                w = widths[c]
            else:
                sample = [c] + [str(v) for v in df.iloc[:200, k - 1].tolist() if v is not None]
                w = max(8, min(60, max(sum(2 if ord(ch) > 0x2E7F else 1 for ch in s) for s in sample) + 2))
            ws.column_dimensions[get_column_letter(k)].width = w
        ws.freeze_panes = "A2"

        def cell(v, font=None):
            value, kind = xlsx_value(v)
            c = WriteOnlyCell(ws, value=None)
            if value is not None:
                c.value = value
                c.data_type = kind  # set after the value: openpyxl would make "=…" a formula
            if font is not None:
                c.font = font
            return c

        ws.append([cell(c, bold) for c in cols])
        for row in df.itertuples(index=False, name=None):
            ws.append([cell(v) for v in row])
    if not sheets:
        wb.create_sheet("Sheet1")
    with atomic_target(path, overwrite=overwrite) as tmp:
        _save_workbook(wb, tmp)
    return Path(path)


def write_geo(gdf, path, *, layer: str | None = None, overwrite: bool = False) -> Path:
    """Write a GeoDataFrame as GeoPackage (``.gpkg``) or GeoJSON (``.geojson``/``.json``), atomically.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
    path : str or Path
    layer : str, optional
        GeoPackage layer name (default: the file's stem).
    overwrite : bool
        Replace an existing file (else :class:`OutputExistsError`).

    Returns
    -------
    Path

    Examples
    --------
    >>> import geopandas as gpd
    >>> g = gpd.read_file(write_geo(county["villages"], tmp / "v.geojson"))
    >>> len(g), g.crs.to_epsg()
    (292, 4490)
    """
    p = Path(path)
    suffix = p.suffix.lower()
    with atomic_target(p, overwrite=overwrite) as tmp:
        try:
            if suffix == ".gpkg":
                gdf.to_file(tmp, layer=layer or p.stem, driver="GPKG", geometry_type="Unknown")
            elif suffix in (".geojson", ".json"):
                gdf.to_file(tmp, driver="GeoJSON")
            else:
                raise OutputError(_("Cannot write the format '{suffix}': use .gpkg or .geojson.").format(
                    suffix=suffix or _("no extension")))
        except (OSError, OutputError):
            raise
        except Exception as exc:  # GDAL reports a full disk as its own error type
            if _disk_full(exc):
                raise _os_error(p, OSError(errno.ENOSPC, "No space left on device")) from exc
            raise OutputError(_("{path} cannot be written ({error}); no file was written.").format(
                path=p, error=exc)) from exc
    return p


def table_writer(path):
    """The writer for a table file by its extension: :func:`write_xlsx` for ``.xlsx``, else :func:`write_csv`.

    Examples
    --------
    >>> table_writer("a.xlsx").__name__, table_writer("a.csv").__name__
    ('write_xlsx', 'write_csv')
    """
    return write_xlsx if Path(path).suffix.lower() == ".xlsx" else write_csv


def write_table(df: pd.DataFrame, path, *, overwrite: bool = False, sheet_name: str = "Sheet1") -> Path:
    """Write a table as XLSX (by extension) or CSV; see :func:`write_xlsx` and :func:`write_csv`.

    Examples
    --------
    >>> t = county["townships"][["code", "name"]]
    >>> write_table(t, tmp / "t.xlsx").suffix, len(read_csv(write_table(t, tmp / "t.csv")))
    ('.xlsx', 12)
    """
    if Path(path).suffix.lower() == ".xlsx":
        return write_xlsx(df, path, overwrite=overwrite, sheet_name=sheet_name)
    return write_csv(df, path, overwrite=overwrite)


__all__ += ["table_writer", "write_table"]


# ---------------------------------------------------------------------- formatted workbooks, several targets
def save_workbook(wb, path, *, overwrite: bool = False) -> Path:
    """Save a formatted openpyxl workbook: formula cells neutralised (:func:`neutralise_workbook`), atomically.

    For modules that build their own styled sheets (print set-up, fills):
    the formatting is kept, the save goes through :func:`atomic_target`.

    Parameters
    ----------
    wb : openpyxl.Workbook
    path : str or Path
    overwrite : bool
        Replace an existing file (else :class:`OutputExistsError`).

    Returns
    -------
    Path

    Examples
    --------
    >>> import openpyxl
    >>> wb = openpyxl.Workbook()
    >>> wb.active["A1"] = "=1+1"
    >>> openpyxl.load_workbook(save_workbook(wb, tmp / "a.xlsx")).active["A1"].data_type
    's'
    """
    check_target(path, overwrite=overwrite)
    neutralise_workbook(wb)
    with atomic_target(path, overwrite=overwrite) as tmp:
        _save_workbook(wb, tmp)
    return Path(path)


def check_targets(paths, *, overwrite: bool = False) -> list[Path]:
    """:func:`check_target` for every path, before any work: one refusal means nothing is written.

    Returns the paths. ``None`` entries are skipped.

    Examples
    --------
    >>> _ = write_text("x", tmp / "b.csv")
    >>> [p.name for p in check_targets([tmp / "a.csv", tmp / "b.csv"], overwrite=True)]
    ['a.csv', 'b.csv']
    >>> check_targets([tmp / "a.csv", tmp / "b.csv"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.output.OutputExistsError: 输出文件 .../b.csv 已存在，未作任何改动。要替换它请加 --overwrite，或换一个文件名。
    """
    return [check_target(p, overwrite=overwrite) for p in paths if p is not None]


def refuse_inputs(targets, inputs) -> None:
    """Raise :class:`OutputError` when an output path is one of the command's input files (even with ``--overwrite``).

    Examples
    --------
    >>> refuse_inputs(["a.xlsx"], ["plan.gpkg"])
    """
    seen = {Path(p).resolve() for p in inputs if p is not None}
    for t in targets:
        if t is not None and Path(t).resolve() in seen:
            raise OutputError(_("The output file {path} is an input file: geoplan never changes its inputs. Give "
                                "another output file name. No file was written.").format(path=t))


#: The command line's text for ``--overwrite`` (every command that writes a file the user names has it).
#: (the text has its Chinese translation in the catalog: reuse it rather than word a new one)
OVERWRITE_HELP = N_("Replace the --out file if it exists.")

__all__ += ["neutralise_workbook", "save_workbook", "check_targets", "refuse_inputs", "OVERWRITE_HELP"]
