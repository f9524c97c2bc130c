"""Evaluate a county plan's targets against the layers.

:func:`evaluate` turns a :class:`geoplan.coverage.plans.Plan` and a county's layers
into two tables: one row per township and rule (value, target, pass/fail and
the reason in words a planner reads), and one row per rule for the county.
Reasons are in Chinese because they go into the bureau's own reports.
Nothing here prints or draws; :mod:`geoplan.coverage.report` writes the tables out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.errors import GeoplanError
from geoplan.coverage.plans import Plan, Rule
from geoplan.layers.schema import SCHEMAS

TOWNSHIP_COLUMNS = ["rule_id", "group", "title", "code", "name", "population", "value", "target", "passed",
                    "reason"]
SUMMARY_COLUMNS = ["rule_id", "group", "title", "kind", "value", "target", "passed", "reason"]

#: signature of the travel-time evaluator: (rule, layers, year) -> per-township DataFrame with columns
#: code, population_total, population_within (people within the rule's minutes), unreachable.
TravelEvaluator = Callable[[Rule, Mapping[str, gpd.GeoDataFrame]], pd.DataFrame]


class CoverageError(GeoplanError):
    """The layers do not allow a rule to be evaluated (missing layer or column)."""


@dataclass
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    plan : Plan
    year : int
    townships : DataFrame
        One row per (rule, township) for township-level rules.
    summary : DataFrame
        One row per rule, county level: share of townships passing, or the county value.
    """

    plan: Plan
    year: int
    townships: pd.DataFrame
    summary: pd.DataFrame

    def failures(self) -> pd.DataFrame:
        """Township rows that fail, with the reason."""
        t = self.townships
        return t[t["passed"].eq(False)].reset_index(drop=True)

    def gaps(self, rule_id: str) -> list[str]:
        """Codes of the townships failing one rule."""
        f = self.failures()
        return f.loc[f["rule_id"] == rule_id, "code"].tolist()


def _layer(layers: Mapping[str, gpd.GeoDataFrame], rule: Rule) -> gpd.GeoDataFrame:
    name = rule.get("layer")
    if name not in layers:
        raise CoverageError(
            f"Rule {rule.id!r} ({rule.title}) needs the '{name}' layer, which was not given. "
            f"Layers given: {', '.join(layers) or 'none'}."
        )
    return layers[name]


def _filtered(layers, rule: Rule) -> gpd.GeoDataFrame:
    """Features of the rule's layer that pass its ``where`` filter and status (default 运营)."""
    gdf = _layer(layers, rule)
    schema = SCHEMAS[rule.get("layer")]
    mask = np.ones(len(gdf), dtype=bool)
    for col, wanted in (rule.get("where") or {}).items():
        values = wanted if isinstance(wanted, list) else [wanted]
        f = schema.field(col)
        if f.dtype == "enum":
            values = [f.canonical(str(v)) or str(v) for v in values]
        mask &= gdf[col].isin(values).fillna(False).to_numpy(dtype=bool)
    status = rule.get("status", "运营")
    if status != "any" and "status" in gdf.columns:
        mask &= (gdf["status"] == status).fillna(False).to_numpy(dtype=bool)
    return gdf[mask]


def _describe(rule: Rule) -> str:
    """What the rule counts, in Chinese: e.g. 运营中的居家养老服务中心."""
    where = rule.get("where") or {}
    kinds = where.get("kind")
    if kinds:
        thing = "或".join(kinds if isinstance(kinds, list) else [kinds])
    else:
        thing = SCHEMAS[rule.get("layer")].title_zh
    status = rule.get("status", "运营")
    return ("运营中的" if status == "运营" else "规划中的" if status == "规划" else "") + thing


