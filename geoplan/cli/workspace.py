"""``geoplan workspace``: a county's own files into one checked workspace folder."""

from __future__ import annotations

from pathlib import Path

import click

from geoplan.cli.util import ErrorGroup
from geoplan.cli.util import table as _table


@click.group("workspace", cls=ErrorGroup)
def workspace():
    """县工作区：把本县自己的文件（乡镇界、设施表、普查人口、道路）整理成一个工作区。

    \b
    例：
      geoplan workspace init 330624 --townships 乡镇界.shp \\
          --facilities 养老设施.xlsx:elderly_care:gcj02 --facilities 儿童之家.xlsx:children_homes \\
          --roads zhejiang.osm.pbf --population 七普乡镇人口.csv --out 新昌工作区
      geoplan workspace show 新昌工作区
    """


def _options(f):
    opts = [
        click.option("--townships", type=click.Path(dir_okay=False, path_type=Path),
                     help="乡镇(街道)界线：Shapefile / GeoPackage / GeoJSON（任意坐标系，见说明）。"),
        click.option("--facilities", multiple=True, metavar="FILE:KIND[:gcj02|wgs84|cgcs2000]",
                     help="设施表，可重复；KIND 如 elderly_care；网络地图拾取的坐标加 :gcj02；只有地址的表按地址定位。"),
        click.option("--roads", type=click.Path(dir_okay=False, path_type=Path),
                     help="道路：OpenStreetMap 文件（.osm / .osm.pbf / .osm.bz2）或道路图层。"),
        click.option("--population", "census", type=click.Path(dir_okay=False, path_type=Path),
                     help="第七次人口普查乡镇人口表（CSV 或 XLSX：乡镇、常住人口、60岁及以上人口）。"),
        click.option("--population-raster", type=click.Path(dir_okay=False, path_type=Path),
                     help="人口栅格（WorldPop、GHS-POP 等，任意坐标系），按普查数重新标定。"),
        click.option("--villages", type=click.Path(dir_okay=False, path_type=Path),
                     help="村(社区)点图层，用于地址定位到村和人口分配。"),
        click.option("--gazetteer", type=click.Path(dir_okay=False, path_type=Path),
                     help="地名库（geoplan gaz 的数据库）：用其中村(社区)点和曾用名定位地址。"),
        click.option("--townships-crs", default=None,
                     help="乡镇界文件没有 .prj 且无法从坐标判断时的坐标系，如 EPSG:4549。"),
        click.option("--legacy-datum-accuracy", type=float, default=None, metavar="米",
                     help="接受西安1980/北京1954坐标的近似换算，并声明可接受的精度（米）。"),
        click.option("--road-margin", type=float, default=5.0, show_default=True,
                     help="道路按县界外扩的公里数裁剪。"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _run(county, out, townships, facilities, roads, census, population_raster, villages, gazetteer,
         townships_crs, legacy_datum_accuracy, road_margin):
    from geoplan.layers.workspace import build_workspace

    result = build_workspace(
        county, out, townships=townships, facilities=facilities, roads=roads, census=census,
        villages=villages, population_raster=population_raster, gazetteer=gazetteer, townships_crs=townships_crs,
        legacy_accuracy_m=legacy_datum_accuracy, road_margin_m=road_margin * 1000.0)
    m = result.manifest
    click.echo(f"工作区：{m['county_name']}（{m['county']}） → {result.folder}")
    if result.written:
        click.echo("写入图层：" + "、".join(result.written))
    if result.kept:
        click.echo("未变（保留）：" + "、".join(result.kept))
    for role, note in m.get("read_notes", {}).items():
        for n in note.get("notes", []):
            click.echo(f"  {role}: {n}")
    if result.population_method is not None:
        click.echo("\n人口分配（100米格网，" + m["population"]["method"][:22] + "…）：")
        click.echo(_table(result.population_method.rename(columns={
            "code": "乡镇代码", "name": "乡镇", "method": "方法", "cells": "有人格数",
            "population": "常住人口", "pop_60plus": "60岁及以上"})))
    if result.addresses is not None:
        from geoplan.layers.addresses import match_summary

        s = match_summary(result.addresses)
        click.echo("\n地址定位：" + "；".join(f"{r.level} {r.count} 条（{r.share:.1%}）" for r in s.itertuples())
                   + f"。明细见 {result.folder / m['addresses']['report']}")


@workspace.command("init")
@click.argument("county")
@_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="工作区文件夹。")
def init(county, out, **kw):
    """用本县文件建立工作区（文件夹里已有同县工作区时只替换变化的图层）。

    COUNTY 是6位县级区划代码，如 330624（新昌县）。所有文件的所有问题一次列出，
    有问题时不写入任何文件。
    """
    _run(county, out, **kw)


@workspace.command("update")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@_options
def update(folder, **kw):
    """用新文件更新已有工作区：只读给出的文件，只替换它们的图层。"""
    from geoplan.layers.workspace import read_manifest

    m = read_manifest(folder)
    if m is None:
        raise click.ClickException(f"{folder} 不是工作区（没有 manifest.json）：请先运行 geoplan workspace init。")
    _run(m["county"], folder, **kw)


@workspace.command("show")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
def show(folder):
    """列出工作区的图层、来源文件和时间。"""
    import pandas as pd

    from geoplan.layers.workspace import read_manifest

    m = read_manifest(folder)
    if m is None:
        raise click.ClickException(f"{folder} 不是工作区（没有 manifest.json）。")
    click.echo(f"{m['county_name']}（{m['county']}），建立 {m['created_at']}，更新 {m['updated_at']}")
    rows = [{"图层": k, "要素数": v["features"], "写入时间": v["written_at"],
             "来源": "；".join(Path(m["inputs"].get(r, {}).get("path", r)).name for r in v["sources"])}
            for k, v in m["layers"].items()]
    click.echo(_table(pd.DataFrame(rows)))
    if m.get("population"):
        click.echo("人口：" + m["population"]["method"])
