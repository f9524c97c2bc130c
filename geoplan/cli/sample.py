"""``geoplan sample``: build sample layers for any county of Zhejiang, and list the counties."""

from __future__ import annotations

import time
from pathlib import Path

import click

from geoplan.cli.util import ErrorGroup, table
from geoplan.errors import GeoplanError


@click.group(cls=ErrorGroup)
def sample():
    """浙江省任一县(市、区)的示例图层:生成与列表。

    \b
    示例:
      geoplan sample list
      geoplan sample build 331023 --out 天台
    """


@sample.command("list")
def list_cmd():
    """列出浙江省的县级区划,以及能否生成示例图层。"""
    from geoplan.layers.samplebuild.outlines import zhejiang_counties

    t = zhejiang_counties()
    shown = t.assign(可生成=t["buildable"].map({True: "是", False: "否"}))
    shown = shown.rename(columns={"code": "代码", "name": "名称", "prefecture": "所属地级市"})
    click.echo(table(shown[["代码", "名称", "所属地级市", "可生成"]]))
    click.echo(f"\n县界数据(2021)与区划代码(2022)中共 {len(t)} 个县级代码,其中 {int(t['buildable'].sum())} 个"
               "可生成示例图层。")
    for reason in t.loc[~t["buildable"], "reason"]:
        click.echo(f"  {reason}。")


@sample.command("build")
@click.argument("codes", nargs=-1)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="输出文件夹(不存在则创建)。")
@click.option("--all", "all_counties", is_flag=True, help="生成全部可生成的浙江县级区划(见 geoplan sample list)。")
@click.option("--overwrite", is_flag=True, help="覆盖文件夹中已有的同名文件(默认拒绝覆盖)。")
@click.option("--readme", is_flag=True, help="同时写出 README.md:图层说明与每个县的来源表。")
@click.option("--population", type=click.IntRange(min=1), help="替换县常住人口总数(只能给一个县)。")
@click.option("--pop60", type=click.IntRange(min=0), help="替换县 60 岁及以上人口(只能给一个县)。")
def build(codes, out_dir, all_counties, overwrite, readme, population, pop60):
    """生成县的示例图层:<代码>.gpkg(全部图层与来源表 provenance)和 <代码>_population.tif。

    CODES 是 6 位县级区划代码,可给多个。同一代码每次生成的数据完全相同。

    真实的部分:县界、县界线、乡镇和村(社区)的名称与代码、县城位置、公布的普查总数;\
其余(乡镇范围、人口分布、村的位置、道路、设施、界桩)是示意数据,每个文件的 provenance 表写明哪些是真实的。

    \b
    示例:
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
        click.echo(f"{res['code']} {res['name']}:{res['gpkg'].name}、{res['tif'].name},"
                   f"常住人口 {res['total']:,} 人,用时 {res['seconds']:.1f} 秒")
    if readme:
        click.echo(f"写出 {write_docs(out_dir)}")
    click.echo(f"共 {len(codes)} 个县,用时 {time.perf_counter() - t0:.1f} 秒。")


def script_main(argv: list[str]) -> int:
    """``scripts/build_sample_layers.py``: ``geoplan sample build ARGS``, or with no arguments rebuild the
    bundled samples (新昌县, 磐安县) and their README in the sample folder (``geoplan.layers.sample.layers_dir``)."""
    from geoplan.layers.sample import SAMPLE_COUNTIES, layers_dir

    args = list(argv) or [*SAMPLE_COUNTIES, "--out", str(layers_dir()), "--overwrite", "--readme"]
    return sample.main(["build", *args], prog_name="build_sample_layers.py")


if __name__ == "__main__":  # pragma: no cover
    sample()
