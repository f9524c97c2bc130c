"""``geoplan site``: propose new facility sites with LSCP, MCLP or p-median on road travel times."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from geoplan.cli.util import ErrorGroup, table
from geoplan.errors import GeoplanError
from geoplan.layers.schema import SCHEMAS

FACILITY_LAYERS = ["elderly_care", "cemeteries", "social_work_stations", "disability_homes", "children_homes"]


def _options(f):
    f = click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the proposed sites: .csv, .gpkg or .geojson.")(f)
    f = click.option("--time-limit", default=120.0, show_default=True, type=float,
                     help="Seconds for the solver; the best plan found by then is reported as such.")(f)
    f = click.option("--population-field", default="pop_60plus", show_default=True,
                     type=click.Choice(["pop_60plus", "population"]), help="Whose travel counts.")(f)
    f = click.option("--minutes", default=15.0, show_default=True, type=float,
                     help="Covered means within this many minutes by road (walk to the road included).")(f)
    f = click.option("--kind", help="Only facilities of this kind (e.g. 居家养老服务中心) stay open as existing.")(f)
    f = click.option("--facilities", default="elderly_care", show_default=True, type=click.Choice(FACILITY_LAYERS),
                     help="Facility layer whose operating sites stay open.")(f)
    f = click.option("--population", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Population GeoTIFF to go with --layers.")(f)
    f = click.option("--layers", "gpkg", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="County GeoPackage with layers named by kind. Default: the sample county.")(f)
    f = click.option("--county", default="330624", show_default=True, help="Sample county code.")(f)
    return f


def _run(model, county, gpkg, population, facilities, kind, minutes, population_field, time_limit, out_path, n_new):
    from geoplan.network.graph import RoadNetwork
    from geoplan.coverage.proposals import propose_sites
    from geoplan.layers.sample import load_county, load_sample

    if out_path is not None and out_path.suffix.lower() not in (".csv", ".gpkg", ".geojson"):
        raise GeoplanError(f"--out must end in .csv, .gpkg or .geojson, not {out_path.suffix or 'nothing'}.")
    c = load_sample(county) if gpkg is None else load_county(gpkg, population)
    fac = c[facilities]
    keep = fac["status"] == "运营"
    if kind is not None:
        if "kind" not in fac.columns:
            raise GeoplanError(f"The {facilities} layer has no kinds; leave out --kind.")
        wanted = SCHEMAS[facilities].field("kind").canonical(kind) or kind
        keep &= fac["kind"] == wanted
    net = RoadNetwork.from_roads(c["roads"])
    with click.progressbar(length=1, label=f"{model.upper()} on road travel times") as bar:
        proposal = propose_sites(c, net, fac[keep], minutes=minutes, n_new=n_new, population=population_field,
                                 time_limit=time_limit, model=model)
        bar.update(1)
    click.echo(proposal.result.summary())
    click.echo("")
    click.echo(table(pd.DataFrame(proposal.sites.drop(columns="geometry"))))
    if out_path is not None:
        suffix = out_path.suffix.lower()
        if suffix == ".csv":
            out = pd.DataFrame(proposal.sites.drop(columns="geometry"))
            out["lon"], out["lat"] = proposal.sites.geometry.x, proposal.sites.geometry.y
            out.to_csv(out_path, index=False, encoding="utf-8-sig")
        else:
            proposal.sites.to_file(out_path, engine="pyogrio")
        click.echo(f"Wrote {out_path}")


@click.group("site", cls=ErrorGroup)
def site():
    """Propose new facility sites (LSCP, MCLP, p-median) on road travel times.

    Existing operating facilities stay open; candidates are the villages,
    communities and township seats; demand is the population raster.
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
