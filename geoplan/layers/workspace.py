"""A county workspace built from the files a bureau really has.

:func:`build_workspace` takes a township boundary file (often a GBK Shapefile
without ``.cpg`` in a Gauss–Krüger zone with the zone number in the false
easting), facility lists (XLSX/CSV with coordinates — CGCS2000, WGS84 or
GCJ-02 from a web map — or with only an address), a census table of resident
and 60+ population per township, a road file (OpenStreetMap extract or any
vector file) and optionally village points and a population raster, and
writes one folder::

    <out>/<county>.gpkg                 every layer, EPSG:4490, plus ``county`` and ``provenance``
    <out>/<county>_population.tif       residents per 100 m cell (dasymetric, see dasymetric.py)
    <out>/<county>_population_60plus.tif
    <out>/manifest.json                 what came from where and when, with the CRS used and the method
    <out>/地址匹配报告.xlsx              every address, its level and point (when a list had addresses)
    <out>/inspection/                   where ``geoplan inspect plan --workspace`` puts its plan

Besides the kinds of :mod:`geoplan.layers.schema`, the GeoPackage holds ``water`` (``--water``:
nobody is placed there, now or when the population is spread again) and ``neighbours`` (from
the county outlines shipped with geoplan).

The names follow the sample layout, so ``load_workspace(out)`` (and
``GEOPLAN_LAYERS=<out>`` with ``--county <code>``) gives a :class:`County`.

Every file is read with :mod:`geoplan.layers.io` and checked with
:func:`geoplan.layers.validate.validate_frame`; township codes are checked
against the official list (by code, or by name within the county). Every
problem of every file is collected and raised together as one
:class:`WorkspaceError`; nothing is written then. Outputs are written
through :mod:`geoplan.output` (temporary files in the folder, renamed when all are
complete). Re-running on an existing workspace re-reads what is given, keeps what is not, and rewrites only the
layers whose inputs changed (the manifest keeps a SHA-256 of each input).

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geoplan.errors import GeoplanError, Problem, ValidationError
from geoplan.i18n import _, ngettext
from geoplan.layers import crs as _crs
from geoplan.layers.divisions import county_townships
from geoplan.layers.io import read_population
from geoplan.layers.wsread import (ADDRESS_NAMES, FACILITY_KINDS, FacilitySpec, WorkspaceError,  # noqa: F401
                                   match_official_townships, neighbour_outlines, parse_layer_spec,
                                   read_facilities, read_other_layer, read_roads, read_townships, read_villages,
                                   read_water)
from geoplan.layers.schema import SCHEMAS
from geoplan.layers.wsplace import township_place_problems
from geoplan.layers.wswrite import _now, address_workbook, write_address_report, write_workspace  # noqa: F401

MANIFEST = "manifest.json"
ADDRESS_REPORT = "地址匹配报告.xlsx"


@dataclass
class WorkspaceResult:
    """What :func:`build_workspace` wrote.

    Examples
    --------
    See :func:`build_workspace`; a result says what it wrote and kept:

    >>> sorted(f.name for f in WorkspaceResult.__dataclass_fields__.values())
    ['addresses', 'folder', 'gpkg', 'kept', 'manifest', 'notes', 'population_method', 'written']
    """

    folder: Path
    gpkg: Path
    manifest: dict
    written: list[str]
    kept: list[str]
    addresses: pd.DataFrame | None = None
    population_method: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fingerprint(path) -> dict:
    p = Path(path)
    parts = [p] + ([p.with_suffix(s) for s in (".dbf", ".shx", ".prj", ".cpg") if p.with_suffix(s).exists()]
                   if p.suffix.lower() == ".shp" else [])
    h = hashlib.sha256("".join(_sha256(q) for q in parts).encode()).hexdigest() if len(parts) > 1 else _sha256(p)
    st = p.stat()
    return {"path": str(p.resolve()), "sha256": h, "bytes": sum(q.stat().st_size for q in parts),
            "modified": datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat(timespec="seconds")}


def _as_problems(exc: GeoplanError, path) -> list[Problem]:
    if isinstance(exc, ValidationError):
        return list(exc.problems)
    return [Problem(str(path), None, None, None, None, str(exc))]


# --------------------------------------------------------------------------
# The workspace
# --------------------------------------------------------------------------

def _not_made(problems: list[Problem]) -> WorkspaceError:
    """The refusal listing every problem of every file: nothing was written."""
    n = len(problems)
    files = len({p.file for p in problems})
    return WorkspaceError(problems, summary=ngettext(
        "Workspace not made: {n} problem found in {files} file(s); no file was written",
        "Workspace not made: {n} problems found in {files} file(s); no file was written", n).format(n=n, files=files))


def workspace_paths(folder, county: str) -> dict[str, Path]:
    """The files of a county's workspace in ``folder``: GeoPackage, rasters, manifest, address report.

    Examples
    --------
    >>> {k: p.name for k, p in workspace_paths("ws", "330624").items()}
    {'gpkg': '330624.gpkg', 'population': '330624_population.tif', 'pop_60plus': '330624_population_60plus.tif', 'manifest': 'manifest.json', 'report': '地址匹配报告.xlsx'}
    """
    f = Path(folder)
    return {"gpkg": f / f"{county}.gpkg", "population": f / f"{county}_population.tif",
            "pop_60plus": f / f"{county}_population_60plus.tif", "manifest": f / MANIFEST,
            "report": f / ADDRESS_REPORT}


def read_manifest(folder) -> dict | None:
    """The workspace's ``manifest.json`` (county, inputs and their fingerprints), or None if there is none.

    Examples
    --------
    >>> read_manifest(tmp) is None
    True
    """
    p = Path(folder) / MANIFEST
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GeoplanError(_("{path} cannot be read ({error}): the workspace manifest is damaged. Make the workspace "
                              "again in another output folder.").format(path=p, error=exc)) from exc


def require_manifest(folder) -> dict:
    """The workspace's manifest; a :class:`GeoplanError` saying how to make one when the folder holds none."""
    m = read_manifest(folder)
    if m is None:
        raise GeoplanError(_("{folder} holds no workspace (no {manifest}): make one with "
                             "`geoplan workspace init`.").format(folder=folder, manifest=MANIFEST))
    return m


