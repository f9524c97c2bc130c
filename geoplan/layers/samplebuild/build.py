"""Assemble one county's sample layers from the parts and write them (atomically, never over a user's file)."""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely

from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.layers.crs import STORAGE_EPSG, gk_zone_epsg
from geoplan.layers.divisions import county_townships, township_kind
from geoplan.layers.samplebuild.common import GENERATED_BY
from geoplan.layers.samplebuild.facilities import build_facilities, choose_gaps
from geoplan.layers.samplebuild.markers import (LINE_EPSG, compute_shared_lines, line_crossings, line_history,
                                                line_markers, township_lines)
from geoplan.layers.samplebuild.outlines import check_county, load_zhejiang
from geoplan.layers.samplebuild.placenames import build_place_names
from geoplan.layers.samplebuild.population import (build_population, county_totals, township_targets,
                                                   village_population)
from geoplan.layers.samplebuild.provenance import provenance_table
from geoplan.layers.samplebuild.roads import build_roads
from geoplan.layers.samplebuild.townships import build_townships, sample_kind, seat_township
from geoplan.layers.samplebuild.villages import county_villages, place_villages, plant_homophone

#: Layers of a sample GeoPackage, in writing order (then ``provenance``).
LAYER_ORDER = ["county", "neighbours", "townships", "villages", "roads", "elderly_care", "cemeteries",
               "social_work_stations", "disability_homes", "children_homes", "boundary_lines",
               "boundary_markers", "place_names"]
FACILITY_COLUMNS = {
    "elderly_care": ["facility_id", "name", "kind", "township_code", "status", "opened", "ownership", "beds",
                     "nursing_beds", "dementia_beds"],
    "cemeteries": ["facility_id", "name", "kind", "township_code", "status", "opened", "capacity",
                   "eco_burial"],
    "social_work_stations": ["facility_id", "name", "township_code", "status", "opened", "staff"],
    "disability_homes": ["facility_id", "name", "township_code", "status", "opened", "standardised"],
    "children_homes": ["facility_id", "name", "township_code", "status", "opened", "village_code"],
}


#: Kind written for township-level units that are not 街道/镇/乡 (开发区, 农场, 林场: 政企合一单位).
#: NOTE: layers/schema.py's townships kinds do not list it yet, so such a county's townships layer
#: does not validate until they do (11 of Zhejiang's counties have such units).
OTHER_KIND = "其他"


@lru_cache(maxsize=1)
def shared_lines() -> tuple:
    """The boundary lines of every adjacent pair of Zhejiang counties (computed once per process)."""
    return tuple(compute_shared_lines(load_zhejiang()))


def output_paths(code: str, out: Path) -> tuple[Path, Path]:
    """The GeoPackage and GeoTIFF a sample of ``code`` is written to."""
    out = Path(out)
    return out / f"{code}.gpkg", out / f"{code}_population.tif"


def check_outputs(codes, out: Path, overwrite: bool) -> None:
    """Refuse, before building anything, to replace a file the user did not ask to replace."""
    existing = [p for c in codes for p in output_paths(c, out) if p.exists()]
    if existing and not overwrite:
        names = _(", ").join(p.name for p in existing[:6]) + (_(" and more") if len(existing) > 6 else "")
        raise GeoplanError(_("{folder} already holds {names}; they are not overwritten. Choose another --out folder, "
                             "or add --overwrite to build them again.").format(folder=out, names=names))


def _points_gdf(df: pd.DataFrame, epsg: int, cols: list[str]) -> gpd.GeoDataFrame:
    g = gpd.GeoDataFrame(df[cols].copy(), geometry=gpd.points_from_xy(df["x"], df["y"]), crs=epsg)
    return g.to_crs(STORAGE_EPSG)


