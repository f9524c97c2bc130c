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

from geoplan.coverage.evaluation import FAIL, PASS
from geoplan.coverage.report import status_text
from geoplan.i18n import N_, _, ngettext
from geoplan.province.county import CountyResult, township_frame
from geoplan.province import report as R
from geoplan.province.report import INDICATORS, ProvinceError, sheet

# Sequential classes, light to dark: more failing rules, darker red.
_REDS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]
_BLUES_REV = ["#a50f15", "#de2d26", "#fb6a4a", "#fcae91", "#c7e9c0", "#41ab5d"]
_PASS, _FAIL, _NONE = "#43a047", "#e53935", "#bdbdbd"
_NO_DATA = N_("no data / not required")


def _maps():
    # The shared builder and its escaping helpers; one place for the look and the safety of every map.
    from types import SimpleNamespace

    from geoplan.maps import builder, common

    return SimpleNamespace(_Builder=builder._Builder, _feature=common._feature, _popup=common._popup,
                           _esc=common._esc, _sw_fill=common._sw_fill, _sw_line=common._sw_line,
                           _fmt=common._fmt)


def _town_values(towns_table: pd.DataFrame, town_rules: pd.DataFrame, indicator: str):
    """Per township code: (value for colour, label in the legend), and the legend classes."""
    code = _(R.TOWN_CODE)
    if indicator == "failed":
        v = towns_table.set_index(code)[_(R.N_FAILED)].astype(float)
        classes = [(0, 0, _("0 (all passed)")), (1, 1, _("1 rule")), (2, 2, _("2 rules")), (3, 3, _("3 rules")),
                   (4, np.inf, _("4 rules or more"))]
        return v, classes, _REDS[: len(classes)], _(R.N_FAILED)
    if indicator == "within":
        v = towns_table.set_index(code)[_(R.WITHIN)].astype(float)
        classes = [(0, 50, "< 50%"), (50, 70, "50–70%"), (70, 80, "70–80%"), (80, 90, "80–90%"),
                   (90, 99.95, "90–99.9%"), (99.95, np.inf, "100%")]
        return v, classes, _BLUES_REV, _("travel-time rule: share of people within the limit")
    if indicator == "beyond":
        v = towns_table.set_index(code)[_(R.BEYOND)].astype(float)
        classes = [(0, 0.5, _("0 people")), (0.5, 500, _("1–499 people")), (500, 2000, _("500–1,999 people")),
                   (2000, 5000, _("2,000–4,999 people")), (5000, np.inf, _("5,000 people or more"))]
        return v, classes, ["#f7f7f7", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"], _(INDICATORS["beyond"])
    rows = town_rules[town_rules[_(R.RULE_ID)] == indicator]
    if rows.empty:
        known = sorted(set(town_rules[_(R.RULE_ID)]))
        raise ProvinceError(_("No township has the rule {rule}. Colour by one of: {choices}.").format(
            rule=repr(indicator), choices=", ".join(list(INDICATORS) + known)))
    status = rows.set_index(code)[_(R.OUTCOME)]
    v = status.map({status_text(PASS): 1.0, status_text(FAIL): 0.0})
    title = str(rows[_(R.TITLE)].mode().iloc[0])
    return v, [(1, 1, status_text(PASS)), (0, 0, status_text(FAIL))], [_PASS, _FAIL], title


def _colour(value, classes, colours) -> tuple[str, str]:
    if value is None or pd.isna(value):
        return _NONE, _(_NO_DATA)
    for (lo, hi, label), colour in zip(classes, colours):
        if lo <= value <= hi or (lo <= value < hi):
            return colour, label
    return colours[-1], classes[-1][2]


def province_map(results: Sequence[CountyResult], tables: dict[str, pd.DataFrame], *, indicator: str = "failed",
                 title: str | None = None, data_date=None, offline: bool = True,
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
    title = title or _("Province: civil-affairs facility plan evaluation")
    t_towns, t_town_rules, t_counties = tables[sheet("townships")], tables[sheet("township_rules")], tables[sheet("counties")]
    code_col, county_code = _(R.TOWN_CODE), _(R.COUNTY_CODE)
    towns = township_frame(results)
    outlines = [r.outline.to_crs("EPSG:4490") for r in results if r.ok and r.outline is not None and len(r.outline)]
    if towns.empty:
        raise ProvinceError(_("No county finished, so there is nothing to map."))
    counties_gdf = (gpd.GeoDataFrame(pd.concat(outlines, ignore_index=True), crs="EPSG:4490") if outlines
                    else towns.dissolve("county_code").reset_index().rename(columns={"county_code": "adcode"}))
    values, classes, colours, ind_title = _town_values(t_towns, t_town_rules, indicator)
    b = mh._Builder(title, data_date, basemap or ("none" if offline else "osm"), tianditu_key, offline,
                    simplify_m, counties_gdf, search_placeholder=_("Search a township or county…"))
    by_town = {code: part for code, part in t_town_rules.groupby(code_col, sort=False)}
    info = t_towns.set_index(code_col)
    towns_d = b.prepare(towns)
    feats = []
    counts = {label: 0 for _, _, label in classes}
    for t in towns_d.itertuples(index=False):
        colour, label = _colour(values.get(t.code), classes, colours)
        counts[label] = counts.get(label, 0) + 1
        row = info.loc[t.code] if t.code in info.index else None
        pairs = [(_(R.COUNTY), row[_(R.COUNTY)] if row is not None else ""),
                 (_(R.PREF), row[_(R.PREF)] if row is not None else ""),
                 (code_col, t.code), (_(R.POP), t.population), (_(R.POP60), t.pop_60plus),
                 (ind_title, _shown(values.get(t.code), indicator, label))]
        feats.append(mh._feature(t.geometry, {
            "s": {"color": "#666", "weight": 0.6, "fillColor": colour, "fillOpacity": 0.7},
            "p": mh._popup(t.name, pairs, _rules_html(by_town.get(t.code))),
            "t": _("{name}: {value}").format(name=mh._esc(t.name), value=mh._esc(label)),
            "n": t.name,
        }))
    layer_name = _("Townships: {indicator}").format(indicator=ind_title)
    b.layer(layer_name, feats, show=True, search_label=_("township"))
    no_data = _(_NO_DATA)
    b.legend_section(layer_name,
                     [(mh._sw_fill(c, opacity=0.7), _("{label} ({n})").format(label=label, n=counts.get(label, 0)))
                      for (_lo, _hi, label), c in zip(classes, colours)]
                     + ([(mh._sw_fill(_NONE, opacity=0.7), _("{label} ({n})").format(label=no_data, n=counts[no_data]))]
                        if counts.get(no_data) else []))

    county_rows = t_counties.set_index(county_code)
    cd = b.prepare(counties_gdf)
    feats = []
    for c in cd.itertuples(index=False):
        code = str(c.adcode)
        row = county_rows.loc[code] if code in county_rows.index else None
        keys = [_(k) for k in (R.PREF, R.PLAN, R.YEAR, R.N_TOWNS, R.POP, R.N_PASSED, R.N_FAILED, R.TOWNS_FAILING,
                               R.FAILED_RULES)]
        pairs = [] if row is None else [(k, row[k]) for k in keys if k in row.index]
        feats.append(mh._feature(c.geometry, {
            "s": {"color": "#222", "weight": 2.2, "fill": True, "fillOpacity": 0.0},
            "p": mh._popup(_("{name} ({code})").format(name=c.name, code=code), pairs), "n": c.name,
        }))
    b.layer(_("County boundaries (click for the county's rules)"), feats, show=True, search_label=_("county"))

    prefectures = _prefecture_outlines(counties_gdf, t_counties)
    if prefectures is not None:
        pd_ = b.prepare(prefectures)
        feats = [mh._feature(p.geometry, {"s": {"color": "#000", "weight": 3.5, "fill": False, "interactive": False},
                                          "t": None}) for p in pd_.itertuples(index=False)]
        b.layer(_("Prefecture boundaries"), feats, show=True)
    failed = [r for r in results if not r.ok]
    if failed:
        names = [f"{r.code} {r.name}".strip() for r in failed]
        b.legend_section(ngettext("{n} county not finished (not on the map; why: the report's “{sheet}” sheet)",
                                  "{n} counties not finished (not on the map; why: the report's “{sheet}” sheet)",
                                  len(failed)).format(n=len(failed), sheet=sheet("failed")),
                         [("", _(", ").join(names[:12]) + (_(" and more") if len(names) > 12 else ""))])
    b.legend_section(_("Boundaries"), [(mh._sw_line("#000"), _("prefecture boundary")),
                                      (mh._sw_line("#222"), _("county boundary")),
                                      (mh._sw_line("#666"), _("township boundary"))])
    return b.finish()


def _shown(value, indicator: str, label: str) -> str:
    """The township's own value with its class, e.g. 89.3%（80–90%）."""
    if value is None or pd.isna(value) or indicator not in ("within", "beyond", "failed"):
        return label
    if indicator == "within":
        return _("{value} ({label})").format(value=f"{value:.1f}%", label=label)
    if indicator == "beyond":
        return _("{n} people").format(n=f"{value:,.0f}")
    return _("{n} rules").format(n=f"{value:,.0f}")


def _prefecture_outlines(counties_gdf: gpd.GeoDataFrame, county_table: pd.DataFrame):
    codes = county_table.set_index(_(R.COUNTY_CODE))[_(R.PREF_CODE)]
    g = counties_gdf.assign(prefecture=counties_gdf["adcode"].astype(str).map(codes))
    g = g[g["prefecture"].notna()]
    if g.empty or g["prefecture"].nunique() < 1:
        return None
    # Dissolving in the metric zone would be more exact; at 50 m display simplification it makes no difference.
    return g[["prefecture", g.geometry.name]].dissolve("prefecture").reset_index()


def _rules_html(rows: pd.DataFrame | None) -> str:
    """The township's rules as a small table: indicator, current, target, outcome — every value escaped."""
    if rows is None or rows.empty:
        return ""
    mh = _maps()
    body = []
    colours = {status_text(PASS): _PASS, status_text(FAIL): _FAIL}
    for r in rows.to_dict("records"):
        unit = str(r[_(R.UNIT)] or "")
        value, target, outcome = r[_(R.VALUE)], r[_(R.TARGET)], r[_(R.OUTCOME)]
        shown = "" if pd.isna(value) else f"{mh._fmt(value)}{'%' if unit.startswith('%') else ''}"
        goal = "" if pd.isna(target) else f"{mh._fmt(target)}{'%' if unit.startswith('%') else ''}"
        colour = colours.get(outcome, "#777")
        body.append(f'<tr><td title="{mh._esc(r[_(R.NOTE)])}">{mh._esc(r[_(R.TITLE)])}</td><td>{html.escape(shown)}</td>'
                    f'<td>{html.escape(goal)}</td><td style="color:{colour};white-space:nowrap">{mh._esc(outcome)}</td></tr>')
    heads = "".join(f"<th>{mh._esc(h)}</th>" for h in (_("indicator"), _("current"), _("target"), _("result")))
    caption = mh._esc(_("Rules of this county's plan"))
    return (f'<h5>{caption}</h5><table class="gp-hist"><tr>{heads}</tr>'
            + "".join(body) + "</table>")
