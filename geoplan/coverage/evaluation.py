"""Evaluate a county plan's targets against the layers, as of a date.

:func:`evaluate` turns a :class:`geoplan.coverage.plans.Plan` and a county's layers
into two tables: one row per township and rule (value, target, status and
the reason in words a planner reads), and one row per target for the county
(with the document's baseline, the target and the value side by side, and
the targets the data cannot check). A facility counts only if it had opened
by the evaluation date and had not closed; a statistic is taken for the
evaluated year only. Reasons are Chinese and name the facilities, because
they go into the bureau's own reports. Nothing here prints or draws;
:mod:`geoplan.coverage.report` writes the tables out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.coverage.access import _travel_reason, _unreached_text, road_travel  # noqa: F401  (road_travel: public here too)
from geoplan.coverage.facilities import (  # noqa: F401  (public here too)
    FACILITY_LAYERS, CoverageError, _filtered, _layer, _where_mask, as_of_layers, facilities_by_township, in_service,
)
from geoplan.coverage.plans import COVERAGE_KINDS, Plan, PlanError, Rule
from geoplan.coverage.reasons import (  # noqa: F401  (_describe: used by access and proposals)
    _describe, _miss_phrase, _missing_stat, _names, _stat_label, _state_notes, _with_target,
)
from geoplan.i18n import _
from geoplan.layers.schema import SCHEMAS

#: the four outcomes of a target, everywhere a person reads them
PASS, FAIL, NOT_REQUIRED, UNKNOWN = "达标", "未达标", "不要求", "无法评估"
STATUSES = (PASS, FAIL, NOT_REQUIRED, UNKNOWN)

TOWNSHIP_COLUMNS = ["rule_id", "group", "title", "code", "name", "population", "value", "target", "unit",
                    "passed", "status", "reason"]
SUMMARY_COLUMNS = ["rule_id", "group", "title", "kind", "section", "baseline", "baseline_year", "target",
                   "value", "unit", "passed", "status", "reason"]

#: signature of the travel-time evaluator: (rule, layers) -> per-township DataFrame with columns
#: code, population_total, population_within (people within the rule's minutes), unreachable, off_network.
#: The layers it is given hold only the facilities in service on the evaluation date.
TravelEvaluator = Callable[[Rule, Mapping[str, gpd.GeoDataFrame]], pd.DataFrame]


@dataclass
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    plan : Plan
    year : int
        Year whose targets apply.
    as_of : datetime.date
        Evaluation date: facilities opened after it, or closed by it, do not count.
    townships : DataFrame
        One row per (rule, township) for township-level rules.
    summary : DataFrame
        One row per target: the county value, the document's baseline and
        target, the status and the reason; the targets the data cannot check
        come last with status 无法评估.
    villages : DataFrame
        One row per (rule, village) for village-level rules.
    """

    plan: Plan
    year: int
    townships: pd.DataFrame
    summary: pd.DataFrame
    as_of: dt.date | None = None
    villages: pd.DataFrame = field(default_factory=pd.DataFrame)

    def failures(self) -> pd.DataFrame:
        """Township rows that fail, with the reason."""
        t = self.townships
        return t[t["status"].eq(FAIL)].reset_index(drop=True)

    def gaps(self, rule_id: str) -> list[str]:
        """Codes of the townships failing one rule."""
        f = self.failures()
        return f.loc[f["rule_id"] == rule_id, "code"].tolist()


