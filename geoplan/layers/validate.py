"""Check a table against its layer schema, collecting every problem.

:func:`validate_frame` is the one gate every layer passes on its way into
geoplan, whichever file format it came from (:mod:`geoplan.layers.io` reads the file
and hands the table here). It never stops at the first fault: a planner gets
the whole list — file, layer, row, column, value, what to do — and fixes the
file once.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.errors import Problem, RowLabels, ValidationError
from geoplan.i18n import N_, _
from geoplan.layers import crs as _crs
from geoplan.layers.divisions import official_townships
from geoplan.layers.schema import MARKER_ID_RE, Field, LayerSchema, get_schema
from geoplan.layers.values import parse_yes_no

# Bounding box of China's territory with a margin; anything outside is not a
# county layer of ours, and usually means swapped or projected coordinates.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


def _show(value) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


class _Collector:
    """Gathers problems with the file/layer context filled in."""

    def __init__(self, source: str, layer: str | None, row_labels: Sequence[str]):
        self.source = source
        self.layer = layer
        self.row_labels = row_labels
        self.problems: list[Problem] = []
        #: row number of each problem (-1: the whole layer), to report them in row order
        self.rows: list[int] = []

    def add(self, message: str, *, row: int | None = None, column: str | None = None,
            value=None, hint: str = "") -> None:
        self.problems.append(Problem(
            file=self.source, layer=self.layer,
            row=self.row_labels[row] if row is not None else None,
            column=column, value=None if value is None else _show(value),
            message=message, hint=hint,
        ))
        self.rows.append(-1 if row is None else row)

    def extend(self, problems: Sequence[Problem]) -> None:
        """Problems found by the reader, placed by their row label."""
        if not problems:
            return
        where = {label: i for i, label in enumerate(self.row_labels)}
        self.problems.extend(problems)
        self.rows.extend(where.get(p.row, -1) for p in problems)

    def in_row_order(self) -> list[Problem]:
        order = np.argsort(np.asarray(self.rows, dtype=np.int64), kind="stable")
        return [self.problems[i] for i in order]

    def add_rows(self, mask: np.ndarray, values, message: str, *, column: str | None = None,
                 hint: str = "") -> None:
        for i in np.flatnonzero(mask):
            self.add(message, row=int(i), column=column,
                     value=None if values is None else values[i], hint=hint)


# --------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------

def _match_columns(frame: pd.DataFrame, schema: LayerSchema) -> dict[str, str]:
    """Map file columns to schema names: case-insensitive, Shapefile-truncated, or the Chinese label."""
    lookup: dict[str, str] = {}
    for f in schema.fields:
        # Shapefile DBF field names are cut to 10 bytes (township_code -> township_c)
        lookup[f.name[:10].lower()] = f.name
        lookup[f.name.lower()] = f.name
        lookup[f.label_zh] = f.name
    renames = {}
    taken = set(frame.columns)
    for col in frame.columns:
        if not isinstance(col, str) or col == "geometry":
            continue
        target = lookup.get(col.strip().lower()) or lookup.get(col.strip())
        if target and target != col and target not in taken:
            renames[col] = target
            taken.add(target)
    return renames


def _cell_text(raw: pd.Series) -> pd.Series:
    """Every cell as stripped text (``_to_text``), NA kept.

    Columns of plain strings (the usual case) take pandas' vectorised strip:
    calling ``_to_text`` per cell took seconds on a 2M-row roads layer.
    """
    if raw.isna().all():
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    if ((raw.dtype == object or isinstance(raw.dtype, pd.StringDtype))
            and pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty")):
        return raw.astype("string").str.strip()
    return raw.map(_to_text, na_action="ignore").astype("string")


def _is_blank(raw: pd.Series, text: pd.Series | None = None) -> np.ndarray:
    blank = raw.isna().to_numpy()
    if raw.dtype.kind in "iufbM" or blank.all():
        return blank
    if text is None:
        text = _cell_text(raw)
    return blank | (text == "").fillna(True).to_numpy(dtype=bool)


def _by_unique(raw: pd.Series, fn) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` of each cell and whether the cell is blank, computed once per distinct value.

    Road classes and yes/no flags repeat millions of times in a large layer.
    ``fn`` gets the cell as read; blank cells (NA, or only spaces) map to ``None``.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=object)
    text = _cell_text(distinct)
    blank = np.r_[(text == "").fillna(True).to_numpy(dtype=bool), True]
    mapped = np.array([None if b else fn(v) for v, b in zip(distinct, blank[:-1])] + [None], dtype=object)
    return mapped[codes], blank[codes]


def _coerce(series: pd.Series, f: Field, out: _Collector) -> pd.Series:
    raw = series.reset_index(drop=True)
    values = raw.to_numpy(dtype=object)
    if f.dtype == "enum":
        mapped, blank = _by_unique(raw, lambda v: f.canonical(_to_text(v)))
        canon = pd.Series(mapped)
        bad = ~blank & canon.isna().to_numpy()
        allowed = _(", ").join(f.choices)
        out.add_rows(bad, values, _("'{column}' must be one of: {allowed}").format(column=f.name, allowed=allowed),
                     column=f.name,
                     hint=_("use one of the listed values (English aliases are listed in layers/README.md)"))
        result = canon.astype("string")
    elif f.dtype == "str":
        result = _cell_text(raw)
        blank = _is_blank(raw, result)
        result[blank] = pd.NA
        if f.pattern:
            ok = result.str.fullmatch(f.pattern).fillna(True).to_numpy(dtype=bool)
            form = _(f.pattern_hint) if f.pattern_hint else _("in the expected form")
            out.add_rows(~ok, values, _("'{column}' is not {form}").format(column=f.name, form=form),
                         column=f.name, hint=_("correct the value"))
    elif f.dtype in ("int", "float", "year"):
        blank = _is_blank(raw)
        if raw.dtype.kind in "iuf":
            nums = raw.astype(float)
        elif blank.all():  # an optional column the layer does not have
            nums = pd.Series(np.nan, index=raw.index)
        else:
            nums = pd.to_numeric(raw.map(_to_text, na_action="ignore"), errors="coerce")
        bad = ~blank & nums.isna().to_numpy()
        out.add_rows(bad, values, _("'{column}' must be a number").format(column=f.name), column=f.name,
                     hint=_("remove text, units or thousands separators from the cell"))
        ok = ~blank & ~bad
        if f.dtype in ("int", "year"):
            frac = ok & (np.abs(nums.to_numpy(dtype=float, na_value=np.nan) % 1) > 1e-9)
            out.add_rows(frac, values, _("'{column}' must be a whole number").format(column=f.name), column=f.name,
                         hint=_("counts of people, beds and places have no fractions"))
            nums[frac] = np.nan
            result = nums.round().astype("Int64")
        else:
            result = nums.astype("Float64")
        arr = result.to_numpy(dtype=float, na_value=np.nan)
        if f.min is not None:
            low = ok & (arr < f.min)
            message = (_("'{column}' is negative") if f.min == 0 else _("'{column}' is below {min}"))
            out.add_rows(low, values, message.format(column=f.name, min=f"{f.min:g}"), column=f.name,
                         hint=_("'{column}' must be at least {min}").format(column=f.name, min=f"{f.min:g}"))
        if f.max is not None:
            high = ok & (arr > f.max)
            out.add_rows(high, values, _("'{column}' is above {max}").format(column=f.name, max=f"{f.max:g}"),
                         column=f.name,
                         hint=_("'{column}' must be at most {max}").format(column=f.name, max=f"{f.max:g}"))
    elif f.dtype == "bool":
        mapped, blank = _by_unique(raw, parse_yes_no)
        parsed = pd.Series(mapped)
        bad = ~blank & parsed.isna().to_numpy()
        out.add_rows(bad, values, _("'{column}' must be yes or no").format(column=f.name), column=f.name,
                     hint=_("use 是/否, 有/无, √/×, yes/no, true/false or 1/0"))
        result = parsed.astype("boolean")
        result[blank] = pd.NA
    elif f.dtype == "date":
        blank = _is_blank(raw)

        def parse_date(v):
            try:
                return pd.Timestamp(v if not isinstance(v, str) else v.strip())
            except (ValueError, TypeError):
                return pd.NaT
        parsed = raw.map(parse_date, na_action="ignore")
        parsed = pd.to_datetime(parsed, errors="coerce")
        bad = ~blank & parsed.isna().to_numpy()
        out.add_rows(bad, values, _("'{column}' is not a date").format(column=f.name), column=f.name,
                     hint=_("write dates as YYYY-MM-DD, e.g. 2021-06-30"))
        result = parsed.dt.normalize()
    else:  # pragma: no cover - schema programming error
        raise ValueError(f"unknown dtype {f.dtype!r} in schema field {f.name}")

    if not f.nullable:
        out.add_rows(blank, None, _("'{column}' is empty").format(column=f.name), column=f.name,
                     hint=_("every row needs a value in '{column}' ({meaning})").format(
                         column=f.name, meaning=_(f.description)))
    result.index = series.index
    return result


def _to_text(v) -> str:
    """Text of a cell, without the '.0' Excel and GDAL add to whole numbers."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    return str(v).strip()


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------

