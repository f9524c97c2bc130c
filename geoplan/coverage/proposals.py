"""Proposing new facility sites for a county: the glue between a plan rule, roads and siting models.

:func:`propose_sites` answers the planner's question "where would ``n`` new
home-care centres bring the most people aged 60+ within the plan's minutes by
road?". The travel-time limit, the population group and the facilities come
from the plan's ``travel_time`` rule; demand is the population raster (in
blocks, weighted by each township's share of the age group); candidates are
the villages, communities and township seats; existing and planned
facilities are fixed (an option leaves the planned ones out) and candidates a
fixed facility already reaches within a few minutes are not proposed. The
maximal-covering model of :mod:`geoplan.coverage.siting` picks the sites; the
coverage the proposal reports is computed by the same evaluator as the plan's
re-evaluation, so the two figures are the same number. Reasons are Chinese
and name the villages and townships a site brings within reach.

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])``, ``small`` (``county`` with its population in 1 km
cells) (``import geoplan as gp``); pytest builds them once per session (see
``geoplan/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.coverage.evaluation import CoverageError
from geoplan.layers.crs import STORAGE_CRS
from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.coverage.siting import LSCP, MCLP, PMedian, SitingResult

MODELS = ("lscp", "mclp", "pmedian")


@dataclass
class Proposal:
    """Outcome of :func:`propose_sites`.

    Attributes
    ----------
    result : SitingResult
        The model's answer (sites with the reason each was chosen).
    sites : GeoDataFrame
        The proposed new sites as points, with ``site_id``, ``name``,
        ``township_code``, the population they cover and the reason.
    demand : GeoDataFrame
        The demand blocks used (points with ``population``).
    rule : Rule
        The travel-time rule answered (minutes, population group, facilities).
    coverage_before, coverage_after : float
        Share of the rule's population within its minutes with the fixed
        facilities (existing and, unless left out, planned), and with the
        proposed sites added: computed by the plan's own evaluator, so
        :func:`geoplan.coverage.evaluation.evaluate` on ``layers_after`` gives
        the same figure.
    layers_before, layers_after : dict
        The layers those figures are computed on.

    Examples
    --------
    ``small``, ``net`` as in :func:`propose_sites`:


    >>> from geoplan.layers.sample import layers_dir
    >>> rule = gp.load_plan(layers_dir().parent / "plans" / "local" / "330624_15min.toml").rules[0]
    >>> p = propose_sites(small, net, rule=rule, n_new=2)
    >>> p.sites[["site_id", "name"]].values.tolist(), round(p.coverage_before, 3), round(p.coverage_after, 3)
    ([['V330624109212', '大古年村'], ['V330624112209', '沃洲村']], 0.703, 0.759)
    """

    result: SitingResult
    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    rule: object = None
    minutes: float | None = None
    population: str | None = None
    planned_fixed: gpd.GeoDataFrame | None = None
    coverage_before: float | None = None
    coverage_after: float | None = None
    layers_before: dict | None = None
    layers_after: dict | None = None

    def summary(self) -> str:
        """A few lines: the rule answered, the coverage before and after, and each site with its reason."""
        who = _("people aged 60 and over") if self.population == "pop_60plus" else _("residents")
        with_planned = self.planned_fixed is not None and len(self.planned_fixed)
        lines = [(_("Share of {who} within {minutes:g} minutes: {before:.1%} → {after:.1%} (existing and planned "
                    "facilities kept, {n} new)") if with_planned else
                  _("Share of {who} within {minutes:g} minutes: {before:.1%} → {after:.1%} (existing facilities kept, "
                    "{n} new)")).format(who=who, minutes=self.minutes, before=self.coverage_before,
                                        after=self.coverage_after, n=len(self.sites))]
        for r in self.sites.itertuples():
            lines.append("  " + _("{name} ({township}): {reason}").format(name=r.name, township=r.township,
                                                                          reason=r.reason))
        return "\n".join(lines)


def demand_blocks(county, population: str = "pop_60plus", block_m: float = 500.0) -> gpd.GeoDataFrame:
    """Population cells summed into square blocks, as points at the blocks' population-weighted centres.

    Parameters
    ----------
    county : geoplan.layers.sample.County
        Needs the population raster and the townships.
    population : str
        ``population`` for everybody, or ``pop_60plus``: each cell's persons
        scaled by its township's share of people aged 60+ (the raster counts
        everybody).
    block_m : float
        Block size; 500 m keeps the model small while a block's people stay
        within a few minutes' walk of its centre.

    Examples
    --------
    >>> b = demand_blocks(county, block_m=2000)
    >>> len(b), bool(round(b["population"].sum()) == county["townships"]["pop_60plus"].sum())
    (452, True)
    """
    if county.population is None:
        raise CoverageError(_("Proposing sites needs the population raster."))
    cells = county.population.cell_centres()
    towns = county["townships"].to_crs(cells.crs)
    joined = gpd.sjoin(cells, towns[["code", "population", "pop_60plus", towns.geometry.name]],
                       how="inner", predicate="intersects", lsuffix="cell", rsuffix="town")
    joined = joined[~joined.index.duplicated(keep="first")]
    persons = joined["population_cell"].to_numpy(float)
    if population != "population":
        persons = persons * (joined[population] / joined["population_town"]).to_numpy(float)
    x, y = shapely.get_x(joined.geometry.values), shapely.get_y(joined.geometry.values)
    key = pd.DataFrame({"bx": np.floor(x / block_m), "by": np.floor(y / block_m), "code": joined["code"].to_numpy(),
                        "w": persons, "wx": persons * x, "wy": persons * y})
    g = key.groupby(["bx", "by", "code"], as_index=False).sum()
    g = g[g["w"] > 0]
    pts = shapely.points(g["wx"] / g["w"], g["wy"] / g["w"])
    ids = [f"B{int(bx)}_{int(by)}_{code}" for bx, by, code in zip(g["bx"], g["by"], g["code"])]
    return gpd.GeoDataFrame({"block_id": ids, "township_code": g["code"].to_numpy(), "population": g["w"].to_numpy()},
                            geometry=pts, crs=cells.crs)


def candidate_sites(county) -> gpd.GeoDataFrame:
    """Candidate sites: every village and community, and every township seat of the place-name layer.

    Examples
    --------
    >>> c = candidate_sites(county)  # 292 villages and communities, 12 township seats
    >>> len(c), c["site_id"].str[0].value_counts().to_dict()
    (304, {'V': 292, 'T': 12})
    """
    frames = []
    if "villages" in county.layers:
        v = county["villages"]
        frames.append(gpd.GeoDataFrame({"site_id": "V" + v["code"].astype(str), "name": v["name"],
                                        "township_code": v["township_code"]}, geometry=v.geometry.values,
                                       crs=v.crs))
    if "place_names" in county.layers:
        pn = county["place_names"]
        seats = pn[pn["name_id"].astype(str).str.fullmatch(r"\d{9}")]
        frames.append(gpd.GeoDataFrame({"site_id": "T" + seats["name_id"].astype(str), "name": seats["name"],
                                        "township_code": seats["name_id"].astype(str)},
                                       geometry=seats.geometry.values, crs=seats.crs))
    if not frames:
        raise GeoplanError(_("No candidate sites: the county has neither a villages nor a place_names layer."))
    out = pd.concat([f.to_crs(STORAGE_CRS) for f in frames], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


def rule_facilities(county, rule, as_of=None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The rule's facilities in service on ``as_of`` and the planned ones (status 规划) of the same kind.

    Examples
    --------
    >>> from geoplan.layers.sample import layers_dir
    >>> import datetime
    >>> rule = gp.load_plan(layers_dir().parent / "plans" / "330624_2022.toml").rule("home_care_centre")
    >>> now, planned = rule_facilities(county, rule, as_of=datetime.date(2022, 12, 31))
    >>> len(now), len(planned)
    (9, 1)
    """
    from geoplan.coverage.evaluation import _where_mask, in_service

    layer = county[rule.get("layer")]
    match = _where_mask(layer, rule)
    planned = match & (layer["status"] == "规划").fillna(False).to_numpy(dtype=bool)
    return layer[match & in_service(layer, as_of)], layer[planned]