def _count_rule(rule: Rule, towns, layers, year: int, as_of: dt.date | None) -> pd.DataFrame:
    """full_coverage and population_threshold: per township, count facilities in service on ``as_of``."""
    assign = rule.get("assign", "either")
    gdf = _layer(layers, rule)
    counted = gdf[_where_mask(gdf, rule) & in_service(gdf, as_of)]
    serving = facilities_by_township(towns, counted, assign)
    everything = facilities_by_township(towns, gdf, assign)
    by_id = gdf.assign(_fid=gdf["facility_id"].astype(str)).set_index("_fid", drop=False)
    matches = pd.Series(_where_mask(gdf, rule), index=by_id.index)
    need = int(rule.get("min_count", 1))
    thing = _describe(rule)
    pop_col = rule.get("population", "population")
    threshold = rule.get("threshold")
    required_year = rule.required_in(year)
    rows = []
    for _i, t in towns.iterrows():
        ids = serving[t["code"]]
        pop = t[pop_col] if pop_col in t else pd.NA
        here = by_id.loc[everything[t["code"]]] if everything[t["code"]] else by_id.iloc[:0]
        named = _names(by_id.loc[ids]) if ids else ""
        if not required_year:
            status, reason = NOT_REQUIRED, _("required from {year} on").format(year=rule.get("from_year"))
        elif threshold is not None and pd.isna(pop):
            status, reason = UNKNOWN, _("no population figure: cannot tell whether it is required")
        elif threshold is not None and pop < threshold:
            status, reason = NOT_REQUIRED, _("not required: population {population:,}, below {threshold:,}").format(
                population=int(pop), threshold=int(threshold))
        elif len(ids) >= need:
            status, reason = PASS, _("{thing}: {n} ({names})").format(thing=thing, n=len(ids), names=named)
        else:
            status = FAIL
            parts = [_("{thing}: only {n} ({names}), {need} needed").format(thing=thing, n=len(ids), names=named,
                                                                            need=need)
                     if ids else _("no {thing}").format(thing=thing)]
            if threshold is not None:
                parts[0] += _(" (population {population:,} ≥ {threshold:,})").format(
                    population=int(pop), threshold=int(threshold))
            misses: dict[tuple[str, str], list[str]] = {}
            for fid, r in here.iterrows():
                if matches.get(fid, False):
                    continue
                phrase = _miss_phrase(r, rule)
                if phrase:
                    label = str(r["kind"]) if "kind" in r and pd.notna(r.get("kind")) else SCHEMAS[rule.get("layer")].title
                    misses.setdefault((label, phrase), []).append(str(r["name"]))
            for (label, phrase), names in misses.items():
                parts.append(_("{label}: {n} ({names}), but {why}").format(
                    label=label, n=len(names), names=_(", ").join(names), why=phrase))
            not_yet = here[matches.reindex(here.index).fillna(False).to_numpy(dtype=bool)]
            not_yet = not_yet[~not_yet["facility_id"].astype(str).isin(ids)]
            parts += _state_notes(not_yet, as_of)
            reason = _("; ").join(parts)
        rows.append((t["code"], t["name"], pop, len(ids), need, status, reason))
    out = pd.DataFrame(rows, columns=["code", "name", "population", "value", "target", "status", "reason"])
    out["unit"] = "处"
    return out


