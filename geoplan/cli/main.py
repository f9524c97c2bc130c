"""The ``geoplan`` command line: a thin click layer over the library.

Every command turns a :class:`geoplan.errors.GeoplanError` into a message on
stderr and exit status 1 — never a traceback.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from geoplan import __version__
from geoplan.cli.util import LazyGroup, PathArg, lang_option, load_county_from, workspace_option
from geoplan.cli.util import table as _table
from geoplan.i18n import N_, _, ngettext
from geoplan.output import OVERWRITE_HELP


def _overwrite(f):
    return click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)(f)


# The command groups, imported only when used: `geoplan gaz search` need not load the map stack (folium,
# geopandas …), which took most of a call's time.
_GROUPS = {
    "gaz": "geoplan.cli.gaz:gaz",
    "inspect": "geoplan.cli.inspect:inspect",
    "map": "geoplan.cli.map:map_group",
    "province": "geoplan.cli.province:province",
    "sample": "geoplan.cli.sample:sample",
    "site": "geoplan.cli.site:site",
    "workspace": "geoplan.cli.workspace:workspace",
}


@click.group(cls=LazyGroup, lazy_subcommands=_GROUPS, context_settings={"help_option_names": ["-h", "--help"]})
@lang_option
@click.version_option(__version__, prog_name="geoplan")
def main():
    """geoplan: civil-affairs (民政) planning for a county.

    Validated layers, coverage of plan targets, boundary inspection and the
    place-name gazetteer. Start with `geoplan demo`.
    """


@main.command()
@click.option("--county", default="330624", show_default=True,
              help="Sample county code: 330624 (Xinchang, 新昌县) or 330727 (Pan'an, 磐安县).")
@click.option("--out", "out_dir", type=PathArg(file_okay=False, path_type=Path), default=Path("maps"),
              show_default=True, help="Folder for the outputs.")
def demo(county, out_dir):
    """Run the main job on a bundled sample county.

    \b
    Example:
      geoplan demo --county 330727 --out /tmp/panan
    """
    from geoplan.demo import for_people, run_demo

    # The demo replaces only its own files in --out (<county>_…), after checking the font and the folder.
    result = run_demo(out_dir, county)
    c = result.county
    click.echo(_("geoplan demo — {name} ({code}): every layer validated").format(name=c.name, code=c.code) + "\n")
    click.echo(_table(for_people(result.tables["layers"])))
    click.echo("\n" + _("Townships (operating facilities by kind):"))
    click.echo(_table(for_people(result.tables["townships"])))
    if "home_care_access" in result.tables:
        click.echo("\n" + _("Nearest operating home-care centre by road (minutes; % of people beyond 15 / 30 min):"))
        click.echo(_table(for_people(result.tables["home_care_access"])))
    if result.evaluation is not None:
        ev = result.evaluation
        from geoplan.coverage.report import console_summary

        click.echo("\n" + _("Plan: {name} — targets of {year}, evaluated as of {date}").format(
            name=ev.plan.name, year=ev.year, date=ev.as_of.isoformat()))
        click.echo(_table(console_summary(ev)))
    if "siting" in result.tables:
        p = result.proposal
        click.echo("\n" + _("Siting proposal: {rule} (within {minutes:g} minutes; MCLP, existing and planned "
                             "facilities kept)").format(rule=p.rule.title, minutes=p.minutes))
        click.echo(_table(result.tables["siting"][["what", "name", "reason"]].rename(
            columns={"what": _("item"), "name": _("name"), "reason": _("reason")})))
    if "naming_report" in result.tables:
        from geoplan.gazetteer.naming import for_people as naming_for_people, summary

        report = result.tables["naming_report"]
        click.echo("\n" + ngettext("Gazetteer: seeded from the sample layers; the naming-rule check found {n} issue",
                                    "Gazetteer: seeded from the sample layers; the naming-rule check found {n} issues",
                                    len(report)).format(n=len(report)))
        if len(report):
            click.echo(_table(naming_for_people(summary(report))))
    click.echo("\n" + _("Wrote:"))
    for path in result.files:
        click.echo(f"  {path}")


@main.command()
@click.argument("path", type=PathArg(path_type=Path))
@click.option("--kind", help="Layer kind (see `geoplan layers`). Default: every layer of a GeoPackage named by kind.")
@click.option("--layer", help="GeoPackage layer or XLSX sheet to read.")
@click.option("--crs", help="CRS of the data if the file has none, e.g. EPSG:4490.")
@click.option("--encoding", help="Text encoding, if detection fails (e.g. GBK).")
@click.option("--lon", "lon_col", help="Longitude column of a CSV/XLSX.")
@click.option("--lat", "lat_col", help="Latitude column of a CSV/XLSX.")
@click.option("--gcj02", is_flag=True, help="Coordinates are GCJ-02 (Gaode/Amap, Tencent): convert them.")
@click.option("--repair", is_flag=True, help="Repair invalid geometries instead of reporting them.")
@click.option("--out", "out_path", type=PathArg(dir_okay=False, path_type=Path),
              help="Write the validated layer (CGCS2000) into this GeoPackage; nothing is written if it fails.")
@_overwrite  # an existing --out GeoPackage: that layer is replaced in it, its other layers are kept
def validate(path, kind, layer, crs, encoding, lon_col, lat_col, gcj02, repair, out_path, overwrite):
    """Check a layer file against its schema and list every problem.

    \b
    Examples:
      geoplan validate towns.shp --kind townships
      geoplan validate 养老设施.xlsx --kind elderly_care --gcj02 --out clean.gpkg
      geoplan validate layers/330624.gpkg
    """
    from geoplan.layers.io import list_layers, read_layer, write_layer
    from geoplan.layers.schema import SCHEMAS
    from geoplan.output import atomic_target, check_target, refuse_inputs

    if out_path is not None:
        if out_path.suffix.lower() != ".gpkg":
            raise click.UsageError(_("--out must end in .gpkg, not {suffix}.").format(
                suffix=out_path.suffix or _("nothing")))
        refuse_inputs([out_path], [path])
        check_target(out_path, overwrite=overwrite)  # refuse before the work

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
        with atomic_target(out_path, overwrite=overwrite) as tmp:
            if out_path.exists():  # --overwrite given: replace this layer, keep the GeoPackage's others
                shutil.copyfile(out_path, tmp)
            write_layer(gdf, tmp, layer=k, overwrite=True)
        click.echo(_("Wrote {path} (layer '{layer}', EPSG:4490)").format(path=out_path, layer=k))


@main.command()
@click.option("--plan", "plan_path", required=True, type=PathArg(path_type=Path),
              help="Plan file (TOML), e.g. plans/330624_2022.toml.")
@click.option("--layers", "gpkg", type=PathArg(path_type=Path),
              help="County GeoPackage with layers named by kind. Default: the sample of the plan's county.")
@workspace_option
@click.option("--population", type=PathArg(path_type=Path), help="Population GeoTIFF (for travel-time rules).")
@click.option("--year", type=int, help="Year whose targets apply. Default: the year of --as-of, else the plan's year.")
@click.option("--as-of", "as_of", help="Evaluation date, e.g. 2022-12-31 (default: the end of the target year). "
                                       "Facilities opened later or closed by then do not count.")
@click.option("--out", "out_path", type=PathArg(dir_okay=False, path_type=Path),
              help="Write the report: .xlsx (formatted, one sheet per rule group) or .csv.")
@click.option("--travel/--no-travel", "travel_rules", default=True, show_default=True,
              help="Evaluate travel-time rules on the roads layer and population raster.")
@click.option("--raster-population", is_flag=True,
              help="Take township populations from the raster (zonal sums with partial cells) "
                   "instead of the townships layer's census columns.")
@_overwrite
def coverage(plan_path, gpkg, workspace_dir, population, year, as_of, out_path, travel_rules, raster_population,
             overwrite):
    """Evaluate a county plan's targets as of a date, township by township.

    \b
    Examples:
      geoplan coverage --plan plans/330624_2022.toml --out 新昌2022.xlsx
      geoplan coverage --plan plans/330727_2025.toml --year 2022
      geoplan coverage --plan plans/330727_2025.toml --as-of 2023-06-30 --layers my.gpkg --population pop.tif
    """
    import datetime as dt

    from geoplan.coverage.evaluation import evaluate
    from geoplan.coverage.plans import PlanError, load_plan
    from geoplan.coverage.evaluation import FAIL, NOT_REQUIRED, PASS, UNKNOWN
    from geoplan.coverage.report import console_summary, status_text, write_csv, write_xlsx
    from geoplan.output import check_target, refuse_inputs
    plan = load_plan(plan_path)
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise PlanError(_("--as-of {value!r} is not a date; write it like 2022-12-31.").format(
                value=as_of)) from None
    year = plan.check_year(year if year is not None else (as_of.year if as_of else plan.default_year()))
    if out_path is not None and out_path.suffix.lower() not in (".xlsx", ".csv"):
        raise click.UsageError(_("--out must end in .xlsx or .csv, not {suffix}.").format(
            suffix=out_path.suffix or _("nothing")))
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)  # as before: a new folder for the report is made
        # refuse before the work (the CSV's sibling files are checked again once the tables are known)
        refuse_inputs([out_path], [plan_path, gpkg, population])
        check_target(out_path if out_path.suffix.lower() == ".xlsx" else
                     out_path.with_name(f"{out_path.stem}_summary.csv"), overwrite=overwrite)
    county = load_county_from(plan.county, gpkg, population, workspace_dir, expect=plan.county)
    travel = None
    if travel_rules and "roads" in county.layers and county.population is not None \
            and any(r.kind == "travel_time" for r in plan.rules):
        from geoplan.coverage.evaluation import road_travel
        from geoplan.network.graph import RoadNetwork

        travel = road_travel(RoadNetwork.from_roads(county["roads"], source=str(gpkg or "sample roads")),
                             county.population)
    if raster_population and county.population is None:
        raise click.UsageError(_("--raster-population needs a population raster (--population)."))
    result = evaluate(plan, county.layers, year, as_of=as_of, travel=travel,
                      population=county.population if raster_population else None)
    counts = result.summary["status"].value_counts()
    click.echo(_("{plan} — targets of {year}, evaluated as of {date}").format(
        plan=plan.name, year=year, date=result.as_of.isoformat()))
    click.echo(_("; ").join(_("{status} {n}").format(status=status_text(s), n=int(counts.get(s, 0)))
                            for s in (PASS, FAIL, NOT_REQUIRED, UNKNOWN)) + "\n")
    click.echo(_table(console_summary(result)))
    if out_path is not None:
        if out_path.suffix.lower() == ".csv":
            paths = write_csv(result, out_path.parent, out_path.stem, overwrite=overwrite)
        else:
            paths = [write_xlsx(result, out_path, overwrite=overwrite)]
        for p in paths:
            click.echo(_("Wrote {path}").format(path=p))


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
    import pandas as pd

    from geoplan.layers.schema import SCHEMAS, get_schema

    if kind is None:
        rows = [{_("kind"): s.kind, _("title"): s.title, _("geometry"): "/".join(s.geometry),
                 _("id"): s.id_field}
                for s in SCHEMAS.values()]
        click.echo(_table(pd.DataFrame(rows)))
        return
    s = get_schema(kind)
    click.echo(_("{kind} — {title}: {description}\ngeometry: {geometry}; id: {id}\n").format(
        kind=s.kind, title=s.title, description=_(s.description), geometry=_(" or ").join(s.geometry),
        id=s.id_field))
    yes, no = _("yes"), _("no")
    rows = [{_("column"): f.name, _("type"): _(_DTYPES[f.dtype]) if f.dtype in _DTYPES else f.dtype, _("label"): f.label_zh,
             _("required"): yes if f.required else no, _("empty ok"): yes if f.nullable else no,
             _("values"): " ".join(f.choices) if f.choices else (_(f.pattern_hint) if f.pattern_hint else ""),
             _("meaning"): _(f.description)}
            for f in s.fields]
    click.echo(_table(pd.DataFrame(rows)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