def _site_frame(facilities: gpd.GeoDataFrame, prefix: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": prefix + facilities["facility_id"].astype(str), "name": facilities["name"],
                             "township_code": facilities["township_code"]},
                            geometry=facilities.geometry.to_crs(STORAGE_CRS).values, crs=STORAGE_CRS)


def _covered(costs: np.ndarray, minutes: float) -> np.ndarray:
    return np.nan_to_num(costs, nan=np.inf) <= minutes + 1e-9


def _reasons(county, demand, chosen_ids, site_ids, costs, fixed, minutes, who, thing) -> dict[str, tuple[float, str]]:
    """Per new site: the people only it brings within ``minutes``, and the villages and townships they live in."""
    cov = _covered(costs, minutes)
    col = {s: j for j, s in enumerate(site_ids)}
    already = cov[:, fixed].any(axis=1)
    towns = dict(zip(county["townships"]["code"], county["townships"]["name"]))
    village_of = None
    if "villages" in county.layers:
        v = county["villages"].to_crs(demand.crs)
        near = gpd.sjoin_nearest(demand[["block_id", demand.geometry.name]], v[["name", v.geometry.name]],
                                 how="left")
        village_of = near[~near.index.duplicated()]["name"].reindex(demand.index)
    out = {}
    for sid in chosen_ids:
        others = [col[o] for o in chosen_ids if o != sid]
        by_others = cov[:, others].any(axis=1) if others else np.zeros(len(cov), dtype=bool)
        mine = cov[:, col[sid]] & ~already & ~by_others
        people = float(demand["population"].to_numpy()[mine].sum())
        if people < 0.5:
            out[sid] = (people, "")
            continue
        blocks = demand[mine].assign(_w=demand["population"].to_numpy()[mine])
        parts = []
        for code, g in blocks.groupby("township_code"):
            names = []
            if village_of is not None:
                by_v = g.assign(_v=village_of.loc[g.index]).groupby("_v")["_w"].sum().sort_values(ascending=False)
                names = [n for n in by_v.index[:4]]
                more = len(by_v) - len(names)
            town = towns.get(code, code)
            if names and more > 0:
                part = _("{township}: {villages} and others, {n} villages in all").format(
                    township=town, villages=_(", ").join(names), n=len(by_v))
            elif names:
                part = _("{township}: {villages}").format(township=town, villages=_(", ").join(names))
            else:
                part = town
            parts.append((g["_w"].sum(), part))
        parts.sort(reverse=True)
        text = _("{people:,.0f} more {who} within {minutes:g} minutes (today they reach no existing or planned {thing} "
                 "within {minutes:g} minutes), mainly in {places}").format(
            people=people, who=who, minutes=minutes, thing=thing, places=_("; ").join(p for _w, p in parts))
        out[sid] = (people, text)
    return out


