"""The ``geoplan`` command line: a thin click layer over the library.

Every command turns a :class:`geoplan.errors.GeoplanError` into a message on
stderr and exit status 1 — never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd

from geoplan import __version__
from geoplan.cli.util import ErrorGroup, lang_option
from geoplan.cli.util import table as _table
from geoplan.i18n import N_, _, ngettext


@click.group(cls=ErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@lang_option
@click.version_option(__version__, prog_name="geoplan")
def main():
    """geoplan: civil-affairs (民政) planning for a county.

    Validated layers, coverage of plan targets, boundary inspection and the
    place-name gazetteer. Start with `geoplan demo`.
    """


@main.command()
@click.option("--county", default="330624", show_default=True,
              help="Sample county code: 330624 (新昌县) or 330727 (磐安县).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("maps"),
              show_default=True, help="Folder for the outputs.")
def demo(county, out_dir):
    """Run the main job on a bundled sample county.

    \b
    Example:
      geoplan demo --county 330727 --out /tmp/panan
    """
    from geoplan.demo import run_demo

    result = run_demo(out_dir, county)
    c = result.county
    click.echo(f"geoplan demo — {c.name} ({c.code}): every layer validated\n")
    click.echo(_table(result.tables["layers"]))
    click.echo("\nTownships (operating facilities by kind):")
    click.echo(_table(result.tables["townships"]))
    if "home_care_access" in result.tables:
        click.echo("\nNearest operating home-care centre by road (minutes; % of people beyond 15 / 30 min):")
        click.echo(_table(result.tables["home_care_access"]))
    if result.evaluation is not None:
        ev = result.evaluation
        click.echo(f"\nPlan: {ev.plan.name} — evaluated for {ev.year}")
        click.echo(_table(ev.summary[["rule_id", "title", "passed", "reason"]]))
    if "siting" in result.tables:
        click.echo("\nSiting proposal: 3 new home-care centres (MCLP, 60+ within 15 min by road):")
        click.echo(_table(result.tables["siting"][["what", "site_id", "name", "reason"]]))
    if "naming_report" in result.tables:
        from geoplan.gazetteer.naming import summary

        report = result.tables["naming_report"]
        click.echo(f"\nGazetteer: seeded from the sample layers; naming-rule check found {len(report)} issue(s)")
        if len(report):
            click.echo(_table(summary(report)))
    click.echo("\nWrote:")
    for path in result.files:
        click.echo(f"  {path}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--kind", help="Layer kind (see `geoplan layers`). Default: every layer of a GeoPackage named by kind.")
@click.option("--layer", help="GeoPackage layer or XLSX sheet to read.")
@click.option("--crs", help="CRS of the data if the file has none, e.g. EPSG:4490.")
@click.option("--encoding", help="Text encoding, if detection fails (e.g. GBK).")
@click.option("--lon", "lon_col", help="Longitude column of a CSV/XLSX.")
@click.option("--lat", "lat_col", help="Latitude column of a CSV/XLSX.")
@click.option("--gcj02", is_flag=True, help="Coordinates are GCJ-02 (Gaode/Amap, Tencent): convert them.")
@click.option("--repair", is_flag=True, help="Repair invalid geometries instead of reporting them.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the validated layer (CGCS2000) into this GeoPackage; nothing is written if it fails.")
def validate(path, kind, layer, crs, encoding, lon_col, lat_col, gcj02, repair, out_path):
    """Check a layer file against its schema and list every problem.

    \b
    Examples:
      geoplan validate towns.shp --kind townships
      geoplan validate 养老设施.xlsx --kind elderly_care --gcj02 --out clean.gpkg
      geoplan validate layers/330624.gpkg
    """
    from geoplan.layers.io import list_layers, read_layer, write_layer
    from geoplan.layers.schema import SCHEMAS

    if kind is None:
        if path.suffix.lower() != ".gpkg":
            raise click.UsageError(_("Give --kind for a file that is not a GeoPackage (see `geoplan layers`)."))
        kinds = [k for k in list_layers(path) if k in SCHEMAS]
        if not kinds:
            raise click.UsageError(_("{path} has no layer named like a layer kind; give --kind and --layer.").format(
                path=path))
        if out_path is not None:
            raise click.UsageError(_("--out needs a single layer: give --kind."))
        pairs = [(k, k) for k in kinds]
    else:
        pairs = [(kind, layer)]
    layers = {}
    codes = None
    for k, lyr in sorted(pairs, key=lambda kl: kl[0] != "townships"):
        gdf = read_layer(path, k, layer=lyr, crs=crs, encoding=encoding, lon_col=lon_col, lat_col=lat_col,
                         coords="gcj02" if gcj02 else "cgcs2000", townships=codes, repair=repair)
        layers[k] = gdf
        if k == "townships":
            codes = set(gdf["code"])
        where = f"{path}{'' if lyr is None else ':' + lyr}"
        click.echo(ngettext("OK  {kind:22s} {n:6d} feature  ({where})", "OK  {kind:22s} {n:6d} features  ({where})",
                            len(gdf)).format(kind=k, n=len(gdf), where=where))
    if out_path is not None:
        (k, gdf), = layers.items()
        write_layer(gdf, out_path, layer=k)
        click.echo(_("Wrote {path} (layer '{layer}', EPSG:4490)").format(path=out_path, layer=k))


@main.command()
@click.option("--plan", "plan_path", required=True, type=click.Path(path_type=Path),
              help="Plan file (TOML), e.g. plans/330624_2022.toml.")
@click.option("--layers", "gpkg", type=click.Path(path_type=Path),
              help="County GeoPackage with layers named by kind. Default: the sample of the plan's county.")
@click.option("--population", type=click.Path(path_type=Path), help="Population GeoTIFF (for travel-time rules).")
@click.option("--year", type=int, help="Year to evaluate. Default: the plan's latest target year.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report: .xlsx (formatted, one sheet per rule group) or .csv.")
@click.option("--travel/--no-travel", "travel_rules", default=True, show_default=True,
              help="Evaluate travel-time rules on the roads layer and population raster.")
@click.option("--raster-population", is_flag=True,
              help="Take township populations from the raster (zonal sums with partial cells) "
                   "instead of the townships layer's census columns.")
def coverage(plan_path, gpkg, population, year, out_path, travel_rules, raster_population):
    """Evaluate a county plan's targets, township by township.

    \b
    Examples:
      geoplan coverage --plan plans/330624_2022.toml --out 新昌2022.xlsx
      geoplan coverage --plan plans/330727_2025.toml --year 2025 --layers my.gpkg --population pop.tif
    """
    from geoplan.coverage.evaluation import evaluate
    from geoplan.coverage.plans import load_plan
    from geoplan.coverage.report import write_csv, write_xlsx
    from geoplan.layers.sample import load_county, load_sample

    plan = load_plan(plan_path)
    county = load_sample(plan.county) if gpkg is None else load_county(gpkg, population)
    if year is None:
        year = plan.default_year()
    travel = None
    if travel_rules and "roads" in county.layers and county.population is not None:
        from geoplan.coverage.evaluation import road_travel
        from geoplan.network.graph import RoadNetwork

        travel = road_travel(RoadNetwork.from_roads(county["roads"], source=str(gpkg or "sample roads")),
                             county.population)
    if raster_population and county.population is None:
        raise click.UsageError("--raster-population needs a population raster (--population).")
    result = evaluate(plan, county.layers, year, travel=travel,
                      population=county.population if raster_population else None)
    click.echo(f"{plan.name} — {year}\n")
    click.echo(_table(result.summary[["rule_id", "title", "passed", "reason"]]))
    if out_path is not None:
        if out_path.suffix.lower() == ".csv":
            paths = write_csv(result, out_path.parent, out_path.stem)
        else:
            paths = [write_xlsx(result, out_path.with_suffix(".xlsx"))]
        for p in paths:
            click.echo(f"Wrote {p}")


# The schema's value types, as the `layers` command names them.
_DTYPES = {"str": N_("text"), "enum": N_("choice"), "int": N_("whole number"), "float": N_("number"),
           "year": N_("year"), "bool": N_("yes/no"), "date": N_("date")}


@main.command("layers")
@click.argument("kind", required=False)
def layers_cmd(kind):
    """List the layer kinds, or the columns of one kind.

    \b
    Example:
      geoplan layers boundary_markers
    """
    from geoplan.layers.schema import SCHEMAS, get_schema

    if kind is None:
        rows = [{_("kind"): s.kind, _("title"): s.title_zh, _("geometry"): "/".join(s.geometry),
                 _("id"): s.id_field}
                for s in SCHEMAS.values()]
        click.echo(_table(pd.DataFrame(rows)))
        return
    s = get_schema(kind)
    click.echo(_("{kind} — {title}: {description}\ngeometry: {geometry}; id: {id}\n").format(
        kind=s.kind, title=s.title_zh, description=_(s.description), geometry=_(" or ").join(s.geometry),
        id=s.id_field))
    yes, no = _("yes"), _("no")
    rows = [{_("column"): f.name, _("type"): _(_DTYPES[f.dtype]) if f.dtype in _DTYPES else f.dtype, _("label"): f.label_zh,
             _("required"): yes if f.required else no, _("empty ok"): yes if f.nullable else no,
             _("values"): " ".join(f.choices) if f.choices else (_(f.pattern_hint) if f.pattern_hint else ""),
             _("meaning"): _(f.description)}
            for f in s.fields]
    click.echo(_table(pd.DataFrame(rows)))


def _register_subcommands() -> None:
    from geoplan.cli.gaz import gaz
    from geoplan.cli.inspect import inspect
    from geoplan.cli.map import map_group
    from geoplan.cli.site import site

    main.add_command(gaz)
    main.add_command(inspect)
    main.add_command(map_group)
    main.add_command(site)
    from geoplan.cli.province import province; main.add_command(province)  # noqa: E702
    from geoplan.cli.workspace import workspace; main.add_command(workspace)  # noqa: E702


_register_subcommands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