def _check_geometry(gdf: gpd.GeoDataFrame, schema: LayerSchema, out: _Collector,
                    skip_rows: set[int]) -> np.ndarray:
    """Flag missing, empty, non-finite, wrong-type and invalid geometries; return a 'good' mask."""
    geoms = gdf.geometry.to_numpy()
    n = len(geoms)
    missing = shapely.is_missing(geoms)
    if skip_rows:
        skip = np.zeros(n, dtype=bool)
        skip[list(skip_rows)] = True
    else:
        skip = np.zeros(n, dtype=bool)
    out.add_rows(missing & ~skip, None, _("the feature has no geometry"), column="geometry",
                 hint=_("give it a location or delete the row"))
    empty = ~missing & shapely.is_empty(geoms)
    out.add_rows(empty, None, _("the geometry is empty"), column="geometry",
                 hint=_("draw the feature again or delete the row"))
    present = ~missing & ~empty

    coords, index = shapely.get_coordinates(geoms[present], return_index=True)
    nonfinite = np.zeros(n, dtype=bool)
    if len(coords):
        bad_coord = ~np.isfinite(coords).all(axis=1)
        rows = np.flatnonzero(present)[np.unique(index[bad_coord])]
        nonfinite[rows] = True
    out.add_rows(nonfinite, None, _("the geometry has NaN or infinite coordinates"), column="geometry",
                 hint=_("fix the coordinates in the source (empty longitude/latitude cells often cause this)"))
    present &= ~nonfinite

    types = np.asarray(shapely.get_type_id(geoms))
    names = ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
             "MultiLineString", "MultiPolygon", "GeometryCollection"]
    wrong = present & ~np.isin(types, [names.index(t) for t in schema.geometry])
    allowed = _(" or ").join(schema.geometry)
    for i in np.flatnonzero(wrong):
        out.add(_("the geometry is a {found}, but {kind} must be {allowed}").format(
                    found=names[types[i]] if 0 <= types[i] < len(names) else "None", kind=schema.kind,
                    allowed=allowed),
                row=int(i), column="geometry",
                hint=_("export the right layer, or convert the geometry type in your GIS"))
    present &= ~wrong

    invalid = np.zeros(n, dtype=bool)
    invalid[present] = ~shapely.is_valid(geoms[present])
    for i in np.flatnonzero(invalid):
        out.add(_("the geometry is invalid ({reason})").format(reason=_invalid_reason(shapely.is_valid_reason(geoms[i]))),
                row=int(i), column="geometry",
                hint=_("repair it (QGIS: Vector ▸ Geometry Tools ▸ Fix Geometries) or read with repair=True"))
    return present & ~invalid


