"""Siting models: same optimum as spopt and as brute force, explained infeasibility, inputs."""

import itertools
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.coverage.siting import (
    LSCP, MCLP, PMedian, InfeasibleSitingError, SitingError, combine_candidates, cost_array,
    grid_candidates, network_node_candidates, township_seat_candidates,
)

N_SPOPT = 20


def instance(seed, m_range=(8, 40), n_range=(4, 16)):
    """Random points in a 10 × 10 square; costs are Euclidean distances."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(*m_range))
    n = int(rng.integers(*n_range))
    d = rng.random((m, 2)) * 10
    s = rng.random((n, 2)) * 10
    cost = np.hypot(d[:, None, 0] - s[None, :, 0], d[:, None, 1] - s[None, :, 1])
    w = rng.integers(1, 100, m).astype(float)
    n_fixed = int(rng.integers(0, 3))
    fixed = np.sort(rng.choice(n, size=n_fixed, replace=False))
    return rng, cost, w, fixed


def coverable_radius(cost, rng):
    """A radius at which every demand point has at least one candidate."""
    return float(cost.min(axis=1).max()) * (1.0 + rng.random())


# --------------------------------------------------------------------------
# Brute force
# --------------------------------------------------------------------------

def subsets(n, fixed, size=None):
    free = [j for j in range(n) if j not in set(fixed)]
    sizes = range(len(free) + 1) if size is None else [size - len(fixed)]
    for k in sizes:
        if k < 0 or k > len(free):
            continue
        for extra in itertools.combinations(free, k):
            yield np.array(sorted(list(fixed) + list(extra)), dtype=int)


def brute_lscp(cost, r, fixed):
    cover = cost <= r
    best = None
    for s in subsets(cost.shape[1], fixed):
        if cover[:, s].any(axis=1).all() and (best is None or len(s) < best):
            best = len(s)
    return best


def brute_mclp(cost, w, r, p, fixed):
    cover = cost <= r
    return max(w[cover[:, s].any(axis=1)].sum() for s in subsets(cost.shape[1], fixed, p))


def brute_pmedian(cost, w, p, fixed):
    return min((w * cost[:, s].min(axis=1)).sum() for s in subsets(cost.shape[1], fixed, p))


@pytest.mark.parametrize("seed", range(10))
def test_heuristics_and_bounds_bracket_the_brute_force_optimum(seed):
    import scipy.sparse as sp

    from geoplan.coverage.siting.solver import (
        dominated_columns, mclp_heuristic, pmedian_heuristic, pmedian_lagrangian_bound,
    )

    rng, cost, w, fixed = instance(500 + seed, (10, 30), (5, 10))
    n = cost.shape[1]
    r = float(np.quantile(cost, 0.25))
    p = int(rng.integers(1, 4))
    cover = sp.csr_array((cost <= r).astype(float))
    best = brute_mclp(cost, w, r, p, [])
    chosen, value, bound = mclp_heuristic(cover, w, p, seconds=0.5)
    assert chosen.sum() == p and value == w[(cost[:, chosen] <= r).any(axis=1)].sum()
    assert value <= best + 1e-9 and bound >= best - 1e-6 * best

    mask = np.zeros(n, dtype=bool)
    mask[fixed] = True
    p = len(fixed) + int(rng.integers(1, 3))
    best = brute_pmedian(cost, w, p, fixed)
    open_mask, value = pmedian_heuristic(cost, w, p, mask.copy(), seconds=0.5)
    assert open_mask.sum() == p and open_mask[fixed].all()
    assert value == pytest.approx((w * cost[:, open_mask].min(axis=1)).sum()) and value >= best - 1e-9
    assert pmedian_lagrangian_bound(cost, w, p, mask, value, near=3) <= best * (1 + 1e-9)

    # Dominated columns, against the definition.
    a = cost <= r
    want = np.array([any(((a[:, j] <= a[:, k]).all() and (a[:, k].sum() > a[:, j].sum() or k < j))
                         for k in range(n) if k != j) for j in range(n)])
    assert (dominated_columns(cover) == want).all()


def test_mclp_branch_and_bound_proves_the_brute_force_optimum():
    # Sixteen instances in one test: most close at the root, the test checks some needed branching.
    most = 0
    for seed in range(700, 716):
        most = max(most, _check_branch_and_bound(seed))
    assert most > 1


def _check_branch_and_bound(seed):
    import time

    import scipy.sparse as sp

    from geoplan.coverage.siting.branch import mclp_branch_and_bound

    rng, cost, w, _ = instance(seed, (40, 80), (14, 22))
    n = cost.shape[1]
    r = float(np.quantile(cost, 0.15))
    p = int(rng.integers(2, 5))
    cover = sp.csr_array((cost <= r).astype(float))
    best = brute_mclp(cost, w, r, p, [])
    # From the worst start (the first p sites), with and without a tolerated gap.
    start = np.zeros(n, dtype=bool)
    start[:p] = True
    start_val = float(w[(cost[:, start] <= r).any(axis=1)].sum())
    most_nodes = 0
    for gap in (0.0, 0.05):
        plan, value, bound, nodes = mclp_branch_and_bound(cover, w, p, start, start_val, gap,
                                                          time.perf_counter() + 30)
        assert plan.sum() == p and value == w[(cost[:, plan] <= r).any(axis=1)].sum()
        assert value <= best + 1e-9 and bound >= best - 1e-6 * best
        assert bound <= value * (1 + gap) + 1e-6 * best
        if gap == 0:
            assert value == pytest.approx(best)
        most_nodes = max(most_nodes, nodes)
    # No time at all: the start comes back with a valid bound.
    plan, value, bound, _ = mclp_branch_and_bound(cover, w, p, start, start_val, 0.0, time.perf_counter())
    assert value >= start_val and bound >= best - 1e-6 * best
    return most_nodes


@pytest.mark.parametrize("model", ["mclp", "pmedian"])
def test_time_limit_returns_a_plan_and_a_proven_gap(model):
    # Too short to prove anything: the plan comes back with its gap, never nothing.
    rng = np.random.default_rng(7)
    d, s = rng.random((400, 2)), rng.random((80, 2))
    cost = np.hypot(d[:, None, 0] - s[None, :, 0], d[:, None, 1] - s[None, :, 1])
    w = rng.integers(1, 100, 400).astype(float)
    if model == "mclp":
        res = MCLP.from_cost_matrix(cost, w, 0.1, 8).solve(time_limit=0.05)
    else:
        res = PMedian.from_cost_matrix(cost, w, 8).solve(time_limit=0.05)
    assert res.status in ("optimal", "time_limit") and res.objective is not None
    assert len(res.selected) == 8
    gap, bound = res.details["gap"], res.details["bound"]
    assert gap is not None and gap >= 0
    assert abs(bound - res.objective) == pytest.approx(gap * res.objective, rel=1e-6, abs=1e-9)
    full = (MCLP.from_cost_matrix(cost, w, 0.1, 8) if model == "mclp" else PMedian.from_cost_matrix(cost, w, 8)).solve()
    assert full.status == "optimal"
    if model == "mclp":
        assert res.objective <= full.objective + 1e-9 <= bound + 1e-6
    else:
        assert bound - 1e-6 <= full.objective <= res.objective + 1e-9
    if res.status == "time_limit":
        assert "%" in res.message


@pytest.mark.parametrize("seed", range(12))
def test_lscp_matches_brute_force(seed):
    rng, cost, w, fixed = instance(100 + seed, (5, 12), (3, 9))
    r = coverable_radius(cost, rng)
    res = LSCP.from_cost_matrix(cost, r, fixed=fixed).solve()
    assert res.status == "optimal"
    assert res.objective == brute_lscp(cost, r, fixed)
    assert set(fixed) <= set(res.selected)
    assert res.assignment["covered"].all()


@pytest.mark.parametrize("seed", range(12))
def test_mclp_matches_brute_force(seed):
    rng, cost, w, fixed = instance(200 + seed, (5, 12), (3, 9))
    r = float(np.quantile(cost, 0.25))
    p = len(fixed) + int(rng.integers(0, 3))
    res = MCLP.from_cost_matrix(cost, w, r, p, fixed=fixed).solve()
    assert res.status == "optimal"
    assert res.objective == pytest.approx(brute_mclp(cost, w, r, p, fixed))
    assert len(res.selected) == p


@pytest.mark.parametrize("seed", range(12))
def test_pmedian_matches_brute_force_even_with_tiny_candidate_lists(seed):
    rng, cost, w, fixed = instance(300 + seed, (5, 12), (3, 9))
    p = max(1, len(fixed)) + int(rng.integers(0, 3))
    p = min(p, cost.shape[1])
    expected = brute_pmedian(cost, w, p, fixed)
    # initial_k=1 forces the reduced model to grow its candidate lists over several rounds.
    for k in (1, None):
        res = PMedian.from_cost_matrix(cost, w, p, fixed=fixed, initial_k=k).solve()
        assert res.status == "optimal"
        assert res.objective == pytest.approx(expected, rel=1e-9)
        chosen = res.selected
        assert len(chosen) == p and set(fixed) <= set(chosen)
        # Every demand point goes to its nearest open site.
        assert np.allclose(res.assignment["cost"], cost[:, chosen].min(axis=1))


# --------------------------------------------------------------------------
# Against spopt (test extra)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spopt_solver():
    pytest.importorskip("spopt")
    pulp = pytest.importorskip("pulp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3 announces a rename of the CBC class
        return pulp.PULP_CBC_CMD(msg=False)


def spopt_objective(build, solver):
    """Objective of spopt's model, or None when spopt finds it infeasible."""
    import pulp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = build()
            model.solve(solver, results=False)
        except RuntimeError as exc:  # spopt raises on a non-optimal status
            assert "Infeasible" in str(exc)
            return None
    assert pulp.LpStatus[model.problem.status] == "Optimal"
    return pulp.value(model.problem.objective)