def build_workspace(county: str, out, *, townships=None, facilities=(), roads=None, census=None,
                    villages=None, population_raster=None, gazetteer=None, townships_crs=None,
                    legacy_accuracy_m: float | None = None, road_margin_m: float = 5000.0,
                    layers=(), water=None) -> WorkspaceResult:
    """Build or update a county workspace from a bureau's own files.

    Parameters
    ----------
    county : str
        6-digit official county code, e.g. ``"330624"``.
    out : str or Path
        Workspace folder. If it already holds a workspace of the same county, files
        not given now are kept and only layers whose inputs changed are rewritten.
    townships : path
        Township boundaries (Shapefile, GeoPackage, GeoJSON), any CRS in the module notes.
    facilities : iterable of FacilitySpec or ``"FILE:KIND[:COORDS]"``
        Facility lists; several files of one kind are combined.
    roads : path
        OSM extract (``.osm``, ``.osm.pbf``, ``.osm.bz2``) or a roads vector file.
    census : path
        Census table per township (resident, 60+); CSV (UTF-8 or GBK) or XLSX.
    villages : path, optional
        Village points (``villages`` layer): village-level addresses and settlement weights.
    population_raster : path, optional
        WorldPop / GHS-POP / other persons-per-cell raster, rescaled to the census.
    gazetteer : path, optional
        The place-name committee's gazetteer: its village places (with points) and
        former names are used to place addresses.
    townships_crs : optional
        CRS of the township file when it has none and the numbers do not tell.
    legacy_accuracy_m : float, optional
        Accept Xian 1980 / Beijing 1954 files, converted approximately, at this stated accuracy.
    road_margin_m : float
        Roads are kept within the county plus this margin.
    layers : iterable of ``"FILE:KIND"`` or (path, kind)
        Other layers taken as they are: ``boundary_lines``, ``boundary_markers``, ``place_names``
        (for ``inspect`` and ``map inspection``/``gazetteer``).
    water : path, optional
        Water polygons: stored as the ``water`` layer and kept free of people by the dasymetric
        method, now and whenever the population is spread again.

    Returns
    -------
    WorkspaceResult

    Raises
    ------
    WorkspaceError
        Every problem of every file; nothing is written.

    Examples
    --------
    A bureau's township boundaries (a Shapefile with only codes and names) and its census table:

    >>> towns = county["townships"]
    >>> towns[["code", "name", "geometry"]].to_file(tmp / "乡镇界.shp", encoding="utf-8", engine="pyogrio")
    >>> towns[["code", "population", "pop_60plus"]].to_csv(tmp / "七普.csv", index=False)
    >>> r = build_workspace("330624", tmp / "ws", townships=tmp / "乡镇界.shp", census=tmp / "七普.csv")
    >>> r.gpkg.name, r.written
    ('330624.gpkg', ['county', 'neighbours', 'townships'])
    >>> ws = load_workspace(tmp / "ws")
    >>> int(ws["townships"]["population"].sum()), round(ws.population.total)
    (419036, 419036)
    """
    from geoplan.layers import addresses as _addr
    from geoplan.layers.dasymetric import spread_population
    from geoplan.layers.wsread import parse_facility_spec, read_census

    county = str(county)
    official = county_townships(county)
    county_name = official["county_name"].iloc[0]
    folder = Path(out)
    paths = workspace_paths(folder, county)
    old = read_manifest(folder)
    if old is not None and old.get("county") != county:
        raise GeoplanError(_("{folder} is already the workspace of {old_name} ({old_code}); it cannot also hold "
                             "{name} ({code}). Give another output folder.").format(
            folder=folder, old_name=old.get("county_name"), old_code=old.get("county"), name=county_name, code=county))
    if old is None:
        theirs = [p.name for k, p in paths.items() if k != "manifest" and p.exists()]
        if theirs:
            raise GeoplanError(_("{folder} already holds {files} but is not a geoplan workspace (no {manifest}). "
                                 "So as not to overwrite your files, give a new output folder.").format(
                folder=folder, files=_(", ").join(theirs), manifest=MANIFEST))
    old_inputs = (old or {}).get("inputs", {})
    specs = [s if isinstance(s, FacilitySpec) else parse_facility_spec(s) for s in facilities]
    problems: list[Problem] = []
    inputs: dict[str, dict] = {}

    def fp(role, path, **opts):
        try:
            inputs[role] = {**_fingerprint(path), "options": {k: v for k, v in opts.items() if v is not None},
                            "read_at": _now()}
        except OSError as exc:
            problems.append(Problem(str(path), None, None, None, None, _("the file cannot be opened: {error}").format(
                error=exc), _("check the path and the file name")))

    def attempt(path, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GeoplanError as exc:
            problems.extend(_as_problems(exc, path))
            return None

    # Census and townships first: every other layer is checked against them.
    census_df = None
    if census is not None:
        fp("census", census)
        census_df = attempt(census, read_census, census, county)
    towns, notes = None, {}
    if townships is not None:
        fp("townships", townships, crs=townships_crs and str(townships_crs))
        got = attempt(townships, read_townships, townships, county, census_df, crs=townships_crs,
                      legacy_accuracy_m=legacy_accuracy_m, census_failed=census is not None and census_df is None)
        if got is not None:
            towns, notes["townships"] = got
            # a layer in the wrong CRS or of another county reads without error: check where it lies
            misplaced = township_place_problems(towns, county, str(townships))
            if misplaced:
                raise _not_made(problems + misplaced)
    elif paths["gpkg"].exists() and "townships" in pyogrio.list_layers(paths["gpkg"])[:, 0]:
        from geoplan.layers.io import read_layer

        towns = read_layer(paths["gpkg"], "townships", layer="townships")
        inputs["townships"] = old_inputs.get("townships", {})
        if census_df is not None:
            towns = towns.drop(columns=["population", "pop_60plus"]).merge(census_df, on="code", how="left")
        elif "census" in old_inputs:
            inputs["census"] = old_inputs["census"]
    else:
        problems.append(Problem(_("(not given)"), None, None, None, None, _("the township boundary file is missing"),
                                _("give the township (乡镇/街道) boundary file with --townships (Shapefile, "
                                  "GeoPackage or GeoJSON)")))
    if towns is None:
        raise _not_made(problems)

    village_layer = None
    if villages is not None:
        fp("villages", villages)
        got = attempt(villages, read_villages, villages, towns, legacy_accuracy_m=legacy_accuracy_m)
        if got is not None:
            village_layer, notes["villages"] = got
    ref_places, ref_aliases = village_layer, None
    if gazetteer is not None:
        fp("gazetteer", gazetteer)

        def _gaz():
            from geoplan.gazetteer.store import Gazetteer

            with Gazetteer(gazetteer) as store:
                return _addr.gazetteer_reference(store, county)

        got = attempt(gazetteer, _gaz)
        if got is not None:
            places, ref_aliases = got
            ref_places = places if village_layer is None else pd.concat(
                [village_layer[["code", "name", "township_code", "geometry"]], places], ignore_index=True)
    index = _addr.build_index(county, towns, ref_places, aliases=ref_aliases)

    road_layer = None
    if roads is not None:
        fp("roads", roads, margin_m=road_margin_m)
        got = attempt(roads, read_roads, roads, towns, road_margin_m, legacy_accuracy_m=legacy_accuracy_m)
        if got is not None:
            road_layer, notes["roads"] = got
    # Roads and villages tell web-map (GCJ-02) coordinates from CGCS2000 ones (wsread.coordinate_evidence).
    references = []
    for kind, frame in (("roads", road_layer), ("villages", village_layer)):
        if frame is None and paths["gpkg"].exists() and kind in (old or {}).get("layers", {}):
            frame = gpd.read_file(paths["gpkg"], layer=kind, engine="pyogrio")
        if frame is not None:
            frame = frame.copy()
            frame.attrs["what"] = kind
            references.append(frame)
    fac_layers: dict[str, list] = {}
    matches = []
    for i, spec in enumerate(specs):
        role = f"facilities:{spec.kind}:{i}:{spec.path.name}"
        fp(role, spec.path, kind=spec.kind, coords=spec.coords)
        got = attempt(spec.path, read_facilities, spec, towns, index, legacy_accuracy_m=legacy_accuracy_m,
                      references=references)
        if got is not None:
            layer, notes[role], m = got
            fac_layers.setdefault(spec.kind, []).append(layer)
            if m is not None:
                matches.append(m)
    facility_frames = {}
    for kind, frames in fac_layers.items():
        combined = pd.concat(frames, ignore_index=True)
        dup = combined[SCHEMAS[kind].id_field].duplicated(keep="first")
        for v in combined.loc[dup, SCHEMAS[kind].id_field]:
            problems.append(Problem(_(", ").join(str(s.path) for s in specs if s.kind == kind), None, None,
                                    SCHEMAS[kind].id_field, str(v), _("the ID appears in several files"),
                                    _("every facility needs its own ID")))
        facility_frames[kind] = gpd.GeoDataFrame(combined, geometry="geometry", crs=_crs.STORAGE_CRS)

    other: dict[str, list] = {}
    for i, spec in enumerate(layers):
        lpath, kind = spec if isinstance(spec, tuple) else parse_layer_spec(spec)
        role = f"layer:{kind}:{i}:{Path(lpath).name}"
        fp(role, lpath, kind=kind)
        got = attempt(lpath, read_other_layer, lpath, kind, towns, legacy_accuracy_m=legacy_accuracy_m)
        if got is not None:
            other.setdefault(kind, []).append(got[0])
            notes[role] = got[1]
    water_layer = None
    if water is not None:
        fp("water", water)
        got = attempt(water, read_water, water, towns, legacy_accuracy_m=legacy_accuracy_m)
        if got is not None:
            water_layer, notes["water"] = got
    user_raster = None
    if population_raster is not None:
        fp("population_raster", population_raster)
        user_raster = attempt(population_raster, read_population, population_raster)
    if problems:
        raise _not_made(problems)

    # ---- decide what changes ---------------------------------------------
    for role, entry in old_inputs.items():
        group = role.split(":")[0]
        if group in ("facilities", "layer") and role not in inputs and not any(
                r.startswith(f"{group}:{role.split(':')[1]}:") for r in inputs):
            inputs[role] = entry  # a kind given again replaces all its files; others are kept
        elif group not in ("facilities", "layer") and role not in inputs:
            inputs[role] = entry
    sig = lambda *roles: hashlib.sha256(json.dumps(  # noqa: E731
        [[r, inputs.get(r, {}).get("sha256"), inputs.get(r, {}).get("options")] for r in sorted(roles)]
    ).encode()).hexdigest()
    base = ("townships", "census")
    new_layers: dict[str, tuple[gpd.GeoDataFrame | None, str]] = {}
    if townships is not None or census is not None:
        new_layers["townships"] = (towns, sig(*base))
        outline = towns.dissolve().assign(adcode=county, name=county_name)[["adcode", "name", "geometry"]]
        new_layers["county"] = (outline, sig(*base))
        nb = neighbour_outlines(county)
        if nb is not None:
            new_layers["neighbours"] = (nb, sig(*base))
            notes["neighbours"] = {"notes": [_("neighbouring counties from the county outlines shipped with "
                                               "geoplan (DataV 2021): {names}").format(names=_(", ").join(nb["name"]))]}
    if village_layer is not None:
        new_layers["villages"] = (village_layer, sig(*base, "villages"))
    for kind, frame in facility_frames.items():
        roles = [r for r in inputs if r.startswith(f"facilities:{kind}:")]
        new_layers[kind] = (frame, sig(*base, "villages", "gazetteer", *roles))
    for kind, frames in other.items():
        roles = [r for r in inputs if r.startswith(f"layer:{kind}:")]
        new_layers[kind] = (gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                                             crs=_crs.STORAGE_CRS), sig(*base, *roles))
    if water_layer is not None:
        new_layers["water"] = (water_layer, sig(*base, "water"))
    if road_layer is not None:
        new_layers["roads"] = (road_layer, sig(*base, "roads"))
    old_layers = (old or {}).get("layers", {})
    to_write = {k: v for k, v in new_layers.items() if old_layers.get(k, {}).get("signature") != v[1]
                or not paths["gpkg"].exists()}
    pop_sig = sig(*base, "villages", "roads", "population_raster", "water")
    pop_changed = old is None or old.get("population", {}).get("signature") != pop_sig \
        or not paths["population"].exists()

    population = None
    if pop_changed:
        if village_layer is None and paths["gpkg"].exists() and "villages" in old_layers:
            village_layer = gpd.read_file(paths["gpkg"], layer="villages", engine="pyogrio")
        if road_layer is None and paths["gpkg"].exists() and "roads" in old_layers:
            road_layer = gpd.read_file(paths["gpkg"], layer="roads", engine="pyogrio")
        if water_layer is None and paths["gpkg"].exists() and "water" in old_layers:
            # the stored water layer keeps people off water whenever the population is spread again
            water_layer = gpd.read_file(paths["gpkg"], layer="water", engine="pyogrio")
        population = spread_population(towns, villages=village_layer, roads=road_layer, raster=user_raster,
                                       exclude=water_layer, source=str(paths["population"]))

    # ---- write (geoplan.output: temporary files in the folder, renamed when all are written) ----
    manifest = write_workspace(folder, paths, to_write, county=county, county_name=county_name, old=old,
                               inputs=inputs, notes=notes, population=population, pop_sig=pop_sig, matches=matches)
    kept = [k for k in new_layers if k not in to_write]
    return WorkspaceResult(folder, paths["gpkg"], manifest, sorted(to_write), kept,
                           pd.concat(matches, ignore_index=True) if matches else None,
                           population.townships if population is not None else None)


def load_workspace(folder):
    """The workspace's layers and population as a :class:`geoplan.layers.sample.County`.

    Raises
    ------
    GeoplanError
        If the folder holds no workspace.

    Examples
    --------
    >>> load_workspace(tmp)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.GeoplanError: ... 中没有工作区（没有 manifest.json）：请先运行 geoplan workspace init。
    """
    from geoplan.layers.sample import load_county

    m = require_manifest(folder)
    paths = workspace_paths(folder, m["county"])
    c = load_county(paths["gpkg"], paths["population"] if paths["population"].exists() else None)
    c.name = c.name or m.get("county_name", "")
    return c
