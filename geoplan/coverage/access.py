"""Population access to facilities by road, summarised per township.

The question planners ask — "how many people live more than 15 / 30
minutes by road from a home-care centre, township by township" — is
answered from population cells (the centres of the 100 m population raster,
:meth:`geoplan.layers.io.PopulationRaster.cell_centres`) routed to their nearest
facility with :meth:`geoplan.network.graph.RoadNetwork.nearest_facility`.

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])``, ``small`` (``county`` with its population in 1 km
cells) (``import geoplan as gp``); pytest builds them once per session (see
``geoplan/conftest.py``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from typing import TYPE_CHECKING

from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.network.graph import DEFAULT_ACCESS_SPEED_KMH, DEFAULT_MAX_SNAP_DISTANCE_M

if TYPE_CHECKING:
    from geoplan.coverage.evaluation import TravelEvaluator
    from geoplan.coverage.plans import Rule


def township_access_table(townships, population_cells, facilities, net, thresholds=(15, 30), *,
                          population_col: str = "population", township_id: str = "code",
                          cell_id: str | None = "cell_id", facility_id: str | None = "facility_id",
                          direction: str = "to_facility",
                          max_distance_m: float = DEFAULT_MAX_SNAP_DISTANCE_M,
                          access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH) -> pd.DataFrame:
    """Population-weighted travel time to the nearest facility, per township.

    Parameters
    ----------
    townships : geopandas.GeoDataFrame
        Township polygons with an ID column (``code``) and, if present, ``name``.
    population_cells : geopandas.GeoDataFrame
        Points with persons in ``population_col`` (e.g. raster cell centres).
    facilities : geopandas.GeoDataFrame
        Facility points (e.g. the ``elderly_care`` layer filtered to 居家养老服务中心).
    net : geoplan.network.graph.RoadNetwork
    thresholds : sequence of float
        Minutes; one ``share_beyond_<T>min`` column each.
    population_col, township_id, cell_id, facility_id : str
        Column names (``cell_id``/``facility_id`` None: use the index).
    direction, max_distance_m, access_speed_kmh
        As in :meth:`~geoplan.network.graph.RoadNetwork.nearest_facility`.

    Returns
    -------
    pandas.DataFrame
        One row per township (ID column first, then ``name`` if given):
        ``population``; ``mean_minutes`` (population-weighted, over people
        with a route); ``share_beyond_<T>min`` for each threshold — the share
        of the township's population whose trip takes longer than T minutes
        *or* who have no route at all; ``unreachable_population`` (no route:
        no road path to any facility, or farther than ``max_distance_m`` from
        every road), of which ``off_network_population`` is the latter part;
        ``cells``. ``attrs["outside_population"]`` is the population of
        cells in no township, ``attrs["per_cell"]`` the per-cell result.

    Examples
    --------
    ``county = gp.load_sample("330624")``, ``net = gp.RoadNetwork.from_roads(county["roads"])``:

    >>> care = county["elderly_care"]
    >>> centres = care[(care["kind"] == "居家养老服务中心") & (care["status"] == "运营")]
    >>> cells = county.population.cell_centres(min_value=5)
    >>> t = township_access_table(county["townships"], cells, centres, net, thresholds=(15, 30))
    >>> list(t.columns[:4]), len(t)
    (['code', 'name', 'population', 'mean_minutes'], 12)
    >>> t.set_index("name").loc["儒岙镇", ["mean_minutes", "share_beyond_15min"]].astype(float).round(2).tolist()
    [28.5, 1.0]
    """
    for col, frame, what in ((population_col, population_cells, _("population cells")),
                             (township_id, townships, _("townships"))):
        if col not in frame.columns:
            raise GeoplanError(_("The {what} have no column {column!r}; columns: {columns}.").format(
                what=what, column=col, columns=_(", ").join(map(str, frame.columns))))
    thresholds = [float(t) for t in thresholds]
    cell_col = cell_id if cell_id in population_cells.columns else None
    near = net.nearest_facility(population_cells, facilities, demand_id=cell_col, facility_id=facility_id,
                                direction=direction, max_distance_m=max_distance_m,
                                access_speed_kmh=access_speed_kmh)
    cells = gpd.GeoDataFrame(
        {"population": pd.to_numeric(population_cells[population_col], errors="coerce").fillna(0).to_numpy(float),
         "minutes": near["minutes"].to_numpy(),
         "status": near["status"].to_numpy()},
        geometry=population_cells.geometry.to_crs(net.crs).to_numpy(), crs=net.crs,
        index=near.index,
    )
    towns = townships[[township_id] + (["name"] if "name" in townships.columns else []) + [townships.geometry.name]]
    towns = towns.to_crs(net.crs)
    # "intersects" keeps cells lying exactly on a boundary; the first township wins.
    joined = gpd.sjoin(cells, towns, how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    inside = joined[township_id].notna()
    per_cell = joined.drop(columns=["index_right"], errors="ignore")

    d = pd.DataFrame(joined.loc[inside].drop(columns="geometry"))
    pop = d["population"]
    ok = d["status"].eq("ok")
    no_route = ~ok
    d["_w_min"] = np.where(ok, d["minutes"] * pop, 0.0)
    d["_w_ok"] = np.where(ok, pop, 0.0)
    d["_unreach"] = np.where(no_route, pop, 0.0)
    d["_off"] = np.where(d["status"].eq("not_snapped"), pop, 0.0)
    for t in thresholds:
        d[f"_beyond_{t:g}"] = np.where(no_route | (d["minutes"] > t), pop, 0.0)
    g = d.groupby(township_id, sort=False)
    out = pd.DataFrame({
        "population": g["population"].sum(),
        "mean_minutes": g["_w_min"].sum() / g["_w_ok"].sum().replace(0.0, np.nan),
    })
    for t in thresholds:
        out[f"share_beyond_{t:g}min"] = g[f"_beyond_{t:g}"].sum() / out["population"].replace(0.0, np.nan)
    out["unreachable_population"] = g["_unreach"].sum()
    out["off_network_population"] = g["_off"].sum()
    out["cells"] = g.size()

    base = pd.DataFrame(towns.drop(columns=towns.geometry.name)).drop_duplicates(township_id)
    result = base.merge(out, left_on=township_id, right_index=True, how="left")
    fill = {"population": 0.0, "unreachable_population": 0.0, "off_network_population": 0.0, "cells": 0}
    result = result.fillna(fill)
    result["cells"] = result["cells"].astype(int)
    result = result.reset_index(drop=True)
    result.attrs["outside_population"] = float(joined.loc[~inside, "population"].sum())
    result.attrs["per_cell"] = per_cell
    result.attrs["facilities_not_snapped"] = near.attrs.get("facilities_not_snapped", [])
    return result


def step_weights(steps: dict[float, float]):
    """A stepwise distance-decay weight for E2SFCA: ``{10: 1, 20: 0.68, 30: 0.22}``.

    A cost ``c`` gets the weight of the smallest step ``≥ c`` (costs beyond
    the last step get 0), the zones of Luo & Qi (2009).

    Examples
    --------
    >>> w = step_weights({10: 1, 20: 0.68, 30: 0.22})
    >>> w(np.array([0, 10, 10.5, 25, 30, 31])).tolist()
    [1.0, 1.0, 0.68, 0.22, 0.22, 0.0]
    """
    bounds = np.array(sorted(steps), dtype=float)
    values = np.array([steps[b] for b in sorted(steps)], dtype=float)

    def weight(cost):
        cost = np.asarray(cost, dtype=float)
        i = np.searchsorted(bounds, cost, side="left")
        return np.where(i < len(bounds), values[np.minimum(i, len(values) - 1)], 0.0)

    return weight


def two_step_fca(costs: pd.DataFrame, demand: pd.Series, supply: pd.Series, max_cost: float, *,
                 weight=None, origin: str = "origin", destination: str = "destination",
                 cost: str = "minutes") -> pd.Series:
    """Two-step floating catchment area (2SFCA) accessibility; E2SFCA with a weight.

    Step 1 gives each facility ``j`` a supply-to-demand ratio
    ``R_j = S_j / Σ_k w(c_kj) P_k`` over the demand within ``max_cost``;
    step 2 sums the ratios a demand point reaches, ``A_i = Σ_j w(c_ij) R_j``.
    With ``weight=None`` every pair within ``max_cost`` weighs 1 (the
    original 2SFCA of Luo & Wang 2003); a decay (e.g. :func:`step_weights`)
    gives the enhanced 2SFCA.

    Parameters
    ----------
    costs : DataFrame
        Long table of travel costs with ``origin`` (demand ID), ``destination``
        (facility ID) and ``cost`` columns, e.g. from
        :meth:`geoplan.network.graph.RoadNetwork.cost_matrix`. Missing pairs and
        NaN costs (unreachable) are out of reach.
    demand : Series
        Persons per demand ID (index).
    supply : Series
        Capacity per facility ID (index), e.g. beds.
    max_cost : float
        Catchment size in the cost's unit (minutes).
    weight : callable, optional
        Vectorised ``cost -> weight`` in [0, 1].

    Returns
    -------
    Series
        Supply per person reachable from each demand ID (same index as
        ``demand``); 0 where no facility is within reach.

    Examples
    --------
    Two villages share a 10-bed home 5 and 8 minutes away; only 乙村 reaches a 20-bed one:

    >>> costs = pd.DataFrame({"origin": ["甲村", "乙村", "乙村"], "destination": ["A", "A", "B"],
    ...                       "minutes": [5.0, 8.0, 12.0]})
    >>> two_step_fca(costs, pd.Series({"甲村": 100, "乙村": 300}), pd.Series({"A": 10, "B": 20}), 15)
    甲村    0.025000
    乙村    0.091667
    Name: access, dtype: float64
    """
    from scipy import sparse

    for col in (origin, destination, cost):
        if col not in costs.columns:
            raise GeoplanError(_("The cost table has no column {column!r}; columns: {columns}.").format(
                column=col, columns=_(", ").join(map(str, costs.columns))))
    if (supply < 0).any() or (demand < 0).any():
        raise GeoplanError(_("Demand and supply must not be negative."))
    d_index = pd.Index(demand.index)
    s_index = pd.Index(supply.index)
    c = costs[[origin, destination, cost]]
    c = c[c[cost].notna() & (c[cost] <= max_cost)]
    rows = d_index.get_indexer(c[origin])
    cols = s_index.get_indexer(c[destination])
    keep = (rows >= 0) & (cols >= 0)
    values = c[cost].to_numpy(dtype=float)[keep]
    w = np.ones_like(values) if weight is None else np.asarray(weight(values), dtype=float)
    W = sparse.csr_matrix((w, (rows[keep], cols[keep])), shape=(len(d_index), len(s_index)))
    pop = demand.to_numpy(dtype=float)
    reached = W.T @ pop
    ratio = np.divide(supply.to_numpy(dtype=float), reached, out=np.zeros(len(s_index)), where=reached > 0)
    return pd.Series(W @ ratio, index=d_index, name="access")


# ----------------------------------------------------------------------------- plan travel-time rules

def _unreached_text(row, travel) -> str:
    """Who has no route, in words: off the road network, or on a piece of it cut off from every facility."""
    text = ""
    off = row.get("off_network", 0) if hasattr(row, "get") else getattr(row, "off_network", 0)
    cut = row.get("unreachable", 0) if hasattr(row, "get") else getattr(row, "unreachable", 0)
    if pd.notna(off) and off >= 0.5:
        limit = getattr(travel, "max_distance_m", None)
        text += (_("; {people:,.0f} people more than {limit:,.0f} m from a road").format(people=off, limit=limit)
                 if limit else _("; {people:,.0f} people not near the road network").format(people=off))
    if pd.notna(cut) and cut >= 0.5:
        text += _("; {people:,.0f} people on roads not connected to a facility").format(people=cut)
    return text


def _travel_reason(row, rule: Rule, travel=None) -> str:
    if pd.isna(row.population_total):
        return _("no population data")
    share = row.population_within / row.population_total if row.population_total else float("nan")
    text = _("within {minutes:g} minutes: {within:,.0f} / {total:,.0f} people").format(
        minutes=rule.get("minutes"), within=row.population_within, total=row.population_total)
    if share == share:
        text += _(", {share:.1%}").format(share=share)
    return text + _unreached_text(row._asdict(), travel)


def _nobody_within(towns, cells) -> pd.DataFrame:
    """Per-cell rows of :func:`road_travel` when there is no facility to go to: everyone counted, nobody within."""
    pts = gpd.GeoDataFrame(
        {"population": pd.to_numeric(cells["population"], errors="coerce").fillna(0).to_numpy(float)},
        geometry=cells.geometry.to_numpy(), crs=cells.crs)
    joined = gpd.sjoin(pts, towns[["code", towns.geometry.name]].to_crs(pts.crs), how="inner",
                       predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]  # as township_access_table: the first township wins
    return pd.DataFrame({"code": joined["code"], "population_total": joined["population"],
                         "population_within": 0.0, "unreachable": 0.0, "off_network": 0.0})


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

    Examples
    --------
    ``county = gp.load_sample("330624")``, ``net = gp.RoadNetwork.from_roads(county["roads"])``;
    the evaluator routes every populated cell, here of ``small.population``, the raster summed into
    1 km cells (recipe in ``geoplan/conftest.py``), to be quick:

    >>> from geoplan.layers.sample import layers_dir
    >>> rule = gp.load_plan(layers_dir().parent / "plans" / "local" / "330624_15min.toml").rules[0]
    >>> per_town = road_travel(net, small.population)(rule, county.layers)
    >>> list(per_town.columns[:3]), len(per_town)
    (['code', 'population_total', 'population_within'], 12)
    >>> t = per_town.set_index("code").loc["330624001"]  # 羽林街道, people aged 60+ within 15 minutes
    >>> round(float(t["population_within"] / t["population_total"]), 2)
    0.98
    """
    from geoplan.coverage.evaluation import _filtered

    cells = population.cell_centres()
    access = DEFAULT_ACCESS_SPEED_KMH if access_speed_kmh is None else access_speed_kmh
    max_d = DEFAULT_MAX_SNAP_DISTANCE_M if max_distance_m is None else max_distance_m

    def travel(rule: Rule, layers) -> pd.DataFrame:
        towns = layers["townships"]
        minutes = float(rule.get("minutes"))
        facilities = _filtered(layers, rule)
        if facilities.empty:
            # No facility of the kind operates on the date: nobody is within the limit. That is an
            # answer the report must give (every township 0 %), not a reason to stop the evaluation.
            out = _nobody_within(towns, cells)
        else:
            table = township_access_table(towns, cells, facilities, net, thresholds=[minutes],
                                          access_speed_kmh=access, max_distance_m=max_d)
            per_cell = table.attrs["per_cell"]
            per_cell = per_cell[per_cell["code"].notna()]
            within = per_cell["population"].where(per_cell["status"].eq("ok") & (per_cell["minutes"] <= minutes),
                                                  0.0)
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