def build_layers(code: str, population: int | None = None, pop60: int | None = None) -> dict:
    """Build every layer of one county's sample in memory.

    Parameters
    ----------
    code : str
        6-digit code of a Zhejiang county (see
        :func:`geoplan.layers.samplebuild.outlines.zhejiang_counties`).
    population, pop60 : int, optional
        Override the county totals (then labelled illustrative).

    Returns
    -------
    dict
        ``layers`` (name -> GeoDataFrame, EPSG:4490), ``provenance``,
        ``grid``/``transform``/``epsg`` of the population raster, ``name``,
        ``totals`` and ``gaps``.

    Raises
    ------
    GeoplanError
        If ``code`` is not a Zhejiang county that can be built.
    """
    code = str(code).strip()
    check_county(code)
    zj = load_zhejiang()
    lines = shared_lines()
    row = zj[zj["adcode"] == code].iloc[0]
    epsg = gk_zone_epsg(row["center_lon"])
    county = zj[zj["adcode"] == code].copy()
    outline = shapely.union_all(shapely.get_parts(county.to_crs(epsg).geometry.iloc[0]))
    seat_m = gpd.GeoSeries(gpd.points_from_xy([row["center_lon"]], [row["center_lat"]]), crs=STORAGE_EPSG)
    seat_xy = np.array(seat_m.to_crs(epsg).iloc[0].coords[0])
    if not outline.contains(shapely.Point(seat_xy)):
        seat_xy = np.array(outline.representative_point().coords[0])
    tw = county_townships(code)[["code", "name"]].reset_index(drop=True)
    kinds = [sample_kind(c, n) for c, n in zip(tw["code"], tw["name"])]
    seat_tw = seat_township(kinds)
    official = county_villages(code)
    n_villages = official["kind"].value_counts().reindex(["村", "社区"]).fillna(0).astype(int).to_dict()
    totals = county_totals(code, population, pop60, n_villages)

    polys, seats = build_townships(outline, seat_xy, tw, code)
    targets, t60 = township_targets(kinds, seat_tw, totals[0], totals[1], code)
    villages = place_villages(polys, seats, kinds, tw, seat_tw, official, code)
    homophone = plant_homophone(villages, tw)
    grid, transform, owner = build_population(polys, seats, seat_tw, villages, targets, kinds, code, epsg)
    villages["population"] = village_population(grid, transform, owner, villages, tw["code"])

    my_lines = [ln for ln in lines if code in (ln.left, ln.right)]
    crossings = [c for ln in my_lines for c in line_crossings(ln)]
    # Crossings come in EPSG:4549; move them into the county CRS if it differs.
    if epsg != LINE_EPSG and crossings:
        s = gpd.GeoSeries(gpd.points_from_xy([c[0] for c in crossings], [c[1] for c in crossings]),
                          crs=LINE_EPSG).to_crs(epsg)
        crossings = [(p.x, p.y, c[2]) for p, c in zip(s, crossings)]
    roads = build_roads(outline, seats, seat_tw, villages, crossings, code, kinds, tw)
    gaps = choose_gaps(tw, kinds, targets, code)
    fac = build_facilities(tw, kinds, polys, seats, seat_tw, villages, targets, gaps, code, row["name"])

    layers: dict[str, gpd.GeoDataFrame] = {}
    layers["county"] = county[["adcode", "name", "geometry"]].reset_index(drop=True)
    nb_codes = sorted({ln.right if ln.left == code else ln.left for ln in my_lines})
    layers["neighbours"] = zj[zj["adcode"].isin(nb_codes)][["adcode", "name", "geometry"]].reset_index(drop=True)
    layers["townships"] = gpd.GeoDataFrame(dict(
        code=tw["code"], name=tw["name"], kind=[township_kind(n) or OTHER_KIND for n in tw["name"]],
        county_code=code,
        population=np.asarray(targets, dtype=np.int64), pop_60plus=np.asarray(t60, dtype=np.int64)),
        geometry=polys, crs=epsg).to_crs(STORAGE_EPSG)
    layers["villages"] = _points_gdf(villages, epsg, ["code", "name", "kind", "township_code", "population",
                                                      "committee"])
    layers["roads"] = gpd.GeoDataFrame(roads.drop(columns="geometry"), geometry=list(roads["geometry"]),
                                       crs=epsg).to_crs(STORAGE_EPSG)
    layers["roads"]["speed_kmh"] = layers["roads"]["speed_kmh"].astype(float)
    for kind, cols in FACILITY_COLUMNS.items():
        df = fac[kind]
        if "staff" in cols:
            df["staff"] = pd.array(df["staff"], dtype="Int64")
        layers[kind] = _points_gdf(df, epsg, cols)
    # County lines with the neighbours, and the township lines (乡级) the county inspects itself.
    all_lines = my_lines + township_lines(polys, tw, code, epsg, zj)
    history = [line_history(ln) for ln in all_lines]
    layers["boundary_lines"] = gpd.GeoDataFrame(dict(
        line_code=[ln.code for ln in all_lines], name=[ln.name for ln in all_lines],
        left_code=[ln.left for ln in all_lines], right_code=[ln.right for ln in all_lines],
        level=[ln.level for ln in all_lines],
        last_inspected_year=np.asarray([h[0] for h in history], dtype=np.int64),
        lead_code=[h[1] for h in history]), geometry=[ln.geom for ln in all_lines],
        crs=LINE_EPSG).to_crs(STORAGE_EPSG)
    mk = pd.DataFrame([m for ln in all_lines for m in line_markers(ln)],
                      columns=["marker_id", "line_code", "condition", "last_inspected", "material", "x", "y"])
    layers["boundary_markers"] = _points_gdf(mk, LINE_EPSG, ["marker_id", "line_code", "condition",
                                                             "last_inspected", "material"])
    if not all_lines:  # a one-township island county: no line, no marker — and no empty layers
        del layers["boundary_lines"], layers["boundary_markers"]
    layers["place_names"] = build_place_names(code, row["name"], row["prefecture"], tw, seats, seat_tw, epsg,
                                              layers["villages"])
    gap_names = {g: tw.set_index("code").loc[c, "name"] + f" ({c})" for g, c in gaps.items() if c}
    prov = provenance_table(code, epsg, totals, n_villages, homophone, gap_names)
    return dict(code=code, name=row["name"], layers=layers, provenance=prov, grid=grid, transform=transform,
                epsg=epsg, totals=totals, gaps=gap_names)


