"""Reading a user's table (CSV, XLSX, GeoJSON, GeoPackage) into gazetteer columns for an import."""

from __future__ import annotations

from pathlib import Path

from geoplan.gazetteer.lazy_pandas import pd

from geoplan.errors import DataFileError
from geoplan.gazetteer.import_rows import gc_paused
from geoplan.gazetteer.records import GazetteerError, _cell, category_from_code, split_committee
from geoplan.i18n import _

IMPORT_FIELDS = ("name_id", "name", "specific", "generic", "category", "parent_code", "pron_override",
                 "valid_from", "valid_to", "origin", "meaning", "heritage_level", "heritage_year", "sources", "status",
                 "committee")


def read_import_table(path, mapping: dict[str, str] | None = None, *, layer: str | None = None,
                      encoding: str | None = None, category: str | None = None,
                      category_from_code: str | None = None, gcj02: bool = False):
    """Read a CSV, XLSX, GeoJSON or GeoPackage into gazetteer columns.

    Uses :func:`geoplan.layers.io.read_frame` (encoding detection, CRS checks);
    a CSV/XLSX without longitude/latitude columns is read as a plain table.
    The file is only read. Cells of a CSV that geoplan escaped against
    formula injection (``'=…``) are read back as they were. A committee
    name (对面山村委会, 多福巷社区居委会) is split into the place name
    (对面山村) and the ``committee`` attribute.

    Parameters
    ----------
    mapping : dict, optional
        Gazetteer field → column of the file (``{"name_id": "code"}``); a
        column already named like a field needs no mapping.
    layer : str, optional
        GeoPackage layer or XLSX sheet (default: the first *visible* sheet;
        a hidden sheet is refused).
    category : str, optional
        Category code for every row (when the file has no category column).
    category_from_code : str, optional
        Column of official codes to derive the category from: 9-digit
        township codes (:func:`township_category`) and 12-digit village codes
        (:func:`village_category`: 001–199 → 1210, 200–399 → 1220).
    gcj02 : bool
        Coordinates were picked on a Chinese web map (GCJ-02): convert them
        to CGCS2000.

    Returns
    -------
    (pandas.DataFrame, list of str)
        Mapped table (``geometry`` as WKT) and the row labels for messages.

    Raises
    ------
    DataFileError, EncodingError, GazetteerError
        Unreadable or wrongly encoded file, a hidden sheet, or a mapped column missing.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> src = pathlib.Path(tempfile.mkdtemp()) / "villages.csv"
    >>> _ = src.write_text("code,name,streetCode\\n330624104201,对面山村委会,330624104\\n", encoding="gb18030")
    >>> df, labels = read_import_table(src, {"name_id": "code", "parent_code": "streetCode"},
    ...                                category_from_code="code")
    >>> df[["name_id", "name", "category", "committee"]].values.tolist(), labels
    ([['330624104201', '对面山村', '1220', '对面山村委会']], ['第 2 行'])
    """
    with gc_paused():  # a national list makes millions of cells (see gc_paused)
        return _read_import_table(path, mapping, layer, encoding, category, category_from_code, gcj02)


def _read_import_table(path, mapping, layer, encoding, category, category_from_code, gcj02):
    from geoplan.layers import io as gio
    from geoplan.output import unescape_frame

    p = gio._check_file(path)
    mapping = dict(mapping or {})
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        layer = _pick_sheet(p, layer)
    if suffix in gio.TABLE_SUFFIXES and not _has_coordinates(p, layer, encoding):
        df, labels = _read_plain_table(p, layer, encoding)
        if "geometry" in df.columns and gcj02:
            df["geometry"] = _wkt_gcj02(df["geometry"])
    else:
        gdf, labels, problems, _crs = gio.read_frame(p, "place_names", layer=layer, encoding=encoding,
                                                  coords="gcj02" if gcj02 else "cgcs2000")
        if problems:  # e.g. text in a coordinate column: never import such a row without its place
            from geoplan.errors import ValidationError

            raise ValidationError(problems)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["geometry"] = [None if g is None or g.is_empty else g.wkt for g in gdf.to_crs(4490).geometry]
    if suffix == ".csv":
        df = unescape_frame(df)
    if df.empty:
        raise GazetteerError(_("{path} has no data rows (only a header, or only empty rows); no name was imported. "
                               "Check that the file was exported completely.").format(path=p))
    unknown = set(mapping) - set(IMPORT_FIELDS)
    if unknown:
        raise GazetteerError(_("Unknown gazetteer field(s) in the mapping: {unknown}. Fields: {fields}.").format(
            unknown=", ".join(sorted(unknown)), fields=", ".join(IMPORT_FIELDS)))
    missing = [c for c in mapping.values() if c not in df.columns]
    if missing:
        raise GazetteerError(_("{file} has no column {missing}; its columns are {columns}.").format(
            file=p, missing=", ".join(repr(m) for m in missing), columns=", ".join(map(str, df.columns))))
    out = pd.DataFrame(index=df.index)
    for f in IMPORT_FIELDS:
        col = mapping.get(f, f if f in df.columns else None)
        if col is not None:
            out[f] = pd.Series([_cell(v) for v in df[col].tolist()], index=df.index, dtype=object)
    if "geometry" in df:
        out["geometry"] = df["geometry"]
    if category_from_code:
        if category_from_code not in df.columns:
            raise GazetteerError(_("{file} has no column {column!r} to derive categories from.").format(
                file=p, column=category_from_code))
        derived = [category_from_code_(v) for v in df[category_from_code].tolist()]
        out["category"] = pd.Series(derived, index=df.index, dtype=object)
        if "category" in out and out["category"].isna().any():
            out["category"] = out["category"].where(out["category"].notna(), category)
    elif category:
        out["category"] = out["category"].fillna(category) if "category" in out else category
    if "name" not in out:
        raise GazetteerError(_("{file} has no 'name' column; map one with --map name=COLUMN.").format(file=p))
    if "category" not in out:
        raise GazetteerError(_("{file} has no 'category' column; map one with --map category=COLUMN or give "
                                "--category.").format(file=p))
    # Statistical lists name the committee, not the place: 对面山村委会 is the committee of 对面山村.
    names, committees = [], []
    given = out["committee"].tolist() if "committee" in out else [None] * len(out)
    for n, c in zip(out["name"].tolist(), given):
        if isinstance(n, str):
            place, committee = split_committee(n)
            names.append(place)
            committees.append(c or committee)
        else:
            names.append(n)
            committees.append(c)
    out["name"] = pd.Series(names, index=out.index, dtype=object)
    if any(c is not None for c in committees):
        out["committee"] = pd.Series(committees, index=out.index, dtype=object)
    return out.astype(object).where(out.notna(), None), labels


