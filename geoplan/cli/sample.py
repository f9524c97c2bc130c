"""``geoplan sample``: build sample layers for any county of Zhejiang, and list the counties."""

from __future__ import annotations

import time
from pathlib import Path

import click

from geoplan.cli.util import ErrorGroup, PathArg, table
from geoplan.errors import GeoplanError
from geoplan.i18n import _, ngettext


@click.group(cls=ErrorGroup)
def sample():
    """Sample layers for any county (县、市、区) of Zhejiang: build and list.

    \b
    Examples:
      geoplan sample list
      geoplan sample build 331023 --out 天台
    """


@sample.command("list")
def list_cmd():
    """List Zhejiang's county-level divisions and whether sample layers can be built for each."""
    from geoplan.layers.samplebuild.outlines import zhejiang_counties

    t = zhejiang_counties()
    shown = t.assign(buildable=t["buildable"].map({True: _("yes"), False: _("no")}))
    headers = {"code": _("code"), "name": _("name"), "prefecture": _("prefecture"), "buildable": _("can be built")}
    shown = shown[list(headers)].rename(columns=headers)
    click.echo(table(shown))
    click.echo("\n" + _("The county outlines (2021) and division codes (2022) hold {n} county-level codes; sample "
                        "layers can be built for {buildable} of them.").format(
        n=len(t), buildable=int(t['buildable'].sum())))
    for reason in t.loc[~t["buildable"], "reason"]:
        click.echo(f"  {reason}")


@sample.command("build")
@click.argument("codes", nargs=-1)
@click.option("--out", "out_dir", required=True, type=PathArg(file_okay=False, path_type=Path),
              help="Output folder (created if missing).")
@click.option("--all", "all_counties", is_flag=True, help="Build every Zhejiang county that can be built (see geoplan sample list).")
@click.option("--overwrite", is_flag=True, help="Replace files of the same names in the folder (refused by default).")
@click.option("--readme", is_flag=True, help="Also write README.md: the layers and each county's provenance table.")
@click.option("--population", type=click.IntRange(min=1), help="Replace the county's resident population total (one county only).")
@click.option("--pop60", type=click.IntRange(min=0), help="Replace the county's population aged 60+ (one county only).")
def build(codes, out_dir, all_counties, overwrite, readme, population, pop60):
    """Build a county's sample layers: <code>.gpkg (every layer and its provenance table) and <code>_population.tif.

    CODES are 6-digit county codes, one or more. The same code always gives the same data.

    Real: county outline, county boundary lines, names and codes of townships and
    villages (村/社区), the county seat, published census totals. The rest (township
    extents, population pattern, village positions, roads, facilities, markers) is
    illustrative; each file's provenance table says which is which.

    \b
    Examples:
      geoplan sample build 331023 --out 天台
      geoplan sample build 330624 330727 --out layers --overwrite --readme
      geoplan sample build --all --out 浙江
    """
    from geoplan.layers.samplebuild.build import build_county, check_outputs
    from geoplan.layers.samplebuild.outlines import check_county, zhejiang_counties
    from geoplan.layers.samplebuild.provenance import write_docs

    if all_counties and codes:
        raise GeoplanError(_("Give either --all or county codes, not both."))
    if all_counties:
        t = zhejiang_counties()
        codes = tuple(t.loc[t["buildable"], "code"])
    if not codes:
        raise GeoplanError(_("Give at least one county code (e.g. 331023), or --all. `geoplan sample list` "
                             "shows the codes."))
    codes = tuple(dict.fromkeys(str(c).strip() for c in codes))
    if (population is not None or pop60 is not None) and len(codes) != 1:
        raise GeoplanError(_("--population / --pop60 can only be used with a single county code."))
    for code in codes:
        check_county(code)
    check_outputs(codes, out_dir, overwrite)
    if readme and (out_dir / "README.md").exists() and not overwrite:
        raise GeoplanError(_("{folder} already has a README.md, which is not replaced. Leave out --readme, or "
                             "add --overwrite.").format(folder=out_dir))
    t0 = time.perf_counter()
    for code in codes:
        res = build_county(code, out_dir, overwrite=overwrite, population=population, pop60=pop60)
        click.echo(_("{code} {name}: {gpkg}, {tif}, {people:,} residents, {seconds:.1f} s").format(
            code=res['code'], name=res['name'], gpkg=res['gpkg'].name, tif=res['tif'].name, people=res['total'],
            seconds=res['seconds']))
    if readme:
        click.echo(_("Wrote {path}").format(path=write_docs(out_dir)))
    click.echo(ngettext("{n} county in {seconds:.1f} s.", "{n} counties in {seconds:.1f} s.", len(codes)).format(
        n=len(codes), seconds=time.perf_counter() - t0))


def script_main(argv: list[str]) -> int:
    """``scripts/build_sample_layers.py``: ``geoplan sample build ARGS``, or with no arguments rebuild the
    bundled samples (新昌县, 磐安县) and their README in the sample folder (``geoplan.layers.sample.layers_dir``)."""
    from geoplan.layers.sample import SAMPLE_COUNTIES, layers_dir

    args = list(argv) or [*SAMPLE_COUNTIES, "--out", str(layers_dir()), "--overwrite", "--readme"]
    return sample.main(["build", *args], prog_name="build_sample_layers.py")


if __name__ == "__main__":  # pragma: no cover
    sample()