# GEOS's names for why a geometry is invalid (shapely.is_valid_reason), marked for translation.
_GEOS_REASONS = {
    "Topology Validation Error": N_("Topology Validation Error"),
    "Repeated Point": N_("Repeated Point"),
    "Hole lies outside shell": N_("Hole lies outside shell"),
    "Holes are nested": N_("Holes are nested"),
    "Interior is disconnected": N_("Interior is disconnected"),
    "Self-intersection": N_("Self-intersection"),
    "Ring Self-intersection": N_("Ring Self-intersection"),
    "Nested shells": N_("Nested shells"),
    "Duplicate Rings": N_("Duplicate Rings"),
    "Too few distinct points in geometry component": N_("Too few distinct points in geometry component"),
    "Invalid Coordinate": N_("Invalid Coordinate"),
    "Ring is not closed": N_("Ring is not closed"),
}


def _invalid_reason(reason: str) -> str:
    """GEOS's reason ("Self-intersection[120.8 29.4]") in the reader's language, the place kept."""
    name, bracket, rest = reason.partition("[")
    if name in _GEOS_REASONS:
        return _(_GEOS_REASONS[name]) + (_(" at {place}").format(place="(" + rest.rstrip("]") + ")") if bracket else "")
    return reason


def _check_in_china(gdf: gpd.GeoDataFrame, good: np.ndarray, out: _Collector) -> None:
    """Flag features outside China, and say so when lon/lat look swapped."""
    if not good.any():
        return
    geoms = gdf.geometry.to_numpy()[good]
    if not gdf.crs.equals(_crs.STORAGE_CRS):
        whole = _crs.storage_bounds(gpd.GeoDataFrame(geometry=geoms, crs=gdf.crs))
        if (whole[0] >= CHINA_LON[0]) & (whole[2] <= CHINA_LON[1]) & (whole[1] >= CHINA_LAT[0]) \
                & (whole[3] <= CHINA_LAT[1]):
            return  # the layer's whole extent is inside, so every feature is
        geoms = gpd.GeoSeries(geoms, crs=gdf.crs).to_crs(_crs.STORAGE_CRS).to_numpy()
    bounds = shapely.bounds(geoms)
    minx, miny, maxx, maxy = bounds.T
    inside = (minx >= CHINA_LON[0]) & (maxx <= CHINA_LON[1]) & (miny >= CHINA_LAT[0]) & (maxy <= CHINA_LAT[1])
    swapped = (miny >= CHINA_LON[0]) & (maxy <= CHINA_LON[1]) & (minx >= CHINA_LAT[0]) & (maxx <= CHINA_LAT[1])
    rows = np.flatnonzero(good)
    for k in np.flatnonzero(~inside):
        i = int(rows[k])
        x, y = (minx[k] + maxx[k]) / 2, (miny[k] + maxy[k]) / 2
        if swapped[k]:
            out.add(_("longitude and latitude look swapped (the 'longitude' is a latitude in China "
                      "and vice versa)"), row=i, column="geometry", value=f"({x:.5f}, {y:.5f})",
                    hint=_("swap the two coordinate columns, or check the axis order the file was exported with"))
        else:
            out.add(_("the feature lies outside China"), row=i, column="geometry", value=f"({x:.5f}, {y:.5f})",
                    hint=_("check the coordinates and the layer's CRS (a projected layer declared as "
                           "longitude/latitude lands far outside China)"))