def facilities_by_township(towns: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                           assign: str = "either") -> pd.Series:
    """IDs of the facilities serving each township.

    Parameters
    ----------
    towns : GeoDataFrame
        Townships (``code`` and polygons).
    facilities : GeoDataFrame
        Facility layer with ``facility_id``, ``township_code`` and geometry.
    assign : {"location", "column", "either"}
        Count a facility for the township it stands in, the one its
        ``township_code`` names, or both (a centre just across a township
        line that the bureau assigned to its neighbour counts for both).

    Returns
    -------
    Series
        Index township code, values sorted lists of facility IDs.
    """
    pairs = []
    if assign in ("column", "either") and "township_code" in facilities:
        pairs.append(facilities[["facility_id", "township_code"]].rename(columns={"township_code": "code"}))
    if assign in ("location", "either") and len(facilities):
        pts = facilities[["facility_id", facilities.geometry.name]].copy()
        pts[pts.geometry.name] = pts.geometry.representative_point()
        joined = gpd.sjoin(pts, towns[["code", towns.geometry.name]].to_crs(pts.crs), predicate="within")
        pairs.append(joined[["facility_id", "code"]])
    table = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(columns=["facility_id", "code"])
    table = table.dropna().drop_duplicates()
    grouped = table.groupby("code")["facility_id"].agg(lambda s: sorted(map(str, s)))
    return pd.Series([grouped.get(c, []) for c in towns["code"]], index=towns["code"].to_numpy())


def _count_rule(rule: Rule, towns, layers, year: int) -> pd.DataFrame:
    """full_coverage and population_threshold: per township, count facilities."""
    assign = rule.get("assign", "either")
    serving = facilities_by_township(towns, _filtered(layers, rule), assign)
    planned_rule = Rule(rule.id, rule.kind, rule.title, rule.group, {**rule.spec, "status": "规划"})
    planned = (facilities_by_township(towns, _filtered(layers, planned_rule), assign)
               if rule.get("status", "运营") == "运营" else None)
    names = dict(zip(_layer(layers, rule)["facility_id"].astype(str), _layer(layers, rule)["name"]))
    need = int(rule.get("min_count", 1))
    thing = _describe(rule)
    pop_col = rule.get("population", "population")
    threshold = rule.get("threshold")
    rows = []
    for _, t in towns.iterrows():
        ids = serving[t["code"]]
        pop = t[pop_col]
        target = need if rule.target_for(year) is None else rule.target_for(year)
        if threshold is not None and not (pd.notna(pop) and pop >= threshold):
            passed, reason = pd.NA, f"不要求：人口 {int(pop):,} 不足 {int(threshold):,}"
        elif len(ids) >= target:
            passed, reason = True, f"有 {len(ids)} 处{thing}（{'、'.join(ids)}）"
        else:
            passed = False
            reason = f"{thing}仅 {len(ids)} 处，需 {int(target)} 处" if ids else f"没有{thing}"
            if threshold is not None:
                reason += f"（人口 {int(pop):,} ≥ {int(threshold):,}）"
            if planned is not None and planned[t["code"]]:
                reason += f"；规划中：{'、'.join(names.get(i, i) for i in planned[t['code']])}"
        rows.append((t["code"], t["name"], pop, len(ids), target, passed, reason))
    out = pd.DataFrame(rows, columns=["code", "name", "population", "value", "target", "passed", "reason"])
    return out


def _ratio(rule: Rule, layers, plan: Plan, year: int, towns) -> tuple[float | None, str, pd.DataFrame | None]:
    if "layer" in rule.spec:
        gdf = _filtered(layers, rule)
        num_col, den_col = rule.get("numerator"), rule.get("denominator")
        num, den = gdf[num_col].fillna(0).sum(), gdf[den_col].fillna(0).sum()
        per_town = None
        if rule.get("scope") == "township":
            g = gdf.groupby("township_code")[[num_col, den_col]].sum()
            per_town = g
        if den == 0:
            return None, f"{den_col} 合计为 0，无法计算比例", per_town
        return float(num / den), f"{num_col} {int(num):,} / {den_col} {int(den):,}", per_town
    n = plan.statistic(rule.get("numerator"), year)
    d = plan.statistic(rule.get("denominator"), year)
    if n is None or d is None:
        missing = [s for s, v in ((rule.get("numerator"), n), (rule.get("denominator"), d)) if v is None]
        return None, f"缺少 {year} 年及以前的统计数据：{'、'.join(missing)}", None
    if d[0] == 0:
        return None, f"{rule.get('denominator')} 为 0", None
    return n[0] / d[0], f"{rule.get('numerator')} {n[0]:,.0f}（{n[1]}）/ {rule.get('denominator')} {d[0]:,.0f}（{d[1]}）", None