def _write_gpkg(built: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.gpkg")
    try:
        for name in (n for n in LAYER_ORDER if n in built["layers"]):
            pyogrio.write_dataframe(built["layers"][name], tmp, layer=name, driver="GPKG")
        pyogrio.write_dataframe(built["provenance"], tmp, layer="provenance", driver="GPKG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_tif(built: dict, path: Path) -> None:
    grid, code, name = built["grid"], built["code"], built["name"]
    _, _, pop_status, pop_source = built["totals"]
    profile = dict(driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1, dtype="int32",
                   crs=f"EPSG:{built['epsg']}", transform=built["transform"], compress="DEFLATE", predictor=2,
                   tiled=True, blockxsize=256, blockysize=256)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.tif")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(grid, 1)
            dst.update_tags(
                TIFFTAG_IMAGEDESCRIPTION=f"Illustrative resident population of {name} ({code}), "
                                         "persons per 100 m cell",
                TIFFTAG_SOFTWARE=GENERATED_BY,
                units="persons per cell",
                total_population=str(int(grid.sum())),
                total_status=pop_status,
                total_source=pop_source,
                status="illustrative: spatial pattern generated; only the county total may be real",
                generated_by=f"{GENERATED_BY}, seed numpy default_rng([{code}, stream])",
            )
            dst.set_band_description(1, "population")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def build_county(code: str, out, overwrite: bool = False, population: int | None = None,
                 pop60: int | None = None) -> dict:
    """Build and write the sample layers of one Zhejiang county.

    Writes ``<out>/<code>.gpkg`` (every vector layer kind plus ``county``,
    ``neighbours`` and a ``provenance`` table) and
    ``<out>/<code>_population.tif``. The same code always gives the same
    data. Each file is written to a temporary file in ``out`` and renamed.

    Parameters
    ----------
    code : str
        6-digit county code.
    out : str or Path
        Output folder (created if missing).
    overwrite : bool
        Replace existing files of that county; otherwise refuse.
    population, pop60 : int, optional
        Override the county totals.

    Returns
    -------
    dict
        ``code, name, gpkg, tif, total, gaps, seconds``.

    Raises
    ------
    GeoplanError
        Not a Zhejiang county that can be built, or its files exist and
        ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> res = build_county("330727", tempfile.mkdtemp())  # doctest: +SKIP
    >>> res["name"], res["total"]  # doctest: +SKIP
    ('磐安县', 177100)
    """
    t0 = time.perf_counter()
    code = str(code).strip()
    out = Path(out)
    check_county(code)
    check_outputs([code], out, overwrite)
    built = build_layers(code, population, pop60)
    out.mkdir(parents=True, exist_ok=True)
    gpkg, tif = output_paths(code, out)
    _write_gpkg(built, gpkg)
    _write_tif(built, tif)
    return dict(code=code, name=built["name"], gpkg=gpkg, tif=tif, total=int(built["grid"].sum()),
                gaps=built["gaps"], seconds=round(time.perf_counter() - t0, 1))
