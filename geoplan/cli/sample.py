"""``geoplan sample``: build sample layers for any county of Zhejiang, and list the counties."""

from __future__ import annotations

import time
from pathlib import Path

import click

from geoplan.cli.util import ErrorGroup, table
from geoplan.errors import GeoplanError


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
    shown = t.assign(可生成=t["buildable"].map({True: "是", False: "否"}))
    shown = shown.rename(columns={"code": "代码", "name": "名称", "prefecture": "所属地级市"})
    click.echo(table(shown[["代码", "名称", "所属地级市", "可生成"]]))
    click.echo(f"\n县界数据（2021）与区划代码（2022）中共 {len(t)} 个县级代码，其中 {int(t['buildable'].sum())} 个"
               "可生成示例图层。")
    for reason in t.loc[~t["buildable"], "reason"]:
        click.echo(f"  {reason}。")


@sample.command("build")
@click.argument("codes", nargs=-1)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
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
        raise GeoplanError("--all 与县代码只能选一个。")
    if all_counties:
        t = zhejiang_counties()
        codes = tuple(t.loc[t["buildable"], "code"])
    if not codes:
        raise GeoplanError("请给出至少一个县代码(例如 331023),或加 --all。可用代码见 `geoplan sample list`。")
    codes = tuple(dict.fromkeys(str(c).strip() for c in codes))
    if (population is not None or pop60 is not None) and len(codes) != 1:
        raise GeoplanError("--population / --pop60 只能与一个县代码一起使用。")
    for code in codes:
        check_county(code)
    check_outputs(codes, out_dir, overwrite)
    if readme and (out_dir / "README.md").exists() and not overwrite:
        raise GeoplanError(f"{out_dir} 中已有 README.md,不会覆盖。请去掉 --readme,或加 --overwrite。")
    t0 = time.perf_counter()
    for code in codes:
        res = build_county(code, out_dir, overwrite=overwrite, population=population, pop60=pop60)
        click.echo(f"{res['code']} {res['name']}：{res['gpkg'].name}、{res['tif'].name}，"
                   f"常住人口 {res['total']:,} 人，用时 {res['seconds']:.1f} 秒")
    if readme:
        click.echo(f"写出 {write_docs(out_dir)}")
    click.echo(f"共 {len(codes)} 个县，用时 {time.perf_counter() - t0:.1f} 秒。")


def script_main(argv: list[str]) -> int:
    """``scripts/build_sample_layers.py``: ``geoplan sample build ARGS``, or with no arguments rebuild the
    bundled samples (新昌县, 磐安县) and their README in the sample folder (``geoplan.layers.sample.layers_dir``)."""
    from geoplan.layers.sample import SAMPLE_COUNTIES, layers_dir

    args = list(argv) or [*SAMPLE_COUNTIES, "--out", str(layers_dir()), "--overwrite", "--readme"]
    return sample.main(["build", *args], prog_name="build_sample_layers.py")


if __name__ == "__main__":  # pragma: no cover
    sample()