def _village_rule(rule: Rule, layers, year: int, as_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    """village_coverage: every village and community has a facility (by the facility's village_code)."""
    villages = _layer(layers, rule, "villages")
    towns = layers["townships"]
    gdf = _layer(layers, rule)
    counted = gdf[_where_mask(gdf, rule) & in_service(gdf, as_of)]
    matching = gdf[_where_mask(gdf, rule) & ~in_service(gdf, as_of)]
    have = counted.groupby("village_code")["name"].agg(lambda s: _(", ").join(map(str, s)))
    later = matching.groupby("village_code")["name"].agg(lambda s: _(", ").join(map(str, s)))
    v = pd.DataFrame({"rule_id": rule.id, "code": villages["code"].astype(str), "name": villages["name"],
                      "township_code": villages["township_code"].astype(str)})
    v["facilities"] = v["code"].map(have).fillna("")
    v["covered"] = v["facilities"].ne("")
    thing = _describe(rule)
    v["note"] = [("" if c else (_("{names} not operating on the evaluation date (planned, not yet open or closed)")
                                .format(names=later[code]) if code in later.index
                                else _("no {thing}").format(thing=thing)))
                 for code, c in zip(v["code"], v["covered"])]
    required = rule.required_in(year)
    rows = []
    for _i, t in towns.iterrows():
        mine = v[v["township_code"] == t["code"]]
        n, k = len(mine), int(mine["covered"].sum())
        if not required:
            status, reason = NOT_REQUIRED, _("required from {year} on").format(year=rule.get("from_year"))
        elif n == 0:
            status, reason = NOT_REQUIRED, _("the villages layer has no village or community of this township")
        else:
            missing = mine.loc[~mine["covered"], "name"].astype(str).tolist()
            status = PASS if not missing else FAIL
            reason = _("{k}/{n} villages and communities have {thing}").format(k=k, n=n, thing=thing)
            if missing:
                shown = _(", ").join(missing[:8])
                reason += (_("; lacking: {names} and others, {n} in all").format(names=shown, n=len(missing))
                           if len(missing) > 8 else _("; lacking: {names}").format(names=shown))
        rows.append((t["code"], t["name"], t["population"], (k / n) if n else None, 1.0, status, reason))
    out = pd.DataFrame(rows, columns=["code", "name", "population", "value", "target", "status", "reason"])
    out["unit"] = "%"
    return out, v


def _ratio(rule: Rule, layers, plan: Plan, year: int, as_of) -> tuple[float | None, str]:
    if "layer" in rule.spec:
        gdf = _filtered(layers, rule, as_of)
        schema = SCHEMAS[rule.get("layer")]
        num_col, den_col = rule.get("numerator"), rule.get("denominator")
        num, den = gdf[num_col].fillna(0).sum(), gdf[den_col].fillna(0).sum()
        label_n, label_d = schema.field(num_col).label, schema.field(den_col).label
        what = _("{thing}: {n}").format(thing=_describe(rule), n=len(gdf))
        if den == 0:
            return None, _("{what}, {label} totals 0: no ratio").format(what=what, label=label_d)
        return float(num / den), _("{what}: {numerator_label} {numerator:,} / {denominator_label} {denominator:,}").format(
            what=what, numerator_label=label_n, numerator=int(num), denominator_label=label_d, denominator=int(den))
    n = plan.statistic(rule.get("numerator"), year)
    d = plan.statistic(rule.get("denominator"), year)
    if n is None or d is None:
        missing = [s for s, v in ((rule.get("numerator"), n), (rule.get("denominator"), d)) if v is None]
        return None, _missing_stat(plan, missing, year)
    if d == 0:
        return None, _("{label} is 0 in {year}: no ratio").format(label=_stat_label(plan, rule.get("denominator")),
                                                                     year=year)
    return n / d, _("{numerator_label} {numerator:,.0f} / {denominator_label} {denominator:,.0f} ({year})").format(
        numerator_label=_stat_label(plan, rule.get("numerator")), numerator=n,
        denominator_label=_stat_label(plan, rule.get("denominator")), denominator=d, year=year)


def _per_population(rule: Rule, layers, plan: Plan, year: int, towns, as_of) -> tuple[float | None, str]:
    pop_col = rule.get("population", "population")
    people = float(towns[pop_col].sum())
    per = float(rule.get("per", 10000))
    if "statistic" in rule.spec:
        count = plan.statistic(rule.get("statistic"), year)
        if count is None:
            return None, _missing_stat(plan, [rule.get("statistic")], year)
        label = _("{label} {count:,.0f} ({year})").format(label=_stat_label(plan, rule.get("statistic")), count=count,
                                                           year=year)
    else:
        count = float(len(_filtered(layers, rule, as_of)))
        label = _("{thing}: {n:,.0f}").format(thing=_describe(rule), n=count)
    who = _("population aged 60 and over") if pop_col == "pop_60plus" else _("resident population")
    if people == 0:
        return None, _("{who} is 0").format(who=who)
    per_text = _("10,000") if per == 10000 else f"{per:,.0f} "
    return count / people * per, _("{label} ÷ {who} {people:,.0f} × {per}").format(label=label, who=who, people=people,
                                                                                   per=per_text)


def _passes(value, target, comparison: str):
    if value is None or target is None or pd.isna(value):
        return pd.NA
    return bool(value >= target - 1e-12) if comparison == ">=" else bool(value <= target + 1e-12)


def _status(value, target, comparison: str) -> str:
    if target is None:
        return NOT_REQUIRED
    if value is None or pd.isna(value):
        return UNKNOWN
    return PASS if _passes(value, target, comparison) else FAIL


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


def _baseline(rule: Rule):
    if not rule.baseline:
        return None, None
    y = min(rule.baseline)
    return rule.baseline[y], (y or None)


def evaluate(plan: Plan, layers: Mapping[str, gpd.GeoDataFrame], year: int | None = None, *,
             as_of: dt.date | str | None = None, travel: TravelEvaluator | None = None,
             population=None) -> Evaluation:
    """Evaluate every target of a plan as of a date.

    Parameters
    ----------
    plan : Plan
        From :func:`geoplan.coverage.plans.load_plan`.
    layers : mapping of str to GeoDataFrame
        Validated layers by kind (a :class:`geoplan.layers.sample.County`'s ``layers``);
        ``townships`` is required.
    year : int, optional
        Year whose targets and statistics apply (the latest target year not
        after it). Default: the year of ``as_of``, else the plan's year.
        Must lie within the plan's span.
    as_of : date or "YYYY-MM-DD", optional
        Evaluation date; default the end of ``year``. A facility counts only
        if it opened in or before that year and had not closed.
    travel : callable, optional
        Evaluates ``travel_time`` rules (see :data:`TravelEvaluator`); without
        it those rules are reported as 无法评估, never as passed.
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
    PlanError
        If the year is outside the plan's span or the date is not a date.

    Examples
    --------
    >>> from geoplan.layers.sample import load_sample
    >>> from geoplan.coverage.plans import load_plan
    >>> ev = evaluate(load_plan("plans/330624_2022.toml"), load_sample("330624").layers)  # doctest: +SKIP
    >>> ev.as_of  # doctest: +SKIP
    datetime.date(2022, 12, 31)
    """
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise PlanError(_("The evaluation date {date!r} is not a date: write it like 2022-12-31.").format(
                date=as_of)) from None
    if year is None:
        year = as_of.year if as_of is not None else plan.default_year()
    year = plan.check_year(year)
    if as_of is None:
        as_of = dt.date(year, 12, 31)
    if "townships" not in layers:
        raise CoverageError(_("Evaluating a plan needs the townships layer 'townships'."))
    towns = layers["townships"]
    if population is not None:
        towns = townships_from_raster(towns, population)
        layers = {**layers, "townships": towns}
    if towns["county_code"].ne(plan.county).any():
        raise CoverageError(
            _("The plan {plan!r} is for county {county}, but the townships layer belongs to {counties}; "
              "use that county's plan file.").format(plan=plan.name, county=plan.county,
                                                     counties=", ".join(sorted(towns["county_code"].unique())))
        )
    served = as_of_layers(layers, as_of)
    town_rows, summary, village_rows = [], [], []

    def add(rule, value, target, unit, status, reason):
        base, base_year = _baseline(rule)
        summary.append((rule.id, rule.group, rule.title, rule.kind_zh, rule.get("section", ""), base, base_year,
                        target, value, unit, status, reason))

    for rule in plan.rules:
        target = rule.target_for(year)
        if rule.kind in COVERAGE_KINDS:
            if rule.kind == "village_coverage":
                per, villages = _village_rule(rule, layers, year, as_of)
                village_rows.append(villages)
            else:
                per = _count_rule(rule, towns, layers, year, as_of)
            per.insert(0, "rule_id", rule.id)
            per.insert(1, "group", rule.group)
            per.insert(2, "title", rule.title)
            town_rows.append(per)
            required = per[per["status"].isin([PASS, FAIL])]
            ok = int(required["status"].eq(PASS).sum())
            failing = required.loc[required["status"].eq(FAIL), "name"].tolist()
            if rule.kind == "village_coverage":
                k, n = int(villages["covered"].sum()), len(villages)
                value = k / n if n else None
                status = NOT_REQUIRED if not rule.required_in(year) else _status(value, 1.0, ">=")
                reason = _("{k}/{n} villages and communities have {thing}").format(k=k, n=n, thing=_describe(rule))
                layer_rows = layers[rule.get("layer")]
                uncoded = int((_where_mask(layer_rows, rule) & in_service(layer_rows, as_of)
                               & layer_rows["village_code"].isna().to_numpy()).sum())
                if uncoded:
                    reason += _("; {n} more without a village code (village_code), not counted").format(n=uncoded)
                if failing:
                    reason += _("; {n} townships not fully covered: {names}").format(n=len(failing),
                                                                                     names=_(", ").join(failing))
                add(rule, value, 1.0, "%", status, reason)
                continue
            if per["status"].eq(UNKNOWN).any():
                status = UNKNOWN
            elif not len(required):
                status = NOT_REQUIRED
            else:
                status = PASS if not failing else FAIL
            reason = (_("{ok}/{n} of the townships required pass").format(ok=ok, n=len(required)) if len(required)
                      else str(per["reason"].iloc[0]) if len(per) else "")
            if failing:
                reason += _("; failing: {names}").format(names=_(", ").join(failing))
            if status == NOT_REQUIRED:
                add(rule, None, None, "个乡镇(街道)", status, reason)
            else:
                add(rule, ok, len(required), "个乡镇(街道)", status, reason)
        elif rule.kind == "ratio":
            value, how = _ratio(rule, served if "layer" in rule.spec else layers, plan, year, None)
            add(rule, value, target, "%", _status(value, target, rule.comparison),
                _with_target(how, value, target, "%", rule.comparison, year))
        elif rule.kind == "per_population":
            value, how = _per_population(rule, served, plan, year, towns, None)
            add(rule, value, target, rule.unit, _status(value, target, rule.comparison),
                _with_target(how, value, target, rule.unit, rule.comparison, year))
        elif rule.kind == "statistic":
            value = plan.statistic(rule.get("statistic"), year)
            how = (_missing_stat(plan, [rule.get("statistic")], year) if value is None
                   else _("{label}, statistics of {year}").format(label=_stat_label(plan, rule.get("statistic")),
                                                                    year=year))
            add(rule, value, target, rule.unit, _status(value, target, rule.comparison),
                _with_target(how, value, target, rule.unit, rule.comparison, year))
        elif rule.kind == "layer_count":
            gdf = served.get(rule.get("layer"))
            if gdf is None:
                _layer(layers, rule)
            n = int(_where_mask(gdf, rule).sum())
            how = _("{n:,} in the {layer} layer").format(n=n, layer=SCHEMAS[rule.get("layer")].title)
            add(rule, float(n), target, rule.unit, _status(float(n), target, rule.comparison),
                _with_target(how, float(n), target, rule.unit, rule.comparison, year))
        elif rule.kind == "travel_time":
            if travel is None:
                add(rule, None, target, "%", UNKNOWN, _("cannot be evaluated: needs the road network and a population raster"))
                continue
            none_open = _filtered(served, rule).empty
            per = travel(rule, served)
            merged = towns[["code", "name"]].merge(per, on="code", how="left")
            share = merged["population_within"] / merged["population_total"]
            reasons = [_travel_reason(r, rule, travel) for r in merged.itertuples()]
            # no facility open on the date: each reason says so, as does the county's
            none_text = _("; on the evaluation date {date} the county has no {thing}").format(
                date=as_of, thing=_describe(rule))
            if none_open:
                reasons = [r + none_text for r in reasons]
            rows = pd.DataFrame({
                "code": merged["code"], "name": merged["name"], "population": merged["population_total"],
                "value": share, "target": target, "unit": "%",
                "status": [_status(v, target, rule.comparison) for v in share],
                "reason": reasons,
            })
            rows.insert(0, "rule_id", rule.id)
            rows.insert(1, "group", rule.group)
            rows.insert(2, "title", rule.title)
            town_rows.append(rows)
            total = merged["population_total"].sum()
            within = merged["population_within"].sum()
            value = float(within / total) if total else None
            who = _("population aged 60 and over") if rule.get("population") == "pop_60plus" else _("people")
            how = (_("{who} {within:,.0f} / {total:,.0f} within {minutes:g} minutes").format(
                       who=who, within=within, total=total, minutes=rule.get("minutes"))
                   + _unreached_text(merged.sum(numeric_only=True), travel)
                   + (none_text if none_open else ""))
            add(rule, value, target, "%", _status(value, target, rule.comparison),
                _with_target(how, value, target, "%", rule.comparison, year))
    for ne in plan.not_evaluated:
        summary.append((ne.id, ne.group, ne.title, _("cannot be evaluated with the data at hand"), ne.section, None,
                        None, ne.target or None, None, "", UNKNOWN, _("not evaluated: needs {what}").format(what=ne.needs)))
    townships = (pd.concat(town_rows, ignore_index=True) if town_rows
                 else pd.DataFrame(columns=TOWNSHIP_COLUMNS))
    townships["passed"] = townships["status"].map({PASS: True, FAIL: False}).astype("boolean")
    townships = townships[TOWNSHIP_COLUMNS]
    summary_df = pd.DataFrame(summary, columns=[c for c in SUMMARY_COLUMNS if c != "passed"])
    summary_df.insert(SUMMARY_COLUMNS.index("passed"), "passed",
                      summary_df["status"].map({PASS: True, FAIL: False}).astype("boolean"))
    villages = pd.concat(village_rows, ignore_index=True) if village_rows else pd.DataFrame()
    return Evaluation(plan, year, townships, summary_df, as_of=as_of, villages=villages)


#: The top-level name (``geoplan.evaluate_plan``) for :func:`evaluate`.
evaluate_plan = evaluate