@pytest.mark.parametrize("seed", range(N_SPOPT))
def test_lscp_same_objective_as_spopt(seed, spopt_solver):
    from spopt.locate import LSCP as SpoptLSCP

    rng, cost, w, fixed = instance(seed)
    r = coverable_radius(cost, rng)
    pre = fixed if len(fixed) else None
    expected = spopt_objective(lambda: SpoptLSCP.from_cost_matrix(cost, r, predefined_facilities_arr=pre), spopt_solver)
    res = LSCP.from_cost_matrix(cost, r, fixed=fixed).solve()
    assert res.status == "optimal" and res.objective == expected


@pytest.mark.parametrize("seed", range(N_SPOPT))
def test_capacitated_lscp_same_objective_as_spopt(seed, spopt_solver):
    from spopt.locate import LSCP as SpoptLSCP

    rng, cost, w, _ = instance(1000 + seed)
    r = coverable_radius(cost, rng) * 1.5
    cap = rng.integers(100, 400, cost.shape[1]).astype(float)
    cap *= max(1.0, 1.2 * w.sum() / cap.sum())
    expected = spopt_objective(
        lambda: SpoptLSCP.from_cost_matrix(cost, r, demand_quantity_arr=w, facility_capacity_arr=cap), spopt_solver)
    res = LSCP.from_cost_matrix(cost, r, weights=w, capacity=cap).solve()
    if expected is None:  # capacity too small near some demand: both must say so
        assert res.status == "infeasible" and "capacit" in res.message
        return
    assert res.status == "optimal" and res.objective == expected
    # The flows honour capacities and serve every demand point in full.
    flows = res.flows.assign(q=lambda f: f["share"] * w[f["demand_id"].to_numpy()])
    used = flows.groupby("site_id")["q"].sum()
    assert (used <= cap[used.index.to_numpy()] + 1e-6).all()
    assert np.allclose(flows.groupby("demand_id")["share"].sum().reindex(range(len(w))), 1.0)