def _median_reasons(county, demand, chosen_ids, site_ids, costs, fixed, who, thing) -> dict[str, tuple[float, str]]:
    """Per new p-median site: the people for whom it becomes the nearest, and their minutes before and after."""
    t = np.nan_to_num(costs, nan=np.inf)
    col = {s: j for j, s in enumerate(site_ids)}
    before = t[:, fixed].min(axis=1) if fixed.any() else np.full(len(t), np.inf)
    open_cols = np.flatnonzero(fixed).tolist() + [col[s] for s in chosen_ids]
    nearest = np.asarray(open_cols)[np.argmin(t[:, open_cols], axis=1)]
    w = demand["population"].to_numpy()
    towns = dict(zip(county["townships"]["code"], county["townships"]["name"]))
    out = {}
    for sid in chosen_ids:
        mine = (nearest == col[sid]) & np.isfinite(t[:, col[sid]])
        people = float(w[mine].sum())
        if people < 0.5:
            out[sid] = (0.0, _("it brings nobody nearer to a {thing}").format(thing=thing))
            continue
        after = float((w[mine] * t[mine, col[sid]]).sum() / people)
        finite = mine & np.isfinite(before)
        was = float((w[finite] * before[finite]).sum() / w[finite].sum()) if finite.any() else float("nan")
        where = _(", ").join(towns.get(c, c) for c in pd.Series(demand["township_code"].to_numpy()[mine])
                             .value_counts().index[:3])
        text = (_("for {people:,.0f} {who} this becomes the nearest {thing} (mainly in {where}); average trip "
                  "{before:.1f} → {after:.1f} minutes") if was == was else
                _("for {people:,.0f} {who} this becomes the nearest {thing} (mainly in {where}); average trip "
                  "{after:.1f} minutes (no road before)")).format(people=people, who=who, thing=thing, where=where,
                                                                  before=was, after=after)
        out[sid] = (people, text)
    return out


