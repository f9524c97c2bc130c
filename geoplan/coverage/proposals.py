"""Proposing new facility sites for a county: the glue between layers, roads and siting models.

:func:`propose_sites` answers the planner's question "where would ``n`` new
home-care centres cover the most people aged 60+ within 15 minutes by
road?": demand is the population raster (in blocks, weighted by each
township's share of the age group), candidates are the villages,
communities and township seats, existing operating facilities stay open,
and the maximal-covering model of :mod:`geoplan.coverage.siting` picks the sites.
:func:`with_sites` adds the proposal to the layers so the plan can be
evaluated again (before/after).
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
    """

    result: SitingResult
    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame


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
    """
    if county.population is None:
        raise CoverageError("Proposing sites needs the population raster.")
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
    """Candidate sites: every village and community, and every township seat of the place-name layer."""
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
        raise GeoplanError("No candidate sites: the county has neither a villages nor a place_names layer.")
    out = pd.concat([f.to_crs(STORAGE_CRS) for f in frames], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


def propose_sites(county, net, existing: gpd.GeoDataFrame, *, minutes: float = 15.0, n_new: int | None = 3,
                  population: str = "pop_60plus", candidates: gpd.GeoDataFrame | None = None,
                  block_m: float = 500.0, time_limit: float | None = 60.0, model: str | None = None) -> Proposal:
    """Site new facilities next to the existing ones.

    Parameters
    ----------
    county : geoplan.layers.sample.County
    net : geoplan.network.graph.RoadNetwork
    existing : GeoDataFrame
        Operating facilities of the kind (``facility_id``); they stay open.
    minutes : float
        Covered means within this many minutes by road (walk to the road included).
    n_new : int or None
        Number of new sites (MCLP, p-median). ``None`` with LSCP: the fewest
        new sites that cover every block any candidate can reach.
    population : str
        ``pop_60plus`` or ``population``; see :func:`demand_blocks`.
    candidates : GeoDataFrame, optional
        Default :func:`candidate_sites`.
    model : {"mclp", "lscp", "pmedian"}, optional
        Default: MCLP when ``n_new`` is given, else LSCP. p-median minimises
        the population-weighted minutes to the nearest site (no cut-off).

    Returns
    -------
    Proposal
    """
    demand = demand_blocks(county, population, block_m)
    cands = candidate_sites(county) if candidates is None else candidates
    fixed_pts = gpd.GeoDataFrame({"site_id": "E" + existing["facility_id"].astype(str), "name": existing["name"],
                                  "township_code": existing["township_code"]},
                                 geometry=existing.geometry.to_crs(STORAGE_CRS).values, crs=STORAGE_CRS)
    sites = pd.concat([fixed_pts, cands], ignore_index=True)
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=STORAGE_CRS)
    model = model or ("lscp" if n_new is None else "mclp")
    if model not in MODELS:
        raise GeoplanError(f"model must be one of {', '.join(MODELS)}, got {model!r}.")
    if model != "lscp" and n_new is None:
        raise GeoplanError(f"The {model} model needs the number of new sites (n_new).")
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
    chosen = result.sites[result.sites["status"] == "new"].merge(sites, on="site_id", how="left")
    proposed = gpd.GeoDataFrame(
        chosen[["site_id", "name", "township_code", "population", "unique_population", "reason"]],
        geometry=chosen["geometry"].values, crs=STORAGE_CRS)
    # Block populations are fractional (age shares); people are counted in whole persons.
    for col in ("population", "unique_population"):
        proposed[col] = proposed[col].round().astype("Int64")
    return Proposal(result, proposed, demand)


def with_sites(layers: dict, layer: str, proposed: gpd.GeoDataFrame, kind: str | None = None,
               status: str = "运营") -> dict:
    """A copy of ``layers`` where the proposed sites are facilities of ``layer`` (for before/after)."""
    base = layers[layer]
    add = pd.DataFrame({
        "facility_id": "P" + proposed["site_id"].astype(str),
        "name": proposed["name"].astype(str) + "（拟建）",
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