@pytest.mark.parametrize("seed", range(N_SPOPT))
def test_mclp_same_objective_as_spopt(seed, spopt_solver):
    from spopt.locate import MCLP as SpoptMCLP

    rng, cost, w, fixed = instance(2000 + seed)
    r = float(np.quantile(cost, rng.uniform(0.05, 0.3)))
    p = min(len(fixed) + int(rng.integers(1, 5)), cost.shape[1])
    pre = fixed if len(fixed) else None
    expected = spopt_objective(lambda: SpoptMCLP.from_cost_matrix(cost, w, r, p, predefined_facilities_arr=pre),
                               spopt_solver)
    res = MCLP.from_cost_matrix(cost, w, r, p, fixed=fixed).solve()
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", range(N_SPOPT))
def test_pmedian_same_objective_as_spopt(seed, spopt_solver):
    from spopt.locate import PMedian as SpoptPMedian

    rng, cost, w, fixed = instance(3000 + seed)
    p = min(len(fixed) + int(rng.integers(1, 5)), cost.shape[1])
    pre = fixed if len(fixed) else None
    expected = spopt_objective(lambda: SpoptPMedian.from_cost_matrix(cost, w, p, predefined_facilities_arr=pre),
                               spopt_solver)
    res = PMedian.from_cost_matrix(cost, w, p, fixed=fixed, initial_k=2).solve()
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("seed", range(N_SPOPT))
def test_capacitated_pmedian_same_objective_as_spopt(seed, spopt_solver):
    from spopt.locate import PMedian as SpoptPMedian

    rng, cost, w, _ = instance(4000 + seed, (8, 25), (4, 10))
    p = int(rng.integers(2, cost.shape[1] + 1))
    cap = rng.integers(50, 300, cost.shape[1]).astype(float)
    top = np.sort(cap)[::-1][:p].sum()
    cap *= max(1.0, 1.3 * w.sum() / top)
    cap = np.maximum(cap, w.max())
    expected = spopt_objective(lambda: SpoptPMedian.from_cost_matrix(cost, w, p, facility_capacities=cap),
                               spopt_solver)
    res = PMedian.from_cost_matrix(cost, w, p, capacity=cap, initial_k=2).solve()
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-7)
    load = res.assignment.groupby("site_id")["weight"].sum()
    assert (load.to_numpy() <= cap[load.index.to_numpy().astype(int)] + 1e-6).all()