def propose_sites(county, net, existing: gpd.GeoDataFrame | None = None, *, rule=None, minutes: float | None = None,
                  n_new: int | None = 3, population: str | None = None, planned: gpd.GeoDataFrame | None = None,
                  include_planned: bool = True, near_minutes: float = 5.0, as_of=None,
                  candidates: gpd.GeoDataFrame | None = None, block_m: float = 500.0,
                  time_limit: float | None = 60.0, model: str | None = None, travel=None) -> Proposal:
    """Site new facilities next to the existing and planned ones.

    Parameters
    ----------
    county : geoplan.layers.sample.County
    net : geoplan.network.graph.RoadNetwork
    existing : GeoDataFrame, optional
        Operating facilities (``facility_id``); they stay open. Default: the
        ``rule``'s facilities in service on ``as_of``.
    rule : geoplan.coverage.plans.Rule, optional
        A ``travel_time`` rule of the plan: its ``minutes``, ``population`` and
        facilities are used, so the proposal answers the plan's own question.
    minutes : float, optional
        Covered means within this many minutes by road (walk to the road
        included). Default: the rule's, else 15.
    n_new : int or None
        Number of new sites (MCLP, p-median). ``None`` with LSCP: the fewest
        new sites that cover every block any candidate can reach.
    population : str, optional
        ``pop_60plus`` or ``population``; default the rule's, else ``pop_60plus``.
    planned : GeoDataFrame, optional
        Planned facilities (status 规划); default the rule's planned ones.
    include_planned : bool
        Treat planned facilities as fixed (built); ``False`` leaves them out.
    near_minutes : float
        Candidates a fixed facility reaches within this many minutes are not proposed.
    candidates : GeoDataFrame, optional
        Default :func:`candidate_sites`.
    model : {"mclp", "lscp", "pmedian"}, optional
        Default: MCLP when ``n_new`` is given, else LSCP.
    travel : callable, optional
        The plan's travel evaluator (:func:`geoplan.coverage.evaluation.road_travel`);
        default one on ``net`` and the county's raster. Used for the reported coverage.

    Returns
    -------
    Proposal

    Examples
    --------
    ``small`` is the sample county ``gp.load_sample("330624")`` with its population raster summed
    into 1 km cells (the recipe is in ``geoplan/conftest.py``), ``net`` its road network
    (``gp.RoadNetwork.from_roads(county["roads"])``):


    >>> from geoplan.layers.sample import layers_dir
    >>> rule = gp.load_plan(layers_dir().parent / "plans" / "local" / "330624_15min.toml").rules[0]
    >>> rule.get("minutes"), rule.get("population")
    (15, 'pop_60plus')
    >>> p = propose_sites(small, net, rule=rule, n_new=2)
    >>> p.sites[["site_id", "name", "township"]].values.tolist()
    [['V330624109212', '大古年村', '镜岭镇'], ['V330624112209', '沃洲村', '沃洲镇']]
    >>> p.coverage_after > p.coverage_before
    True
    """
    from geoplan.coverage.evaluation import _describe, road_travel
    from geoplan.coverage.plans import parse_plan

    if rule is not None:
        if rule.kind != "travel_time":
            raise GeoplanError(_("Rule {rule} ({title}) is not a travel-time rule; siting needs a rule of kind = "
                                 "\"travel_time\".").format(rule=rule.id, title=rule.title))
        minutes = float(rule.get("minutes")) if minutes is None else minutes
        population = population or rule.get("population", "population")
        own_existing, own_planned = rule_facilities(county, rule, as_of)
        existing = own_existing if existing is None else existing
        planned = own_planned if planned is None else planned
    minutes = 15.0 if minutes is None else float(minutes)
    population = population or "pop_60plus"
    if existing is None:
        raise GeoplanError(_("Give the existing facilities (existing) or a travel-time rule of the plan (rule)."))
    if rule is None:
        kinds = sorted(existing["kind"].dropna().unique()) if "kind" in existing else []
        layer = next((k for k, g in county.layers.items() if len(existing) and set(existing["facility_id"]) <=
                      set(g.get("facility_id", pd.Series(dtype=str)))), "elderly_care")
        rule = parse_plan({"plan": {"county": county.code, "name": _("siting")}, "rule": [{
            "id": "site", "kind": "travel_time", "layer": layer, "minutes": minutes, "population": population,
            "target": 1, **({"where": {"kind": kinds}} if kinds else {})}]}).rules[0]
    if planned is None or not include_planned:
        planned = existing.iloc[:0]
    demand = demand_blocks(county, population, block_m)
    cands = candidate_sites(county) if candidates is None else candidates
    fixed_pts = pd.concat([_site_frame(existing, "E"), _site_frame(planned, "G")], ignore_index=True)
    model = model or ("lscp" if n_new is None else "mclp")
    if model not in MODELS:
        raise GeoplanError(_("The model must be one of {models}, not {model!r}.").format(
            models=_(", ").join(MODELS), model=model))
    if model != "lscp" and n_new is None:
        raise GeoplanError(_("The {model} model needs the number of new sites (n_new).").format(model=model))
    # Candidates a fixed facility already reaches within a few minutes would duplicate it.
    if len(fixed_pts) and len(cands) and near_minutes > 0:
        near = net.cost_matrix(fixed_pts, cands, origin_id="site_id", destination_id="site_id",
                               cutoff_min=near_minutes, wide=True)
        close = near.columns[(near.to_numpy(float) <= near_minutes).any(axis=0)]
        cands = cands[~cands["site_id"].isin(close)]
    sites = gpd.GeoDataFrame(pd.concat([fixed_pts, cands], ignore_index=True), geometry="geometry", crs=STORAGE_CRS)
    costs = net.cost_matrix(demand, sites, origin_id="block_id", destination_id="site_id",
                            cutoff_min=None if model == "pmedian" else minutes, wide=True)
    costs = costs.reindex(index=demand["block_id"], columns=sites["site_id"])
    fixed = sites["site_id"].isin(fixed_pts["site_id"]).to_numpy()
    weights = demand["population"].to_numpy()
    if model == "lscp":
        # Blocks no candidate reaches are reported by the result, not made a reason to fail.
        reachable = np.isfinite(costs.to_numpy(float)).any(axis=1)
        solver = LSCP.from_cost_matrix(costs.loc[reachable], minutes, fixed=fixed, unit=" min")
    elif model == "mclp":
        solver = MCLP.from_cost_matrix(costs, weights, minutes, n_new=n_new, fixed=fixed, unit=" min")
    else:
        reachable = np.isfinite(costs.to_numpy(float)).any(axis=1)
        solver = PMedian.from_cost_matrix(costs.loc[reachable], weights[reachable], n_new=n_new, fixed=fixed,
                                          unit=" min")
    result = solver.solve(time_limit=time_limit)
    result.raise_if_infeasible()
    new_ids = result.sites.loc[result.sites["status"] == "new", "site_id"].tolist()
    who = _(" people aged 60 and over") if population == "pop_60plus" else _("residents")
    thing = _describe(rule, with_status=False)
    reasons = _reasons(county, demand.set_index(demand.index), new_ids, list(sites["site_id"]),
                       costs.to_numpy(float), fixed, minutes, who, thing)
    if model == "pmedian":
        reasons.update(_median_reasons(county, demand, new_ids, list(sites["site_id"]), costs.to_numpy(float),
                                       fixed, who, thing))
    # A site that brings nobody new within reach (a forced pick) is not proposed.
    new_ids = [s for s in new_ids if reasons[s][0] >= 0.5 or model == "pmedian"]
    chosen = sites[sites["site_id"].isin(new_ids)].copy()
    towns = dict(zip(county["townships"]["code"], county["townships"]["name"]))
    chosen["township"] = chosen["township_code"].map(towns)
    chosen["new_people"] = [round(reasons.get(s, (0.0, ""))[0]) for s in chosen["site_id"]]
    chosen["reason"] = [reasons.get(s, (0.0, ""))[1] for s in chosen["site_id"]]
    proposed = gpd.GeoDataFrame(chosen[["site_id", "name", "township_code", "township", "new_people", "reason"]],
                                geometry=chosen.geometry.values, crs=STORAGE_CRS)
    proposed["new_people"] = proposed["new_people"].astype("Int64")
    proposal = Proposal(result, proposed.reset_index(drop=True), demand)
    proposal.rule, proposal.minutes, proposal.population = rule, minutes, population
    proposal.planned_fixed = planned
    # One definition of covered: the plan's evaluator on the layers before and after.
    travel = travel if travel is not None else road_travel(net, county.population)
    layer = rule.get("layer")
    kind = None
    if isinstance((rule.where_any[0] or {}).get("kind"), str):
        kind = rule.where_any[0]["kind"]
    elif isinstance((rule.where_any[0] or {}).get("kind"), list) and len(rule.where_any[0]["kind"]) == 1:
        kind = rule.where_any[0]["kind"][0]
    base_layers = {**county.layers, layer: _with_fixed(county[layer], existing, planned)}
    proposal.layers_before = base_layers
    proposal.layers_after = with_sites(base_layers, layer, proposal.sites, kind=kind)
    proposal.coverage_before = _coverage(rule, base_layers, travel)
    proposal.coverage_after = _coverage(rule, proposal.layers_after, travel)
    return proposal


