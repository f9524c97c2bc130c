"""Reading layers from files: one reader for every format planners have.

:func:`read_layer` opens a GeoPackage, GeoJSON, Shapefile, CSV or XLSX file,
turns it into a GeoDataFrame and passes it through
:func:`geoplan.layers.validate.validate_frame`, so what comes back is always a
schema-valid layer in CGCS2000 (EPSG:4490). Reading never writes anything:
not a ``.cpg`` next to a Shapefile, not a cache.

Chinese data has two traps this module handles:

* Shapefiles exported by older Chinese GIS software store GBK/GB18030 text in
  the DBF without a ``.cpg`` file, and GDAL then decodes it as Latin-1
  (mojibake). The encoding is detected from the bytes.
* Spreadsheets and CSVs from web maps hold GCJ-02 coordinates; pass
  ``coords="gcj02"`` to convert them.

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import struct
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geoplan.layers import crs as _crs
from geoplan.errors import (CRSError, DataFileError, EncodingError, GeoplanError, Problem, RowLabels,
                            ValidationError)
from geoplan.i18n import _
from geoplan.layers.validate import validate_frame

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp"}
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "x")
LAT_NAMES = ("lat", "latitude", "纬度", "y")
# Tried in this order: UTF-8 first because valid GBK text is almost never
# valid UTF-8, whereas ASCII-only UTF-8 is valid in everything.
TEXT_ENCODINGS = ("utf-8", "gb18030")


def _check_file(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataFileError(_(
            "File not found: {path} (looked for {full}). Check the path and the file name; "
            "the current directory is {cwd}."
        ).format(path=p, full=p.resolve(), cwd=Path.cwd()))
    if p.is_dir():
        raise DataFileError(_("{path} is a folder, not a file. Give the path of the layer file inside it.").format(path=p))
    if p.stat().st_size == 0:
        raise DataFileError(_(
            "{path} is empty (0 bytes). The export or download probably failed; export it again.").format(path=p))
    return p


def list_layers(path) -> list[str]:
    """Names of the layers in a vector file (tables in a GeoPackage, sheets in an XLSX).

    Examples
    --------
    >>> from geoplan.layers.sample import sample_paths
    >>> list_layers(sample_paths("330624")[0])[:4]
    ['county', 'neighbours', 'townships', 'villages']
    """
    p = _check_file(path)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return list(_excel_sheets(p))
    try:
        return [str(name) for name in pyogrio.list_layers(p)[:, 0]]
    except Exception as exc:  # GDAL raises several types for a damaged file
        raise _unreadable(p, exc) from exc


def _unreadable(p: Path, exc: Exception) -> DataFileError:
    return DataFileError(_(
        "{path} cannot be read as a {format} file: it is damaged, "
        "truncated or not of that format ({error}). "
        "Copy or export it again from the source."
    ).format(path=p, format=p.suffix.lstrip(".").upper() or _("data"),
             error=f"{type(exc).__name__}: {str(exc).strip()[:200]}"))


# --------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------

def detect_dbf_encoding(dbf: Path) -> str | None:
    """Encoding of a DBF's text, detected from its bytes; None if pure ASCII.

    Raises
    ------
    EncodingError
        If the text is neither UTF-8 nor GB18030 (a superset of GBK and GB2312).

    Examples
    --------
    >>> county["townships"][["code", "name", "geometry"]].to_file(tmp / "t.shp", encoding="gbk", engine="pyogrio")
    >>> detect_dbf_encoding(tmp / "t.dbf")
    'gb18030'
    """
    data = dbf.read_bytes()
    if len(data) < 32:
        raise DataFileError(_("{path} is truncated: a DBF header alone is 32 bytes. Copy the file again.").format(
            path=dbf))
    header_len = struct.unpack("<H", data[8:10])[0]
    body = data[header_len:]
    if body.isascii():
        return None
    for enc in TEXT_ENCODINGS:
        try:
            body.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    raise EncodingError(_(
        "The text in {path} is neither UTF-8 nor GBK/GB18030, so Chinese names would come out garbled. "
        "Add a .cpg file next to the .shp naming the encoding (one line, e.g. GBK or UTF-8), "
        "or pass encoding=... / --encoding."
    ).format(path=dbf))


def _decode_text_file(p: Path, encoding: str | None) -> tuple[str, str]:
    data = p.read_bytes()
    candidates = (encoding,) if encoding else ("utf-8-sig",) + TEXT_ENCODINGS[1:]
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    if encoding:
        message = _("The text in {path} is neither UTF-8 nor GBK/GB18030 (and not {encoding}). "
                    "Save it again as 'CSV UTF-8' (Excel: Save As ▸ CSV UTF-8) or pass the right encoding.")
    else:
        message = _("The text in {path} is neither UTF-8 nor GBK/GB18030. "
                    "Save it again as 'CSV UTF-8' (Excel: Save As ▸ CSV UTF-8) or pass the right encoding.")
    raise EncodingError(message.format(path=p, encoding=encoding))


# --------------------------------------------------------------------------
# Readers of each format, returning (frame, row labels, problems)
# --------------------------------------------------------------------------

def _read_vector(p: Path, layer: str | None, kind: str, encoding: str | None):
    suffix = p.suffix.lower()
    kwargs = {}
    if suffix == ".shp":
        for part in (".shx", ".dbf"):
            if not p.with_suffix(part).exists() and not p.with_suffix(part.upper()).exists():
                raise DataFileError(_(
                    "{path} is a Shapefile without its {part} file. A Shapefile is several files "
                    "(.shp, .shx, .dbf, .prj, .cpg): copy all of them into the same folder."
                ).format(path=p, part=part))
        dbf = p.with_suffix(".dbf")
        has_cpg = p.with_suffix(".cpg").exists() or p.with_suffix(".CPG").exists()
        if encoding:
            kwargs["encoding"] = encoding
        elif not has_cpg and dbf.exists():
            detected = detect_dbf_encoding(dbf)
            if detected:
                kwargs["encoding"] = detected
    if suffix == ".gpkg":
        layers = list_layers(p)
        if layer is None:
            if kind in layers:
                layer = kind
            elif len(layers) == 1:
                layer = layers[0]
            else:
                raise DataFileError(_(
                    "{path} holds several layers ({layers}) and none is called '{kind}'. "
                    "Say which one to read with layer=... / --layer."
                ).format(path=p, layers=_(", ").join(layers), kind=kind))
        elif layer not in layers:
            raise DataFileError(_("{path} has no layer '{layer}'. Its layers are: {layers}.").format(
                path=p, layer=layer, layers=_(", ").join(layers)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = pyogrio.read_dataframe(p, layer=layer, **kwargs)
    except Exception as exc:
        raise _unreadable(p, exc) from exc
    if suffix == ".shp" and _shp_truncated(p, len(gdf)):
        raise DataFileError(_(
            "{path} is truncated: the .shp/.shx files are shorter than their headers say, so features "
            "are missing. Copy or export the Shapefile again."
        ).format(path=p))
    if not isinstance(gdf, gpd.GeoDataFrame):
        gdf = gpd.GeoDataFrame(gdf)
    labels = RowLabels.features(len(gdf))
    return gdf, labels, [], layer


def _shp_truncated(p: Path, n_read: int) -> bool:
    """True if the .shp or .shx is shorter than its own header declares (a cut-off copy)."""
    for part in (".shp", ".shx"):
        f = p.with_suffix(part)
        if not f.exists():
            continue
        head = f.read_bytes()[:100]
        if len(head) < 100:
            return True
        declared = struct.unpack(">i", head[24:28])[0] * 2  # length in 16-bit words
        if f.stat().st_size < declared:
            return True
    dbf = p.with_suffix(".dbf")
    if dbf.exists():
        head = dbf.read_bytes()[:12]
        if len(head) >= 12:
            n, header_len, rec_len = struct.unpack("<IHH", head[4:12])
            if dbf.stat().st_size < header_len + n * rec_len:
                return True
    return False


def _excel_sheets(p: Path) -> list[str]:
    try:
        with pd.ExcelFile(p, engine="openpyxl") as book:
            return [str(s) for s in book.sheet_names]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _unreadable(p, exc) from exc


def _read_table(p: Path, layer: str | None, encoding: str | None, lon_col: str | None,
                lat_col: str | None, crs, coords: str):
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        sheets = _excel_sheets(p)
        sheet = layer if layer is not None else sheets[0]
        if sheet not in sheets:
            raise DataFileError(_("{path} has no sheet '{sheet}'. Its sheets are: {sheets}.").format(
                path=p, sheet=sheet, sheets=_(", ").join(sheets)))
        try:
            df = pd.read_excel(p, sheet_name=sheet, dtype=object, engine="openpyxl")
        except Exception as exc:
            raise _unreadable(p, exc) from exc
        layer = sheet
    else:
        import io as _stdio

        text, _encoding = _decode_text_file(p, encoding)
        _check_csv_complete(p, text)
        try:
            df = pd.read_csv(_stdio.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError as exc:
            raise DataFileError(_("{path} has no header row and no data. Export the table again.").format(
                path=p)) from exc
        except pd.errors.ParserError as exc:
            raise DataFileError(_(
                "{path} is not a well-formed CSV file: it is truncated or a quote is left open "
                "({error}). Export it again."
            ).format(path=p, error=str(exc).strip()[:200])) from exc
    df = df.dropna(how="all").reset_index(drop=True)
    df.columns = [str(c).strip() for c in df.columns]
    # Spreadsheet row numbers as Excel shows them: the header is row 1.
    labels = RowLabels.rows(len(df))

    lon_col = lon_col or _find_column(df, LON_NAMES)
    lat_col = lat_col or _find_column(df, LAT_NAMES)
    problems: list[Problem] = []
    if lon_col is None or lat_col is None or lon_col not in df or lat_col not in df:
        raise ValidationError([Problem(
            str(p), layer, None, None, None,
            _("no longitude/latitude columns found (looked for {lon} and {lat})").format(
                lon=_(", ").join(LON_NAMES), lat=_(", ").join(LAT_NAMES)),
            _("add the two coordinate columns or name them with lon_col/lat_col (--lon/--lat)"),
        )])
    xs = pd.to_numeric(df[lon_col].map(lambda v: str(v).strip(), na_action="ignore"), errors="coerce")
    ys = pd.to_numeric(df[lat_col].map(lambda v: str(v).strip(), na_action="ignore"), errors="coerce")
    for col, raw, num in ((lon_col, df[lon_col], xs), (lat_col, df[lat_col], ys)):
        for i in np.flatnonzero(num.isna().to_numpy()):
            value = raw.iloc[i]
            empty = value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""
            problems.append(Problem(
                str(p), layer, labels[i], col, None if empty else str(value),
                _("the coordinate is empty") if empty else _("the coordinate is not a number"),
                _("fill in decimal degrees, e.g. 120.9057 and 29.5012"),
            ))
    bad = xs.isna().to_numpy() | ys.isna().to_numpy()
    geoms = shapely.points(xs.to_numpy(dtype=float), ys.to_numpy(dtype=float))
    geoms[bad] = None
    target = CRS.from_user_input(crs) if crs is not None else _crs.STORAGE_CRS
    gdf = gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=geoms, crs=target)
    if coords == "gcj02":
        gdf = _crs.gcj02_to_cgcs2000(gdf)
    return gdf, labels, problems, layer


def _check_csv_complete(p: Path, text: str) -> None:
    """Refuse a CSV cut off mid-record (open quote, or a last row shorter than the header).

    pandas pads a short last row with empty cells, which would report a
    truncated download as a list of 'empty value' problems instead of saying
    what happened.
    """
    import csv
    import io as _stdio

    try:
        records = [r for r in csv.reader(_stdio.StringIO(text), strict=True) if r]
    except csv.Error as exc:
        raise DataFileError(_(
            "{path} is not a well-formed CSV file: it is truncated or a quote is left open "
            "({error}). Export it again."
        ).format(path=p, error=exc)) from exc
    if len(records) > 1 and len(records[-1]) < len(records[0]) and not text.endswith(("\n", "\r")):
        raise DataFileError(_(
            "{path} looks truncated: its last line has {found} of {expected} columns and "
            "no line end. Export or download it again."
        ).format(path=p, found=len(records[-1]), expected=len(records[0])))


def _find_column(df: pd.DataFrame, names) -> str | None:
    lower = {c.lower(): c for c in df.columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def read_frame(path, kind: str = "", *, layer: str | None = None, encoding: str | None = None,
               lon_col: str | None = None, lat_col: str | None = None, crs=None,
               coords: str = "cgcs2000"):
    """Read a file into a GeoDataFrame *without* validating it.

    Returns ``(gdf, row_labels, problems, layer)``; see :func:`read_layer`
    for the parameters. Useful to inspect a file that does not validate.

    Examples
    --------
    >>> from geoplan.layers.sample import sample_paths
    >>> gdf, labels, problems, layer = read_frame(sample_paths("330624")[0], "villages", layer="villages")
    >>> len(gdf), layer, problems
    (292, 'villages', [])
    """
    p = _check_file(path)
    if coords not in ("cgcs2000", "wgs84", "gcj02"):
        raise GeoplanError(_("coords must be 'cgcs2000', 'wgs84' or 'gcj02', not {value}.").format(value=repr(coords)))
    suffix = p.suffix.lower()
    if suffix in VECTOR_SUFFIXES:
        gdf, labels, problems, layer = _read_vector(p, layer, kind, encoding)
        if crs is not None:
            gdf = gdf.set_crs(_crs.check_known_crs(crs, _("CRS given for {path}").format(path=p)),
                              allow_override=True)
        if coords == "gcj02":
            gdf = _crs.gcj02_to_cgcs2000(gdf)
    elif suffix in TABLE_SUFFIXES:
        gdf, labels, problems, layer = _read_table(p, layer, encoding, lon_col, lat_col, crs, coords)
    elif suffix == ".xls":
        raise DataFileError(_(
            "{path} is an old Excel 97–2003 .xls file. Open it in Excel and save it as .xlsx.").format(path=p))
    else:
        raise DataFileError(_(
            "{path}: geoplan does not read '{suffix}' files. Use GeoPackage (.gpkg), "
            "GeoJSON, Shapefile (.shp), CSV or XLSX with longitude/latitude columns."
        ).format(path=p, suffix=suffix or _("no extension")))
    if gdf.crs is None:
        if suffix == ".shp":
            message = _("{path} has no coordinate reference system (the .prj file is missing). "
                        "Pass it explicitly (crs='EPSG:4490' / --crs EPSG:4490 for CGCS2000 longitude/latitude) "
                        "or export the layer again with its CRS.")
        else:
            message = _("{path} has no coordinate reference system. "
                        "Pass it explicitly (crs='EPSG:4490' / --crs EPSG:4490 for CGCS2000 longitude/latitude) "
                        "or export the layer again with its CRS.")
        raise CRSError(message.format(path=p))
    try:
        _crs.check_known_crs(gdf.crs, _("layer in {file}").format(file=p))
    except CRSError as exc:
        raise CRSError(_("{path}: {error}").format(path=p, error=exc)) from exc
    return gdf, labels, problems, layer


def read_layer(path, kind: str, *, layer: str | None = None, encoding: str | None = None,
               lon_col: str | None = None, lat_col: str | None = None, crs=None,
               coords: str = "cgcs2000", townships=None, check_official: bool = True,
               repair: bool = False) -> gpd.GeoDataFrame:
    """Read and validate one layer from any supported file.

    Parameters
    ----------
    path : str or Path
        GeoPackage (``.gpkg``), GeoJSON, Shapefile (``.shp`` with its
        sidecar files), CSV or XLSX. CSV/XLSX need longitude and latitude
        columns (``lon``/``lng``/``longitude``/``经度`` and ``lat``/``latitude``/``纬度``).
    kind : str
        Layer kind (see :mod:`geoplan.layers.schema`): ``"townships"``, ``"roads"`` …
    layer : str, optional
        GeoPackage layer or XLSX sheet; by default the layer named like
        ``kind``, or the only one.
    encoding : str, optional
        Text encoding; by default detected (UTF-8 or GBK/GB18030).
    lon_col, lat_col : str, optional
        Coordinate columns of a CSV/XLSX, if not found by name.
    crs : optional
        CRS of the data when the file has none (or declares a wrong one);
        CSV/XLSX default to CGCS2000 longitude/latitude.
    coords : {"cgcs2000", "wgs84", "gcj02"}
        ``"gcj02"`` converts web-map coordinates to CGCS2000.
    townships : iterable of str, optional
        Township codes of the study area, to check township-code columns against.
    check_official : bool
        Check township codes against the official national list.
    repair : bool
        Repair invalid geometries instead of reporting them.

    Returns
    -------
    geopandas.GeoDataFrame
        Valid layer in EPSG:4490 (``attrs`` hold source, layer, kind).

    Raises
    ------
    DataFileError
        Missing, empty, truncated or unreadable file; unknown format.
    EncodingError
        Text that is neither UTF-8 nor GBK/GB18030.
    CRSError
        No CRS, or one that cannot be related to CGCS2000.
    ValidationError
        Every schema problem, with file, layer, row, column and value.

    Examples
    --------
    >>> from geoplan.layers.sample import sample_paths
    >>> towns = read_layer(sample_paths("330624")[0], "townships")
    >>> len(towns), towns.crs.to_epsg(), int(towns["population"].sum())
    (12, 4490, 419036)
    >>> county["villages"].head(2).assign(township_code="330624999").to_file(tmp / "v.gpkg", engine="pyogrio")
    >>> read_layer(tmp / "v.gpkg", "villages")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.ValidationError: 在 .../v.gpkg 中发现 2 个问题，未做任何修改：
      - 文件 .../v.gpkg，图层 'v'，第 1 个要素，字段 'township_code'：该代码不是官方乡镇(街道)行政区划代码（国家统计局区划代码，2022 年版）（值：330624999）——请在官方代码表中查找该乡镇(街道)；撤并后代码会改变
      - 文件 .../v.gpkg，图层 'v'，第 2 个要素，字段 'township_code'：该代码不是官方乡镇(街道)行政区划代码（国家统计局区划代码，2022 年版）（值：330624999）——请在官方代码表中查找该乡镇(街道)；撤并后代码会改变
    """
    gdf, labels, problems, layer = read_frame(
        path, kind, layer=layer, encoding=encoding, lon_col=lon_col, lat_col=lat_col, crs=crs, coords=coords)
    return validate_frame(gdf, kind, source=str(path), layer=layer, row_labels=labels,
                          townships=townships, check_official=check_official, repair=repair,
                          extra_problems=problems)


def write_layer(gdf: gpd.GeoDataFrame, path, layer: str, *, overwrite: bool = False) -> Path:
    """Add a layer to a GeoPackage (in EPSG:4490) through :func:`geoplan.output.atomic_target`.

    The GeoPackage (a copy of the existing one, if any, so its other layers are kept) is written under a
    temporary name beside the target and renamed over it only when complete: an interrupted or failed
    write leaves the file as it was.

    Parameters
    ----------
    gdf : GeoDataFrame
    path : str or Path
        The GeoPackage; created if missing.
    layer : str
        Layer name.
    overwrite : bool
        Replace a layer of that name already in the file; without it that is refused
        (:class:`geoplan.output.OutputExistsError`) and the file is unchanged.

    Returns
    -------
    Path

    Examples
    --------
    >>> p = write_layer(county["villages"], tmp / "v.gpkg", "villages")
    >>> list_layers(p), len(read_layer(p, "villages"))
    (['villages'], 292)
    """
    import shutil

    from geoplan.output import OutputExistsError, atomic_target

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    exists = p.exists()
    if exists and not overwrite and layer in list_layers(p):
        raise OutputExistsError(_("{path} already has a layer '{layer}'; nothing changed. Give --overwrite to "
                                  "replace it.").format(path=p, layer=layer))
    storage = _crs.to_storage(gdf)  # a layer without a CRS is refused before anything is written
    # the file is replaced by its own copy plus the layer: the one output path's atomic rename
    with atomic_target(p, overwrite=True) as tmp:
        if exists:
            shutil.copyfile(p, tmp)
        pyogrio.write_dataframe(storage, tmp, layer=layer, driver="GPKG")
    return p


# --------------------------------------------------------------------------
# The population raster lives in geoplan.layers.raster; its names stay importable from here.
# The re-export is lazy (PEP 562) because raster.py builds on this module's file checks.
# --------------------------------------------------------------------------
_MOVED_TO_RASTER = ("PopulationRaster", "read_population")


def __getattr__(name: str):
    if name in _MOVED_TO_RASTER:
        from geoplan.layers import raster

        return getattr(raster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
