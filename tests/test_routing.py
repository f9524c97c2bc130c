"""Routing: exact small tours, LKH-3 against brute force, VRP constraints."""

import itertools
import math

import numpy as np
import pytest

from geoplan.inspection import routing as R


def _euclid(n, seed, scale=100.0):
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * scale
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def _brute(m):
    n = len(m)
    return min(R.tour_length(m, (0,) + p) for p in itertools.permutations(range(1, n)))


@pytest.mark.parametrize("n", [4, 6, 8])
def test_exact_tsp_matches_brute_force_asymmetric(n):
    rng = np.random.default_rng(n)
    m = rng.random((n, n)) * 50
    np.fill_diagonal(m, 0)
    tour = R.exact_tsp(m)
    assert sorted(tour) == list(range(n)) and tour[0] == 0
    assert R.tour_length(m, tour) == pytest.approx(_brute(m))


@pytest.mark.parametrize("seed", [1, 2])
def test_lkh_optimal_on_brute_forceable_instances(seed):
    # 13 locations exceed the exact cut-off, so LKH-3 itself runs
    m = np.rint(_euclid(13, seed) * 100).astype(np.int64)
    tour = R.lkh_tour(m, runs=1)
    assert sorted(tour) == list(range(13))
    # Held–Karp, itself checked against brute force above
    assert R.tour_length(m, tour) == pytest.approx(R.tour_length(m, R.exact_tsp(m)))


def test_lkh_solves_asymmetric_matrix():
    rng = np.random.default_rng(5)
    m = np.rint(rng.random((13, 13)) * 1000).astype(np.int64)
    np.fill_diagonal(m, 0)
    tour = R.lkh_tour(m)
    assert R.tour_length(m, tour) == pytest.approx(R.tour_length(m, R.exact_tsp(m)))


def test_lkh_optimal_on_circle():
    # points on a circle: the optimal tour is the polygon, length known exactly
    n = 60
    ang = np.random.default_rng(0).permutation(n) * 2 * np.pi / n
    xy = np.column_stack([np.cos(ang), np.sin(ang)]) * 10000
    m = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    order = np.argsort(ang)
    best = R.tour_length(m, order)
    assert R.tour_length(m, R.lkh_tour(m, time_limit=2)) == pytest.approx(best)


@pytest.mark.parametrize("method", ["combined", "pyvrp", "lkh"])
def test_vrp_constraints(method):
    m = _euclid(42, 7)          # 2 depots + 40 clients, minutes
    service = np.full(42, 10.0)
    sol = R.solve_vrp(m, service, [0, 1], [6, 6], max_duration=240, fixed_cost=30, time_limit=1.5,
                      method=method, resolution=0.01, seed=1)
    visited = sorted(c for r in sol.routes for c in r.clients)
    assert visited == list(range(40))                     # every client exactly once
    for r in sol.routes:
        assert r.depot in (0, 1)
        assert r.duration <= 240 + 1e-6                    # no route over the limit
        locs = [c + 2 for c in r.clients]
        assert r.travel == pytest.approx(R.tour_length(m, [r.depot] + locs))  # starts and ends at depot
        assert r.service == pytest.approx(10.0 * len(r.clients))
    assert sum(r.depot == 0 for r in sol.routes) <= 6


def test_single_route_tour_matches_brute_force():
    m = _euclid(9, 11)
    sol = R.solve_vrp(m, np.zeros(9), [0], [1], time_limit=1, resolution=0.001)
    assert sol.n_routes == 1
    assert sol.travel == pytest.approx(_brute(m), rel=1e-4)


def test_combined_not_worse_than_lkh_split():
    m = _euclid(80, 3)
    sol = R.solve_vrp(m, np.full(80, 5.0), [0], [20], max_duration=300, time_limit=2, resolution=0.01)
    if "lkh_split" in sol.stats:
        assert sol.stats["polished"] <= sol.stats["lkh_split"] + 1e-6


def test_split_is_optimal_for_given_order():
    m = _euclid(9, 4)
    order = list(range(1, 9))
    service = np.zeros(9)
    routes = R.split_tour(m, order, service, [0], max_duration=150)
    cost = sum(R.tour_length(m, [0] + cl) for _, cl in routes)
    best = math.inf
    for cuts in itertools.product([0, 1], repeat=7):   # every way to cut the sequence
        segs, cur = [], [order[0]]
        for c, nxt in zip(cuts, order[1:]):
            if c:
                segs.append(cur)
                cur = []
            cur.append(nxt)
        segs.append(cur)
        lens = [R.tour_length(m, [0] + s) for s in segs]
        if max(lens) <= 150:
            best = min(best, sum(lens))
    assert cost == pytest.approx(best)


def test_client_beyond_limit_and_too_few_vehicles():
    m = _euclid(12, 2)
    with pytest.raises(R.RoutingError, match="即使单独"):
        R.solve_vrp(m, np.full(12, 500.0), [0], [5], max_duration=100, time_limit=0.5)
    with pytest.raises(R.RoutingError, match="need [0-9]+ routes") as err:
        R.solve_vrp(m, np.full(12, 30.0), [0], [1], max_duration=200, time_limit=0.5, method="pyvrp")
    assert err.value.routes_needed >= 2
    # with as many vehicles as the error asked for, the same problem solves
    ok = R.solve_vrp(m, np.full(12, 30.0), [0], [err.value.routes_needed], max_duration=200, time_limit=0.5,
                     method="pyvrp")
    assert ok.feasible and ok.n_routes <= err.value.routes_needed
    bad = m.copy()
    bad[1, 2] = np.nan
    with pytest.raises(R.RoutingError, match="NaN"):
        R.solve_vrp(bad, np.zeros(12), [0], [1])


@pytest.mark.parametrize("method", ["combined", "pyvrp"])
def test_time_limit_returns_a_feasible_plan_not_an_error(method):
    # many short routes and a time limit far too short for PyVRP to find a
    # feasible plan alone: the LKH split must be returned instead of an error
    rng = np.random.default_rng(3)
    xy = rng.random((301, 2)) * 60.0
    m = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 1.3 / 40 * 60
    service = np.concatenate([[0], rng.uniform(20, 30, 300)])
    sol = R.solve_vrp(m, service, [0], [150], max_duration=480, fixed_cost=120, time_limit=0.3,
                      method=method, resolution=1 / 60)
    assert sol.feasible
    assert sorted(c for r in sol.routes for c in r.clients) == list(range(300))
    assert all(r.duration <= 480 + 1e-6 for r in sol.routes)


@pytest.mark.parametrize("method", ["combined", "lkh"])
def test_cost_matrix_steers_routes_and_durations_hold(method):
    # clients of two "lines" interleaved in space; changing line is expensive in the
    # cost matrix only, so no route mixes them, and every route still fits the limit
    rng = np.random.default_rng(5)
    xy = rng.random((41, 2)) * 40.0
    m = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    label = np.concatenate([[-1], np.arange(40) % 2])
    cost = m + 1000.0 * ((label[:, None] != label[None, :]) & (label[:, None] >= 0) & (label[None, :] >= 0))
    service = np.concatenate([[0], np.full(40, 10.0)])
    sol = R.solve_vrp(m, service, [0], [20], max_duration=300, fixed_cost=50, time_limit=1.0, method=method,
                      cost_matrix=cost)
    assert sol.feasible
    for r in sol.routes:
        assert len({label[c + 1] for c in r.clients}) == 1
        assert r.duration <= 300 + 1e-6
        assert r.travel == pytest.approx(R.tour_length(m, [0] + [c + 1 for c in r.clients]))