category_from_code_ = category_from_code  # the module-level function; the parameter above shadows its name


def _wkt_gcj02(values: pd.Series) -> pd.Series:
    import geopandas as gpd
    import shapely

    from geoplan.layers import crs as _crs

    geoms = []
    for v in values.tolist():
        try:
            geoms.append(shapely.from_wkt(v) if isinstance(v, str) and v.strip() else None)
        except Exception:  # malformed WKT is reported per row by check_geometry later
            geoms.append(None)
    gdf = gpd.GeoDataFrame(geometry=geoms, crs=4490)
    conv = _crs.gcj02_to_cgcs2000(gdf).geometry
    return pd.Series([values.iloc[i] if geoms[i] is None else conv.iloc[i].wkt for i in range(len(geoms))],
                     index=values.index, dtype=object)


def _pick_sheet(p: Path, layer: str | None) -> str:
    """The sheet to import: ``layer`` if given and visible, else the first visible sheet."""
    from openpyxl import load_workbook

    from geoplan.layers import io as gio

    try:
        wb = load_workbook(p, read_only=True)
    except Exception as exc:  # a damaged or disguised file: openpyxl raises several types
        raise gio._unreadable(p, exc) from exc
    try:
        states = {ws.title: ws.sheet_state for ws in wb.worksheets}
    finally:
        wb.close()
    visible = [t for t, st in states.items() if st == "visible"]
    if layer is not None:
        if layer not in states:
            raise DataFileError(_("{path} has no sheet named “{sheet}”. Its sheets are: {sheets}.").format(
                path=p, sheet=layer, sheets=_(", ").join(states)))
        if states[layer] != "visible":
            raise GazetteerError(_("The sheet “{sheet}” of {path} is hidden; it was not imported. A hidden sheet is "
                                   "often a draft or old data: to import it, unhide it in Excel first.").format(
                sheet=layer, path=p))
        return layer
    if not visible:
        raise GazetteerError(_("{path} has no visible sheet (all are hidden); nothing was imported. Unhide the "
                               "sheet to import in Excel.").format(path=p))
    return visible[0]


def _has_coordinates(p: Path, layer, encoding) -> bool:
    from geoplan.layers import io as gio

    if p.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            head = pd.read_excel(p, sheet_name=layer or 0, nrows=0, engine="openpyxl")
        except Exception as exc:  # openpyxl raises several types for a damaged file
            raise gio._unreadable(p, exc) from exc
    else:
        import io as _stdio

        text, _enc = gio._decode_text_file(p, encoding)
        try:
            head = pd.read_csv(_stdio.StringIO(text), nrows=0)
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise DataFileError(_("{path} is not a readable CSV file ({error}). Export it again.").format(
                path=p, error=exc)) from exc
    head.columns = [str(c).strip() for c in head.columns]
    return gio._find_column(head, gio.LON_NAMES) is not None and gio._find_column(head, gio.LAT_NAMES) is not None


def _read_plain_table(p: Path, layer, encoding):
    from geoplan.layers import io as gio

    if p.suffix.lower() in (".xlsx", ".xlsm"):
        sheet = layer or _pick_sheet(p, None)
        try:
            df = pd.read_excel(p, sheet_name=sheet, dtype=str, engine="openpyxl")
        except Exception as exc:
            raise gio._unreadable(p, exc) from exc
    else:
        import io as _stdio

        text, _enc = gio._decode_text_file(p, encoding)
        gio._check_csv_complete(p, text)
        try:
            df = pd.read_csv(_stdio.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise DataFileError(_("{path} is not a well-formed CSV file ({error}). Export it again.").format(
                path=p, error=str(exc).strip()[:200])) from exc
    df = df.dropna(how="all").reset_index(drop=True)
    df.columns = [str(c).strip() for c in df.columns]
    row = _("row {n}")  # translated once: each translation reads the environment for the language
    return df, [row.format(n=i + 2) for i in range(len(df))]