# --------------------------------------------------------------------------
# Infeasibility, explanations, inputs
# --------------------------------------------------------------------------

def line_instance():
    """Demand at 0, 1, 2, 10 km on a line; candidates at 0.5, 1.5, 2.5 km."""
    demand = np.array([0.0, 1.0, 2.0, 10.0])
    sites = np.array([0.5, 1.5, 2.5])
    cost = np.abs(demand[:, None] - sites[None, :])
    return pd.DataFrame(cost, index=["v1", "v2", "v3", "far"], columns=["s1", "s2", "s3"])


def test_lscp_infeasible_names_the_demand_no_candidate_reaches():
    res = LSCP.from_cost_matrix(line_instance(), 1.0).solve()
    assert res.status == "infeasible"
    assert res.uncoverable == ["far"]
    assert "far" in res.message and "s3" in res.message  # nearest candidate named
    assert res.sites.empty
    with pytest.raises(InfeasibleSitingError, match="far"):
        res.raise_if_infeasible()


def test_lscp_partial_leaves_out_uncoverable_demand():
    res = LSCP.from_cost_matrix(line_instance(), 0.6, partial=True).solve()
    assert res.status == "optimal"
    assert res.uncoverable == ["far"]
    assert not res.assignment.loc["far", "covered"]
    assert res.assignment.drop("far")["covered"].all()
    assert res.objective == 2  # s1 covers v1, v2; s2 or s3 covers v3


def test_pmedian_infeasible_when_demand_reaches_nothing():
    cost = line_instance()
    cost.loc["far"] = np.nan  # e.g. a village with no road to any candidate
    res = PMedian.from_cost_matrix(cost, np.ones(4), 2).solve()
    assert res.status == "infeasible" and res.uncoverable == ["far"]
    assert "far" in res.message


def test_impossible_p_is_infeasible_not_a_crash():
    res = MCLP.from_cost_matrix(line_instance(), np.ones(4), 1.0, 1, fixed=["s1", "s2"]).solve()
    assert res.status == "infeasible" and "fixed" in res.message
    res = PMedian.from_cost_matrix(line_instance(), np.ones(4), 4).solve()
    assert res.status == "infeasible" and "only 3 candidate" in res.message


def test_capacity_infeasibility_is_explained():
    res = LSCP.from_cost_matrix(line_instance(), 8.0, partial=True, weights=[5, 5, 5, 5],
                                capacity=[4, 4, 4]).solve()
    assert res.status == "infeasible" and "exceeds the capacity" in res.message
    res = PMedian.from_cost_matrix(line_instance(), [5, 5, 50, 5], 3, capacity=[40, 40, 40]).solve()
    assert res.status == "infeasible" and "v3" in res.message


def test_lscp_reasons_name_unique_coverage_and_fixed_sites():
    res = LSCP.from_cost_matrix(line_instance(), 8.0, fixed=["s1"]).solve()
    sites = res.sites.set_index("site_id")
    assert sites.loc["s1", "status"] == "fixed" and "existing" in sites.loc["s1", "reason"]
    # 'far' (10 km) is only within 8 km of s3, so s3 must be new and says why.
    assert res.new_sites == ["s3"]
    assert sites.loc["s3", "unique_demand"] >= 1
    assert "no other selected site covers" in sites.loc["s3", "reason"]
    assert res.assignment.loc["far", "site_id"] == "s3"


def test_mclp_n_new_counts_only_new_sites_and_reasons_give_added_population():
    w = np.array([10.0, 20.0, 30.0, 1000.0])
    res = MCLP.from_cost_matrix(line_instance(), w, 0.5, n_new=1, fixed=["s1"]).solve()
    assert res.new_sites == ["s2"] or res.new_sites == ["s3"]  # both add v3 (s1 covers v1, v2)
    assert res.objective == 60.0
    new = res.sites.set_index("site_id").loc[res.new_sites[0]]
    assert new["unique_population"] == 30.0 and "adds population 30" in new["reason"]
    with pytest.raises(SitingError):
        MCLP.from_cost_matrix(line_instance(), w, 0.5, 2, n_new=1)