def _with_fixed(layer: gpd.GeoDataFrame, existing, planned) -> gpd.GeoDataFrame:
    """The facility layer in which the fixed facilities (existing and planned) operate and nothing else of the rule."""
    keep = layer["facility_id"].isin(existing["facility_id"]) | layer["facility_id"].isin(planned["facility_id"])
    out = layer[keep].copy()
    out["status"] = "运营"
    if "opened" in out:
        out["opened"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if "closed" in out:
        out["closed"] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out


def _coverage(rule, layers, travel) -> float:
    """Share of the rule's population within its minutes, exactly as :func:`evaluate` computes it."""
    from geoplan.coverage.evaluation import as_of_layers

    per = travel(rule, as_of_layers(layers, None))
    total = per["population_total"].sum()
    return float(per["population_within"].sum() / total) if total else float("nan")


def with_sites(layers: dict, layer: str, proposed: gpd.GeoDataFrame, kind: str | None = None,
               status: str = "运营") -> dict:
    """A copy of ``layers`` where the proposed sites are facilities of ``layer`` (for before/after).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> site = gpd.GeoDataFrame({"site_id": ["V330624109212"], "name": ["大古年村"], "township_code": ["330624109"]},
    ...                         geometry=[shapely.Point(120.85, 29.35)], crs=4490)
    >>> after = with_sites(county.layers, "elderly_care", site, kind="居家养老服务中心")
    >>> len(after["elderly_care"]) - len(county["elderly_care"]), after["elderly_care"].iloc[-1][["kind", "status"]].tolist()
    (1, ['居家养老服务中心', '运营'])
    """
    base = layers[layer]
    add = pd.DataFrame({
        "facility_id": "P" + proposed["site_id"].astype(str),
        "name": [_("{name} (proposed)").format(name=n) for n in proposed["name"].astype(str)],
        "township_code": proposed["township_code"].astype(str),
        "status": status,
    })
    if kind is not None:
        add["kind"] = kind
    added = gpd.GeoDataFrame(add, geometry=proposed.geometry.to_crs(base.crs).values, crs=base.crs)
    out = dict(layers)
    out[layer] = gpd.GeoDataFrame(pd.concat([base, added], ignore_index=True), geometry=base.geometry.name,
                                  crs=base.crs)
    return out
