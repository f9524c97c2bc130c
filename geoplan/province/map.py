"""The province map: every township coloured by one indicator, county and prefecture outlines, popups.

Built with the shared map builder of :mod:`geoplan.maps.html` (so it has
the same title box, legend, search and layer control as the county maps, and
the same escaping: every text from the data goes through ``html.escape``
and travels in JSON blocks that cannot close their script element). It is
self-contained by default (Leaflet inlined, no basemap): a provincial
bureau's PC opens it without a network.

Drill-down: a township's popup lists every rule of its county's plan with
value, target and result; a county's popup (click its outline) gives its
plan, rules passed and failed, and townships behind.

Examples in this module use ``prov`` (a province run of 磐安县 alone) (``import geoplan as gp``);
pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.i18n import _
from geoplan.province.county import CountyResult, township_frame
from geoplan.province.report import INDICATORS, ProvinceError

# Sequential classes, light to dark: more failing rules, darker red.
_REDS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]
_BLUES_REV = ["#a50f15", "#de2d26", "#fb6a4a", "#fcae91", "#c7e9c0", "#41ab5d"]
_PASS, _FAIL, _NONE = "#43a047", "#e53935", "#bdbdbd"


def _maps():
    # The shared builder and its escaping helpers; one place for the look and the safety of every map.
    from types import SimpleNamespace

    from geoplan.maps import builder, common

    return SimpleNamespace(_Builder=builder._Builder, _feature=common._feature, _popup=common._popup,
                           _esc=common._esc, _sw_fill=common._sw_fill, _sw_line=common._sw_line,
                           _fmt=common._fmt)


def _town_values(towns_table: pd.DataFrame, town_rules: pd.DataFrame, indicator: str):
    """Per township code: (value for colour, label in the legend), and the legend classes."""
    if indicator == "failed":
        v = towns_table.set_index("乡镇代码")["未达标指标数"].astype(float)
        classes = [(0, 0, "0 项（全部达标）"), (1, 1, "1 项"), (2, 2, "2 项"), (3, 3, "3 项"), (4, np.inf, "4 项及以上")]
        return v, classes, _REDS[: len(classes)], "未达标指标数"
    if indicator == "within":
        v = towns_table.set_index("乡镇代码")["时限内人口比例(%)"].astype(float)
        classes = [(0, 50, "< 50%"), (50, 70, "50–70%"), (70, 80, "70–80%"), (80, 90, "80–90%"),
                   (90, 99.95, "90–99.9%"), (99.95, np.inf, "100%")]
        return v, classes, _BLUES_REV, "出行时间指标：时限内人口比例"
    if indicator == "beyond":
        v = towns_table.set_index("乡镇代码")["时限外人口"].astype(float)
        classes = [(0, 0.5, "0 人"), (0.5, 500, "1–499 人"), (500, 2000, "500–1,999 人"),
                   (2000, 5000, "2,000–4,999 人"), (5000, np.inf, "5,000 人及以上")]
        return v, classes, ["#f7f7f7", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"], "出行时间指标：时限外人口"
    rows = town_rules[town_rules["规则编号"] == indicator]
    if rows.empty:
        known = sorted(set(town_rules["规则编号"]))
        raise ProvinceError(_("No township has the rule {rule}. Colour by one of: {choices}.").format(
            rule=repr(indicator), choices=", ".join(list(INDICATORS) + known)))
    status = rows.set_index("乡镇代码")["是否达标"]
    v = status.map({"达标": 1.0, "未达标": 0.0})
    title = str(rows["指标"].mode().iloc[0])
    return v, [(1, 1, "达标"), (0, 0, "未达标")], [_PASS, _FAIL], title


def _colour(value, classes, colours) -> tuple[str, str]:
    if value is None or pd.isna(value):
        return _NONE, "无数据/不要求"
    for (lo, hi, label), colour in zip(classes, colours):
        if lo <= value <= hi or (lo <= value < hi):
            return colour, label
    return colours[-1], classes[-1][2]


def province_map(results: Sequence[CountyResult], tables: dict[str, pd.DataFrame], *, indicator: str = "failed",
                 title: str = "全省民政设施规划评估", data_date=None, offline: bool = True,
                 basemap: str | None = None, tianditu_key: str | None = None, simplify_m: float = 50.0):
    """The province map as a :class:`folium.Map` (write it with :func:`geoplan.maps.html.save_map`).

    Parameters
    ----------
    results : sequence of CountyResult
        From :func:`geoplan.province.runner.run_province`; failed counties are outlined grey.
    tables : dict of str to DataFrame
        From :func:`geoplan.province.report.province_tables`.
    indicator : str
        ``failed`` (number of failing rules, default), ``within`` (share of
        people within the travel-time limit), ``beyond`` (people beyond it),
        or a rule id of the plans (e.g. ``home_care_centre``: 达标/未达标).
    offline : bool
        Inline Leaflet (default): the file needs no network.
    simplify_m : float
        Simplification in metres (50 m keeps a province of townships light).

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> from geoplan.province.report import province_tables
    >>> m = province_map(prov.results, province_tables(prov.results))
    >>> type(m).__name__, "磐安县" in m.get_root().render()
    ('Map', True)
    """
    mh = _maps()
    towns = township_frame(results)
    outlines = [r.outline.to_crs("EPSG:4490") for r in results if r.ok and r.outline is not None and len(r.outline)]
    if towns.empty:
        raise ProvinceError(_("No county finished, so there is nothing to map."))
    counties_gdf = (gpd.GeoDataFrame(pd.concat(outlines, ignore_index=True), crs="EPSG:4490") if outlines
                    else towns.dissolve("county_code").reset_index().rename(columns={"county_code": "adcode"}))
    values, classes, colours, ind_title = _town_values(tables["乡镇"], tables["乡镇指标"], indicator)
    b = mh._Builder(title, data_date, basemap or ("none" if offline else "osm"), tianditu_key, offline,
                    simplify_m, counties_gdf, search_placeholder="搜索乡镇或县名…")
    town_rules = tables["乡镇指标"]
    by_town = {code: part for code, part in town_rules.groupby("乡镇代码", sort=False)}
    info = tables["乡镇"].set_index("乡镇代码")
    towns_d = b.prepare(towns)
    feats = []
    counts = {label: 0 for _, _, label in classes}
    for t in towns_d.itertuples(index=False):
        colour, label = _colour(values.get(t.code), classes, colours)
        counts[label] = counts.get(label, 0) + 1
        row = info.loc[t.code] if t.code in info.index else None
        pairs = [("县(市、区)", row["县(市、区)"] if row is not None else ""),
                 ("地市", row["地市"] if row is not None else ""),
                 ("乡镇代码", t.code), ("常住人口", t.population), ("60岁及以上人口", t.pop_60plus),
                 (ind_title, _shown(values.get(t.code), indicator, label))]
        feats.append(mh._feature(t.geometry, {
            "s": {"color": "#666", "weight": 0.6, "fillColor": colour, "fillOpacity": 0.7},
            "p": mh._popup(t.name, pairs, _rules_html(by_town.get(t.code))),
            "t": f"{mh._esc(t.name)}：{mh._esc(label)}",
            "n": t.name,
        }))
    b.layer(f"乡镇(街道)：{ind_title}", feats, show=True, search_label="乡镇")
    b.legend_section(f"乡镇(街道)：{ind_title}",
                     [(mh._sw_fill(c, opacity=0.7), f"{label}（{counts.get(label, 0)} 个）")
                      for (_, _, label), c in zip(classes, colours)]
                     + ([(mh._sw_fill(_NONE, opacity=0.7), f"无数据/不要求（{counts['无数据/不要求']} 个）")]
                        if counts.get("无数据/不要求") else []))

    county_rows = tables["县"].set_index("县代码")
    cd = b.prepare(counties_gdf)
    feats = []
    for c in cd.itertuples(index=False):
        code = str(c.adcode)
        row = county_rows.loc[code] if code in county_rows.index else None
        pairs = [] if row is None else [(k, row[k]) for k in ("地市", "规划", "评估年份", "乡镇数", "常住人口",
                                                              "达标指标数", "未达标指标数", "有未达标指标的乡镇数",
                                                              "未达标指标") if k in row.index]
        feats.append(mh._feature(c.geometry, {
            "s": {"color": "#222", "weight": 2.2, "fill": True, "fillOpacity": 0.0},
            "p": mh._popup(f"{c.name}（{code}）", pairs), "n": c.name,
        }))
    b.layer("县界（点击看全县指标）", feats, show=True, search_label="县")

    prefectures = _prefecture_outlines(counties_gdf, tables["县"])
    if prefectures is not None:
        pd_ = b.prepare(prefectures)
        feats = [mh._feature(p.geometry, {"s": {"color": "#000", "weight": 3.5, "fill": False, "interactive": False},
                                          "t": None}) for p in pd_.itertuples(index=False)]
        b.layer("地市界", feats, show=True)
    failed = [r for r in results if not r.ok]
    if failed:
        names = [f"{r.code} {r.name}".strip() for r in failed]
        b.legend_section(f"未完成的县 {len(failed)} 个（不在图上；原因见报告“未完成”表）",
                         [("", "、".join(names[:12]) + (" 等" if len(names) > 12 else ""))])
    b.legend_section("边界", [(mh._sw_line("#000"), "地市界"), (mh._sw_line("#222"), "县界"),
                              (mh._sw_line("#666"), "乡镇(街道)界")])
    return b.finish()


def _shown(value, indicator: str, label: str) -> str:
    """The township's own value with its class, e.g. 89.3%（80–90%）."""
    if value is None or pd.isna(value) or indicator not in ("within", "beyond", "failed"):
        return label
    if indicator == "within":
        return f"{value:.1f}%（{label}）"
    return f"{value:,.0f}{' 人' if indicator == 'beyond' else ' 项'}"