# --------------------------------------------------------------------------
# Cross-field checks of particular kinds
# --------------------------------------------------------------------------

def _check_townships(df: pd.DataFrame, out: _Collector) -> None:
    pop, old = df["population"], df["pop_60plus"]
    over = (old > pop).fillna(False).to_numpy()
    out.add_rows(over, old.to_numpy(dtype=object), _("pop_60plus is larger than population"),
                 column="pop_60plus", hint=_("the people aged 60+ are part of the population"))
    code, county = df["code"], df["county_code"]
    mismatch = (code.str[:6] != county).fillna(False).to_numpy()
    out.add_rows(mismatch, county.to_numpy(dtype=object),
                 _("county_code is not the first 6 digits of the township code"), column="county_code",
                 hint=_("a township's code starts with its county's code"))
    kind, name = df["kind"], df["name"]
    for i in np.flatnonzero((kind.notna() & name.notna()).to_numpy()):
        # 其他 (开发区, 农场 …) names carry no 街道/镇/乡 to compare with
        if str(kind.iloc[i]) != "其他" and not str(name.iloc[i]).endswith(str(kind.iloc[i])):
            out.add(_("kind is {kind} but the name does not end in {kind}").format(kind=kind.iloc[i]), row=int(i),
                    column="kind", value=name.iloc[i], hint=_("check the kind or the name"))