def _per_population(rule: Rule, layers, plan: Plan, year: int, towns) -> tuple[float | None, str]:
    pop_col = rule.get("population", "population")
    people = float(towns[pop_col].sum())
    per = float(rule.get("per", 10000))
    if "statistic" in rule.spec:
        stat = plan.statistic(rule.get("statistic"), year)
        if stat is None:
            return None, f"缺少 {year} 年及以前的统计数据：{rule.get('statistic')}"
        count, label = stat[0], f"{rule.get('statistic')} {stat[0]:,.0f}（{stat[1]}）"
    else:
        count = float(len(_filtered(layers, rule)))
        label = f"{_describe(rule)} {count:,.0f} 处"
    who = "60岁及以上人口" if pop_col == "pop_60plus" else "常住人口"
    if people == 0:
        return None, f"{who}为 0"
    return count / people * per, f"{label} / {who} {people:,.0f} × {per:,.0f}"


def _passes(value, target, comparison: str):
    if value is None or target is None or pd.isna(value):
        return pd.NA
    return bool(value >= target - 1e-12) if comparison == ">=" else bool(value <= target + 1e-12)


def townships_from_raster(towns: gpd.GeoDataFrame, population) -> gpd.GeoDataFrame:
    """Townships with ``population`` replaced by the raster's zonal sums (partial cells shared exactly).

    ``pop_60plus`` keeps each township's share of people aged 60+ from the
    layer, since the raster counts everybody. Values are rounded to whole
    persons.
    """
    from geoplan.coverage.zonal import zonal_sum

    sums = zonal_sum(towns, population, id_col="code")
    new = towns["code"].map(sums).fillna(0.0).to_numpy(float)
    share = (towns["pop_60plus"] / towns["population"].where(towns["population"] > 0)).astype(float).fillna(0.0)
    out = towns.copy()
    out["population"] = pd.array(np.round(new), dtype="Int64")
    out["pop_60plus"] = pd.array(np.round(new * share.to_numpy()), dtype="Int64")
    return out