def _prefecture_outlines(counties_gdf: gpd.GeoDataFrame, county_table: pd.DataFrame):
    codes = county_table.set_index("县代码")["地市代码"]
    g = counties_gdf.assign(prefecture=counties_gdf["adcode"].astype(str).map(codes))
    g = g[g["prefecture"].notna()]
    if g.empty or g["prefecture"].nunique() < 1:
        return None
    # Dissolving in the metric zone would be more exact; at 50 m display simplification it makes no difference.
    return g[["prefecture", g.geometry.name]].dissolve("prefecture").reset_index()


def _rules_html(rows: pd.DataFrame | None) -> str:
    """The township's rules as a small table: 指标, 现状, 目标, 结果 — every value escaped."""
    if rows is None or rows.empty:
        return ""
    mh = _maps()
    body = []
    for r in rows.itertuples(index=False):
        unit = str(r.单位 or "")
        shown = "" if pd.isna(r.现状值) else f"{mh._fmt(r.现状值)}{'%' if unit.startswith('%') else ''}"
        goal = "" if pd.isna(r.目标值) else f"{mh._fmt(r.目标值)}{'%' if unit.startswith('%') else ''}"
        colour = {"达标": _PASS, "未达标": _FAIL}.get(r.是否达标, "#777")
        body.append(f'<tr><td title="{mh._esc(r.说明)}">{mh._esc(r.指标)}</td><td>{html.escape(shown)}</td>'
                    f'<td>{html.escape(goal)}</td><td style="color:{colour};white-space:nowrap">{mh._esc(r.是否达标)}</td></tr>')
    return ('<h5>本县规划指标</h5><table class="gp-hist"><tr><th>指标</th><th>现状</th><th>目标</th><th>结果</th></tr>'
            + "".join(body) + "</table>")