def _check_elderly_care(df: pd.DataFrame, out: _Collector) -> None:
    beds = df["beds"]
    for col in ("nursing_beds", "dementia_beds"):
        over = (df[col] > beds.fillna(0)).fillna(False).to_numpy()
        out.add_rows(over, df[col].to_numpy(dtype=object), _("{column} is larger than beds").format(column=col),
                     column=col, hint=_("{column} are counted within beds").format(column=col))
    inst = (df["kind"] == "养老机构").fillna(False).to_numpy()
    nobeds = inst & beds.isna().to_numpy()
    out.add_rows(nobeds, None, _("a 养老机构 must give its number of beds"), column="beds",
                 hint=_("enter the bed count (0 if it has none yet)"))


def _check_markers(df: pd.DataFrame, out: _Collector) -> None:
    ids = df["marker_id"]
    lines = ids.str[:4]
    mismatch = (lines != df["line_code"]).fillna(False).to_numpy()
    out.add_rows(mismatch, df["line_code"].to_numpy(dtype=object),
                 _("line_code differs from the first 4 digits of marker_id"), column="line_code",
                 hint=_("a marker's ID starts with the code of its line"))
    parsed = ids.str.extract(MARKER_ID_RE.pattern)
    groups: dict[str, list[tuple[int, str]]] = {}
    for i, (line, seq, letter) in enumerate(parsed.itertuples(index=False)):
        if isinstance(letter, str):
            groups.setdefault(line + seq, []).append((i, letter))
    for key, members in groups.items():
        letters = sorted(letter for _i, letter in members)
        family = {"A": "AB", "B": "AB", "C": "CDE", "D": "CDE", "E": "CDE", "Q": "Q"}[letters[0]]
        if "".join(letters) != family:
            expect = {"AB": _("a pair A and B"), "CDE": _("a triple C, D and E"), "Q": _("a single Q")}[family]
            out.add(_("markers numbered {number} must form {expected}, found {found}").format(
                        number=key, expected=expect, found=_(", ").join(letters)),
                    row=members[0][0], column="marker_id", value=key + "".join(letters),
                    hint=_("add the missing partner(s) or correct the type letters"))


_KIND_CHECKS = {
    "townships": _check_townships,
    "elderly_care": _check_elderly_care,
    "boundary_markers": _check_markers,
}


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