def evaluate(plan: Plan, layers: Mapping[str, gpd.GeoDataFrame], year: int, *,
             travel: TravelEvaluator | None = None, population=None) -> Evaluation:
    """Evaluate every rule of a plan for one year.

    Parameters
    ----------
    plan : Plan
        From :func:`geoplan.coverage.plans.load_plan`.
    layers : mapping of str to GeoDataFrame
        Validated layers by kind (a :class:`geoplan.layers.sample.County`'s ``layers``);
        ``townships`` is required.
    year : int
        Year whose targets apply (the latest target year not after it).
    travel : callable, optional
        Evaluates ``travel_time`` rules (see :data:`TravelEvaluator`); without
        it those rules are reported as not evaluated, never as passed.
    population : geoplan.layers.io.PopulationRaster, optional
        Take township populations from the raster by zonal sums
        (:func:`townships_from_raster`) instead of the layer's columns.

    Returns
    -------
    Evaluation

    Raises
    ------
    CoverageError
        If a rule needs a layer that is not given.
    """
    if "townships" not in layers:
        raise CoverageError("Evaluating a plan needs the 'townships' layer.")
    towns = layers["townships"]
    if population is not None:
        towns = townships_from_raster(towns, population)
        layers = {**layers, "townships": towns}
    wrong_county = towns["county_code"].ne(plan.county).any()
    if wrong_county:
        raise CoverageError(
            f"The plan {plan.name!r} is for county {plan.county}, but the townships layer is of "
            f"{', '.join(sorted(towns['county_code'].unique()))}. Use the plan of that county."
        )
    town_rows, summary = [], []
    for rule in plan.rules:
        target = rule.target_for(year)
        if rule.kind in ("full_coverage", "population_threshold"):
            per = _count_rule(rule, towns, layers, year)
            per.insert(0, "rule_id", rule.id)
            per.insert(1, "group", rule.group)
            per.insert(2, "title", rule.title)
            town_rows.append(per)
            required = per[per["passed"].notna()]
            ok = int(required["passed"].sum())
            failing = required.loc[~required["passed"].astype(bool), "name"].tolist()
            reason = (f"{ok}/{len(required)} 个乡镇(街道)达标"
                      + (f"；未达标：{'、'.join(failing)}" if failing else ""))
            summary.append((rule.id, rule.group, rule.title, rule.kind, ok / len(required) if len(required) else None,
                            1.0, not failing, reason))
        elif rule.kind == "ratio":
            value, how, _ = _ratio(rule, layers, plan, year, towns)
            summary.append((rule.id, rule.group, rule.title, rule.kind, value, target,
                            _passes(value, target, rule.comparison), _ratio_reason(value, target, how)))
        elif rule.kind == "per_population":
            value, how = _per_population(rule, layers, plan, year, towns)
            summary.append((rule.id, rule.group, rule.title, rule.kind, value, target,
                            _passes(value, target, rule.comparison), _value_reason(value, target, how)))
        elif rule.kind == "travel_time":
            if travel is None:
                summary.append((rule.id, rule.group, rule.title, rule.kind, None, target, pd.NA,
                                "未评估：需要道路网络（travel 参数）"))
                continue
            per = travel(rule, layers)
            merged = towns[["code", "name"]].merge(per, on="code", how="left")
            share = merged["population_within"] / merged["population_total"]
            rows = pd.DataFrame({
                "code": merged["code"], "name": merged["name"], "population": merged["population_total"],
                "value": share, "target": target,
                "passed": [_passes(v, target, rule.comparison) for v in share],
                "reason": [_travel_reason(r, rule, travel) for r in merged.itertuples()],
            })
            rows.insert(0, "rule_id", rule.id)
            rows.insert(1, "group", rule.group)
            rows.insert(2, "title", rule.title)
            town_rows.append(rows)
            total = merged["population_total"].sum()
            value = float(merged["population_within"].sum() / total) if total else None
            reason = (f"{rule.get('minutes')} 分钟内人口 {merged['population_within'].sum():,.0f} / {total:,.0f}"
                      + _unreached_text(merged.sum(numeric_only=True), travel))
            summary.append((rule.id, rule.group, rule.title, rule.kind, value, target,
                            _passes(value, target, rule.comparison), reason))
    townships = (pd.concat(town_rows, ignore_index=True) if town_rows
                 else pd.DataFrame(columns=TOWNSHIP_COLUMNS))[TOWNSHIP_COLUMNS]
    townships["passed"] = townships["passed"].astype("boolean")
    summary_df = pd.DataFrame(summary, columns=SUMMARY_COLUMNS)
    summary_df["passed"] = summary_df["passed"].astype("boolean")
    return Evaluation(plan, year, townships, summary_df)


def _ratio_reason(value, target, how: str) -> str:
    if value is None:
        return how
    text = f"{value:.1%}（{how}）"
    return text + (f"，目标 {target:.0%}" if target is not None else "，本年度无目标")


def _value_reason(value, target, how: str) -> str:
    if value is None:
        return how
    text = f"{value:.1f}（{how}）"
    return text + (f"，目标 {target:g}" if target is not None else "，本年度无目标")


