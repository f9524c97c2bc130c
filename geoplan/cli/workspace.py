"""``geoplan workspace``: a county's own files into one checked workspace folder."""

from __future__ import annotations

from pathlib import Path

import click

from geoplan.cli.util import ErrorGroup, PathArg
from geoplan.cli.util import table as _table
from geoplan.i18n import _


@click.group("workspace", cls=ErrorGroup)
def workspace():
    """County workspace: the county's own files (township boundaries, facility tables, census, roads) in one folder.

    \b
    Example:
      geoplan workspace init 330624 --townships 乡镇界.shp \\
          --facilities 养老设施.xlsx:elderly_care:gcj02 --facilities 儿童之家.xlsx:children_homes \\
          --roads zhejiang.osm.pbf --population 七普乡镇人口.csv --out 新昌工作区
      geoplan workspace show 新昌工作区
    """


def _options(f):
    opts = [
        click.option("--townships", type=PathArg(dir_okay=False, path_type=Path),
                     help="Township (乡镇/街道) boundaries: Shapefile, GeoPackage or GeoJSON (any CRS, see the notes)."),
        click.option("--facilities", multiple=True, metavar="FILE:KIND[:gcj02|wgs84|cgcs2000]",
                     help="Facility table, repeatable; KIND e.g. elderly_care; add :gcj02 for coordinates picked on a web map; a table with addresses only is placed by address."),
        click.option("--roads", type=PathArg(dir_okay=False, path_type=Path),
                     help="Roads: an OpenStreetMap file (.osm / .osm.pbf / .osm.bz2) or a roads layer."),
        click.option("--population", "census", type=PathArg(dir_okay=False, path_type=Path),
                     help="7th-census population table per township (CSV or XLSX: township, resident population, aged 60+)."),
        click.option("--population-raster", type=PathArg(dir_okay=False, path_type=Path),
                     help="Population raster (WorldPop, GHS-POP …, any CRS), rescaled to the census totals."),
        click.option("--villages", type=PathArg(dir_okay=False, path_type=Path),
                     help="Village (村/社区) points, for placing addresses at village level and for spreading the population."),
        click.option("--gazetteer", type=PathArg(dir_okay=False, path_type=Path),
                     help="Gazetteer (geoplan gaz's database): its village points and former names help place addresses."),
        click.option("--layer", "layers", multiple=True, metavar="FILE:KIND",
                     help="Another layer as it is, repeatable; KIND: boundary_lines, boundary_markers or place_names "
                          "(for inspect and the inspection and gazetteer maps)."),
        click.option("--water", type=PathArg(dir_okay=False, path_type=Path),
                     help="Water polygons (lakes, reservoirs, rivers): kept as a layer; nobody is placed on water."),
        click.option("--townships-crs", default=None,
                     help="CRS of the township file when it has no .prj and the coordinates do not tell, e.g. EPSG:4549."),
        click.option("--legacy-datum-accuracy", type=float, default=None, metavar="METRES",
                     help="Accept an approximate conversion of Xian 1980 / Beijing 1954 coordinates, stating the accuracy you accept (metres)."),
        click.option("--road-margin", type=float, default=5.0, show_default=True,
                     help="Clip the roads to the county outline plus this many kilometres."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _run(county, out, townships, facilities, roads, census, population_raster, villages, gazetteer,
         townships_crs, legacy_datum_accuracy, road_margin, layers=(), water=None):
    from geoplan.layers.workspace import build_workspace

    result = build_workspace(
        county, out, townships=townships, facilities=facilities, roads=roads, census=census,
        villages=villages, population_raster=population_raster, gazetteer=gazetteer, townships_crs=townships_crs,
        legacy_accuracy_m=legacy_datum_accuracy, road_margin_m=road_margin * 1000.0, layers=layers, water=water)
    m = result.manifest
    click.echo(_("Workspace: {name} ({code}) → {folder}").format(name=m["county_name"], code=m["county"],
                                                              folder=result.folder))
    if result.written:
        click.echo(_("Layers written: {layers}").format(layers=_(", ").join(result.written)))
    if result.kept:
        click.echo(_("Unchanged (kept): {layers}").format(layers=_(", ").join(result.kept)))
    for role, note in m.get("read_notes", {}).items():
        for n in note.get("notes", []):
            click.echo(f"  {role}: {n}")
    if result.population_method is not None:
        click.echo("\n" + _("Population spread (100 m grid, {method}…):").format(
            method=m["population"]["method"][:22]))
        click.echo(_table(result.population_method.rename(columns={
            "code": _("township code"), "name": _("township name"), "method": _("method"),
            "cells": _("cells with people"), "population": _("resident population"), "pop_60plus": _("people aged 60+")})))
    if result.addresses is not None:
        from geoplan.layers.addresses import match_summary

        s = match_summary(result.addresses)
        counts = _("; ").join(_("{level} {count} ({share:.1%})").format(level=r.level, count=r.count, share=r.share)
                              for r in s.itertuples())
        click.echo("\n" + _("Addresses placed: {counts}. Details in {report}").format(
            counts=counts, report=result.folder / m["addresses"]["report"]))


@workspace.command("init")
@click.argument("county")
@_options
@click.option("--out", type=PathArg(file_okay=False, path_type=Path), required=True, help="Workspace folder.")
def init(county, out, **kw):
    """Build a workspace from the county's files (an existing one of the same county: only changed layers replaced).

    COUNTY is the 6-digit county code, e.g. 330624 (新昌县). Every problem of
    every file is listed at once; when there is any, nothing is written.
    """
    _run(county, out, **kw)


@workspace.command("update")
@click.argument("folder", type=PathArg(file_okay=False, exists=True, path_type=Path))
@_options
def update(folder, **kw):
    """Update a workspace with new files: only the files given are read and only their layers replaced."""
    from geoplan.layers.workspace import read_manifest

    m = read_manifest(folder)
    if m is None:
        raise click.ClickException(_("{folder} is not a workspace (no manifest.json): make one with "
                                     "`geoplan workspace init` first.").format(folder=folder))
    _run(m["county"], folder, **kw)


@workspace.command("show")
@click.argument("folder", type=PathArg(file_okay=False, exists=True, path_type=Path))
def show(folder):
    """List the workspace's layers, their source files and when they were read."""
    import pandas as pd

    from geoplan.layers.workspace import read_manifest

    m = read_manifest(folder)
    if m is None:
        raise click.ClickException(_("{folder} is not a workspace (no manifest.json).").format(folder=folder))
    click.echo(_("{name} ({code}), made {created}, updated {updated}").format(
        name=m["county_name"], code=m["county"], created=m["created_at"], updated=m["updated_at"]))
    rows = [{_("layer"): k, _("features"): v["features"], _("written at"): v["written_at"],
             _("source files"): _("; ").join(Path(m["inputs"].get(r, {}).get("path", r)).name for r in v["sources"])}
            for k, v in m["layers"].items()]
    click.echo(_table(pd.DataFrame(rows)))
    if m.get("population"):
        click.echo(_("Population: {method}").format(method=m["population"]["method"]))