def validate_frame(frame: pd.DataFrame, kind: str, *, source: str = "<data>", layer: str | None = None,
                   row_labels: Sequence[str] | None = None, townships: Iterable[str] | None = None,
                   check_official: bool = True, repair: bool = False,
                   extra_problems: Sequence[Problem] = (), to_storage: bool = True) -> gpd.GeoDataFrame:
    """Validate a layer against its schema and return it cleaned and in EPSG:4490.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The layer as read. Column names may differ in case or be the Chinese
        labels of the schema; they are renamed to the schema's names.
    kind : str
        Layer kind, a key of :data:`geoplan.layers.schema.SCHEMAS` (``"townships"``, ``"roads"`` …).
    source, layer : str
        File path and layer name, for messages.
    row_labels : sequence of str, optional
        How to call each row in messages (:func:`geoplan.errors.row_label`
        for a spreadsheet); default :func:`geoplan.errors.feature_label`, 1-based.
    townships : iterable of str, optional
        Township codes of the study area; township-code columns must be among them.
    check_official : bool
        Check township codes against the official list of all of China.
    repair : bool
        Repair invalid geometries with :func:`shapely.make_valid` instead of reporting them.
    extra_problems : sequence of Problem
        Problems the reader already found (e.g. unparsable coordinates), reported together.
    to_storage : bool
        Return the layer in EPSG:4490 (default). ``False`` keeps the layer's
        own CRS, for a caller that reprojects it to a metric CRS anyway.

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows in the same order, schema columns coerced to their types
        (categories canonical), other columns kept, CRS EPSG:4490 (or the
        layer's own with ``to_storage=False``).

    Raises
    ------
    geoplan.errors.CRSError
        If the layer has no usable CRS.
    geoplan.errors.ValidationError
        With every problem found.

    Examples
    --------
    Chinese column labels are renamed, aliases mapped to the schema's values, the CRS made EPSG:4490:

    >>> care = county["elderly_care"].to_crs(4549).rename(columns={"name": "名称"})
    >>> care["status"] = care["status"].replace({"运营": "operating"})
    >>> clean = validate_frame(care, "elderly_care", source="养老.gpkg")
    >>> clean.crs.to_epsg(), "name" in clean.columns, sorted(clean["status"].unique())
    (4490, True, ['规划', '运营'])
    """
    schema = get_schema(kind)
    gdf = frame.copy()
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf), index=gdf.index), crs=None)
    gdf = gdf.reset_index(drop=True)
    n = len(gdf)
    labels = (RowLabels.features(n) if row_labels is None
              else row_labels if isinstance(row_labels, RowLabels) else list(row_labels))
    out = _Collector(source, layer, labels)
    out.extend(extra_problems)
    skip_geom_rows = {r for r in out.rows if r >= 0}

    if n == 0:
        out.add(_("the layer has no features; a {kind} layer needs at least one").format(kind=schema.kind),
                hint=_("check you exported the right layer, and that a filter did not drop every row"))
        raise ValidationError(out.problems)

    gdf = gdf.rename(columns=_match_columns(gdf, schema))
    for f in schema.fields:
        if f.name not in gdf.columns:
            if f.required:
                out.add(_("required column '{column}' ({label}) is missing").format(column=f.name, label=f.label_zh),
                        column=f.name,
                        hint=_("add a column '{column}': {meaning}").format(column=f.name, meaning=_(f.description)))
            else:
                gdf[f.name] = pd.NA

    _crs.require_crs(gdf, what=_("layer in {file}").format(file=source))
    if repair:
        geoms = gdf.geometry.to_numpy()
        fix = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
        if fix.any():
            gdf.loc[fix, gdf.geometry.name] = shapely.make_valid(geoms[fix])
    good = _check_geometry(gdf, schema, out, skip_geom_rows)
    if to_storage and not gdf.crs.equals(_crs.STORAGE_CRS):
        gdf = gdf.to_crs(_crs.STORAGE_CRS)
    _check_in_china(gdf, good, out)

    for f in schema.fields:
        if f.name in gdf.columns:
            gdf[f.name] = _coerce(gdf[f.name], f, out)

    id_col = schema.id_field
    if id_col in gdf.columns:
        ids = gdf[id_col]
        # by factorize: pandas' duplicated() on 2M string IDs took 1.4 s, this 0.2 s
        codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        if len(uniques) == int((codes >= 0).sum()):
            dup = np.zeros(len(ids), dtype=bool)
        else:
            dup = (codes >= 0) & (np.bincount(codes[codes >= 0], minlength=len(uniques))[codes] > 1)
        first = {}
        for i in np.flatnonzero(dup):
            first.setdefault(ids.iloc[i], i)
        for i in np.flatnonzero(dup):
            if first[ids.iloc[i]] != i:
                out.add(_("duplicate {column}: the same ID is used by {other}").format(
                            column=id_col, other=labels[first[ids.iloc[i]]]),
                        row=int(i), column=id_col, value=ids.iloc[i],
                        hint=_("every {column} must be unique; renumber one of them").format(column=id_col))

    known = set(townships) if townships is not None else None
    official = set(official_townships()["code"]) if check_official else None
    for col in schema.township_code_fields:
        if col not in gdf.columns:
            continue
        codes = gdf[col]
        wellformed = codes.str.fullmatch(r"\d{9}").fillna(False).to_numpy(dtype=bool)
        if official is not None:
            unknown = wellformed & ~codes.isin(official).to_numpy()
            out.add_rows(unknown, codes.to_numpy(dtype=object),
                         _("the code is not an official township code (NBS division codes, 2022 edition)"),
                         column=col, hint=_("look the township up in the official list; codes change after mergers"))
            wellformed &= ~unknown
        if known is not None:
            outside = wellformed & ~codes.isin(known).to_numpy()
            out.add_rows(outside, codes.to_numpy(dtype=object), _("the code is not a township of the study area"),
                         column=col, hint=_("use the code of one of the townships layer's townships"))

    check = _KIND_CHECKS.get(schema.kind)
    if check is not None and all(f.name in gdf.columns for f in schema.fields if f.required):
        check(gdf, out)

    if out.problems:
        raise ValidationError(out.in_row_order())
    gdf.attrs.update(source=source, layer=layer, kind=schema.kind)
    return gdf