def test_pmedian_reason_quantifies_the_cost_of_closing_a_site():
    w = np.array([1.0, 1.0, 1.0, 5.0])
    res = PMedian.from_cost_matrix(line_instance(), w, 2).solve()
    assert res.objective == pytest.approx(0.5 + 0.5 + 0.5 + 5 * 7.5)
    reason = res.sites.set_index("site_id").loc["s3", "reason"]
    assert "would rise by" in reason


def test_long_and_wide_cost_tables_give_the_same_plan():
    wide = line_instance()
    long = wide.rename_axis("origin_id").reset_index().melt("origin_id", var_name="destination_id",
                                                             value_name="minutes")
    long = long.sample(frac=1.0, random_state=1)  # order must not matter
    long["status"] = "ok"
    a = PMedian.from_cost_matrix(wide, np.arange(1, 5), 2).solve()
    b = PMedian.from_cost_matrix(long, np.arange(1, 5), 2, demand_ids=list(wide.index),
                                 site_ids=list(wide.columns)).solve()
    assert a.objective == b.objective and a.selected == b.selected
    # A pair missing from a long table is unreachable.
    arr, d, s = cost_array(long[~((long.origin_id == "far") & (long.destination_id == "s3"))])
    assert np.isinf(arr[d.get_loc("far"), s.get_loc("s3")])


def test_bad_cost_input_is_reported():
    with pytest.raises(SitingError, match="≥ 0"):
        cost_array(np.array([[1.0, -2.0]]))
    with pytest.raises(SitingError, match="二维"):
        cost_array(np.ones(3))
    with pytest.raises(SitingError, match="不在候选点中"):
        LSCP.from_cost_matrix(np.ones((2, 2)), 1.0, fixed=["nope"])


def test_from_geodataframes_uses_metres_in_a_metric_crs():
    # Demand and candidates in lon/lat; 0.01° of latitude is about 1.1 km.
    lon, lat = 120.9, 29.5
    demand = gpd.GeoDataFrame({"vid": ["a", "b", "c"], "pop": [100, 200, 300]},
                              geometry=shapely.points([[lon, lat], [lon, lat + 0.01], [lon, lat + 0.05]]),
                              crs="EPSG:4490")
    cands = gpd.GeoDataFrame({"sid": ["x", "y"], "existing": [True, False]},
                             geometry=shapely.points([[lon, lat + 0.005], [lon, lat + 0.05]]),
                             crs="EPSG:4490")
    res = LSCP.from_geodataframes(demand, cands, 1000.0, demand_id="vid", site_id="sid", weights="pop",
                                  fixed="existing").solve()
    assert res.status == "optimal" and res.selected == ["x", "y"]
    assert res.assignment.loc["b", "cost"] == pytest.approx(555, abs=5)  # ~0.005° of latitude
    res = MCLP.from_geodataframes(demand, cands, "pop", 600.0, 1, demand_id="vid", site_id="sid").solve()
    assert res.selected == ["x"] and res.objective == 300  # x reaches a and b (555 m), y only c
    res = MCLP.from_geodataframes(demand.assign(pop=[100, 200, 400]), cands, "pop", 600.0, 1, demand_id="vid",
                                  site_id="sid").solve()
    assert res.selected == ["y"] and res.objective == 400
    res = PMedian.from_geodataframes(demand, cands, "pop", 1, demand_id="vid", site_id="sid").solve()
    assert res.selected == ["y"]


def test_candidate_generators(towns):
    grid = grid_candidates(towns, 1000.0)
    assert len(grid) > 10 and grid.crs == towns.crs
    assert grid.within(towns.union_all().buffer(1e-9)).all()
    assert grid["site_id"].is_unique
    seats = township_seat_candidates(towns)
    assert list(seats["site_id"]) == list(towns["code"])
    assert seats.within(towns.geometry.reset_index(drop=True), align=False).all()
    xy = np.array([[120.80, 29.40], [120.80001, 29.40001], [120.9, 29.45]])
    nodes = network_node_candidates(xy, "EPSG:4490", min_spacing_m=50)
    assert len(nodes) == 2  # the first two nodes are ~1.4 m apart
    both = combine_candidates(seats, grid)
    assert len(both) == len(seats) + len(grid) and set(both["origin"]) == {0, 1}
    with pytest.raises(SitingError):
        combine_candidates(seats, seats)