def _unreached_text(row, travel) -> str:
    """Who has no route, in words: off the road network, or on a piece of it cut off from every facility."""
    text = ""
    off = row.get("off_network", 0) if hasattr(row, "get") else getattr(row, "off_network", 0)
    cut = row.get("unreachable", 0) if hasattr(row, "get") else getattr(row, "unreachable", 0)
    if pd.notna(off) and off >= 0.5:
        limit = getattr(travel, "max_distance_m", None)
        text += f"；{off:,.0f} 人距道路超过 {limit:,.0f} 米" if limit else f"；{off:,.0f} 人不在道路网络附近"
    if pd.notna(cut) and cut >= 0.5:
        text += f"；{cut:,.0f} 人所在道路与设施不连通"
    return text


def _travel_reason(row, rule: Rule, travel=None) -> str:
    if pd.isna(row.population_total):
        return "无人口数据"
    text = f"{rule.get('minutes')} 分钟内 {row.population_within:,.0f} / {row.population_total:,.0f} 人"
    return text + _unreached_text(row._asdict(), travel)


def road_travel(net, population, *, access_speed_kmh: float | None = None,
                max_distance_m: float | None = None) -> TravelEvaluator:
    """A travel-time evaluator for :func:`evaluate` on a road network and a population raster.

    Every populated raster cell is routed to its nearest facility of the
    rule's kind. For rules on people aged 60+ (``population = "pop_60plus"``)
    a cell's persons are scaled by its township's share of people aged 60+,
    since the raster counts everybody.

    Parameters
    ----------
    net : geoplan.network.graph.RoadNetwork
    population : geoplan.layers.io.PopulationRaster
    access_speed_kmh, max_distance_m : float, optional
        Walking leg to the road; defaults of :mod:`geoplan.network.graph`.
    """
    from geoplan.coverage.access import township_access_table
    from geoplan.network.graph import DEFAULT_ACCESS_SPEED_KMH, DEFAULT_MAX_SNAP_DISTANCE_M

    cells = population.cell_centres()
    access = DEFAULT_ACCESS_SPEED_KMH if access_speed_kmh is None else access_speed_kmh
    max_d = DEFAULT_MAX_SNAP_DISTANCE_M if max_distance_m is None else max_distance_m

    def travel(rule: Rule, layers) -> pd.DataFrame:
        towns = layers["townships"]
        minutes = float(rule.get("minutes"))
        facilities = _filtered(layers, rule)
        if facilities.empty:
            raise CoverageError(f"Rule {rule.id!r}: there is no {_describe(rule)} at all to travel to.")
        table = township_access_table(towns, cells, facilities, net, thresholds=[minutes],
                                      access_speed_kmh=access, max_distance_m=max_d)
        per_cell = table.attrs["per_cell"]
        per_cell = per_cell[per_cell["code"].notna()]
        within = per_cell["population"].where(per_cell["status"].eq("ok") & (per_cell["minutes"] <= minutes), 0.0)
        unreachable = per_cell["population"].where(per_cell["status"].eq("unreachable"), 0.0)
        off_network = per_cell["population"].where(per_cell["status"].eq("not_snapped"), 0.0)
        out = pd.DataFrame({"code": per_cell["code"], "population_total": per_cell["population"],
                            "population_within": within, "unreachable": unreachable,
                            "off_network": off_network})
        out = out.groupby("code", as_index=False).sum()
        column = rule.get("population", "population")
        if column != "population":
            share = (towns.set_index("code")[column] / towns.set_index("code")["population"]).astype(float)
            factor = out["code"].map(share).fillna(0.0).to_numpy()
            for col in ("population_total", "population_within", "unreachable", "off_network"):
                out[col] = out[col] * factor
        return out

    travel.max_distance_m = max_d
    return travel


#: The top-level name (``geoplan.evaluate_plan``) for :func:`evaluate`.
evaluate_plan = evaluate
