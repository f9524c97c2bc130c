"""``geoplan site``: propose new facility sites with LSCP, MCLP or p-median on road travel times."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from geoplan.cli.util import ErrorGroup, PathArg, load_county_from, table, workspace_county, workspace_option
from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.layers.schema import SCHEMAS
from geoplan.output import OVERWRITE_HELP, check_target, refuse_inputs, write_csv, write_geo

FACILITY_LAYERS = ["elderly_care", "cemeteries", "social_work_stations", "disability_homes", "children_homes"]


def _options(f):
    f = click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)(f)
    f = click.option("--out", "out_path", type=PathArg(dir_okay=False, path_type=Path),
                     help="Write the proposed sites: .csv, .gpkg or .geojson.")(f)
    f = click.option("--time-limit", default=120.0, show_default=True, type=float,
                     help="Seconds for the solver; the best plan found by then is reported as such.")(f)
    f = click.option("--population-field", type=click.Choice(["pop_60plus", "population"]),
                     help="Whose travel counts. Default: the plan rule's, else pop_60plus.")(f)
    f = click.option("--minutes", type=click.FloatRange(min=0, min_open=True),
                     help="Covered means within this many minutes by road (walk to the road included). "
                          "Default: the plan rule's, else 15.")(f)
    f = click.option("--without-planned", is_flag=True,
                     help="Leave planned facilities (规划, status 'planned') out instead of treating them as built.")(f)
    f = click.option("--rule", "rule_id", help="ID of the plan's travel-time rule (default: its only one).")(f)
    f = click.option("--plan", "plan_path", type=PathArg(path_type=Path),
                     help="Plan file whose travel-time rule sets the minutes, population and facilities, "
                          "e.g. plans/local/330624_15min.toml.")(f)
    f = click.option("--kind", help="Only facilities of this kind (e.g. 居家养老服务中心, home-care service centre) stay open as "
                          "existing.")(f)
    f = click.option("--facilities", default="elderly_care", show_default=True, type=click.Choice(FACILITY_LAYERS),
                     help="Facility layer whose operating sites stay open.")(f)
    f = workspace_option(f)
    f = click.option("--population", type=PathArg(exists=True, dir_okay=False, path_type=Path),
                     help="Population GeoTIFF to go with --layers.")(f)
    f = click.option("--layers", "gpkg", type=PathArg(exists=True, dir_okay=False, path_type=Path),
                     help="County GeoPackage with layers named by kind. Default: the sample county.")(f)
    f = click.option("--county", default="330624", show_default=True, help="Sample county code.")(f)
    return f


def _run(model, county, gpkg, population, facilities, kind, minutes, population_field, time_limit, out_path, n_new,
         plan_path, rule_id, without_planned, overwrite=False, workspace_dir=None):
    from geoplan.coverage.plans import load_plan, parse_plan
    from geoplan.coverage.proposals import propose_sites
    from geoplan.network.graph import RoadNetwork

    if out_path is not None and out_path.suffix.lower() not in (".csv", ".gpkg", ".geojson"):
        raise GeoplanError(_("--out must end in .csv, .gpkg or .geojson, not {suffix}.").format(
            suffix=out_path.suffix or _("nothing")))
    if out_path is not None:
        if not out_path.parent.exists():
            out_path.parent.mkdir(parents=True)  # a new folder for the sites is made, as for coverage --out
        refuse_inputs([out_path], [gpkg, population, plan_path])
        check_target(out_path, overwrite=overwrite)  # refuse before the solver runs
    if plan_path is not None:
        plan = load_plan(plan_path)
        travel_rules = [r for r in plan.rules if r.kind == "travel_time"]
        if rule_id is not None:
            rule = plan.rule(rule_id)
        elif len(travel_rules) == 1:
            rule = travel_rules[0]
        else:
            raise GeoplanError(_("{plan} has {n} travel-time rules; choose one with --rule: {rules}").format(
                plan=plan_path, n=len(travel_rules), rules=_(", ").join(r.id for r in travel_rules)))
        if rule.kind != "travel_time":
            raise GeoplanError(_("Rule {id} ({title}) is not a travel-time rule; it cannot be used for siting.")
                               .format(id=rule.id, title=rule.title))
        county = plan.county
    else:
        county = workspace_county(workspace_dir) or county
        where = {}
        if kind is not None:
            schema = SCHEMAS[facilities]
            if "kind" not in {f.name for f in schema.fields}:
                raise GeoplanError(_("The layer {layer} ({title}) has no kind column; leave out --kind.").format(
                    layer=facilities, title=schema.title))
            field = schema.field("kind")
            wanted = field.canonical(kind)
            if wanted is None:
                raise GeoplanError(_("--kind {kind!r} is not a kind of {title}; the kinds are: {kinds}.").format(
                    kind=kind, title=schema.title, kinds=_(", ").join(field.choices)))
            where = {"where": {"kind": wanted}}
        rule = parse_plan({"plan": {"county": county, "name": "选址"}, "rule": [{
            "id": "site", "kind": "travel_time", "layer": facilities, "minutes": minutes or 15.0,
            "population": population_field or "pop_60plus", "target": 1, **where}]}).rules[0]
    c = load_county_from(county, gpkg, population, workspace_dir, expect=county)
    net = RoadNetwork.from_roads(c["roads"])
    with click.progressbar(length=1, label=f"{model.upper()} on road travel times") as bar:
        proposal = propose_sites(c, net, rule=rule, minutes=minutes, n_new=n_new, population=population_field,
                                 include_planned=not without_planned, time_limit=time_limit, model=model)
        bar.update(1)
    click.echo(proposal.summary())
    click.echo("")
    shown = pd.DataFrame(proposal.sites.drop(columns=["geometry", "reason"])).rename(columns={
        "site_id": _("candidate site"), "name": _("name"), "township_code": _("township code"),
        "township": _("township"),
        "new_people": _("people nearest to it") if model == "pmedian" else _("people newly covered")})
    click.echo(table(shown))
    if out_path is not None:
        suffix = out_path.suffix.lower()
        if suffix == ".csv":
            out = pd.DataFrame(proposal.sites.drop(columns="geometry"))
            out["lon"], out["lat"] = proposal.sites.geometry.x.round(6), proposal.sites.geometry.y.round(6)
            write_csv(out, out_path, overwrite=overwrite)
        else:
            write_geo(proposal.sites, out_path, overwrite=overwrite)
        click.echo(_("Wrote {path}").format(path=out_path))


@click.group("site", cls=ErrorGroup)
def site():
    """Propose new facility sites (LSCP, MCLP, p-median) on road travel times.

    Existing operating and planned facilities stay open (--without-planned
    leaves the planned ones out); candidates are the villages, communities and
    township seats; demand is the population raster. With --plan, the
    travel-time limit, population group and facilities come from the plan's rule.
    """


@site.command("lscp")
@_options
def lscp_cmd(**kw):
    """Fewest new sites so that everybody a candidate can reach is within --minutes.

    \b
    Example:
      geoplan site lscp --facilities elderly_care --kind 居家养老服务中心 --minutes 15 --out new.csv
    """
    _run("lscp", n_new=None, **kw)


@site.command("mclp")
@click.option("--new", "n_new", required=True, type=click.IntRange(1, 1000), help="Number of new sites.")
@_options
def mclp_cmd(n_new, **kw):
    """The --new sites that bring the most people within --minutes.

    \b
    Example:
      geoplan site mclp --new 3 --plan plans/local/330624_15min.toml --out new.gpkg
      geoplan site mclp --new 3 --kind 居家养老服务中心 --minutes 15 --out new.gpkg
    """
    _run("mclp", n_new=n_new, **kw)


@site.command("pmedian")
@click.option("--new", "n_new", required=True, type=click.IntRange(1, 1000), help="Number of new sites.")
@_options
def pmedian_cmd(n_new, **kw):
    """The --new sites that make the population-weighted travel time to the nearest site least.

    \b
    Example:
      geoplan site pmedian --new 2 --facilities social_work_stations --out new.csv
    """
    _run("pmedian", n_new=n_new, **kw)
