"""Routing benchmark: PyVRP, LKH-3 (elkai), their combination and OR-Tools on the same instances.

Instances:

* TSP with a known optimum: points on a circle (the polygon is optimal) and
  a 2k × 2k grid with unit spacing (optimum = number of points). TSPLIB files
  such as pr1002 are not shipped by any PyPI package found (tsplib95 is only
  a parser), and this machine has no other network, so these stand in.
* Capacitated-by-duration VRP: random points in a 60 × 60 km square, one
  base, 20–30 min service per stop, 8-hour days (50, 200, 1,000 stops); the
  best known cost is the best any method found.
* The sample county 330624: every marker, 2 teams (PyVRP vs combined only;
  the county matrix comes from the road network through geoplan.inspection.planning).

Usage: python scripts/bench/routing.py [--time 10] [--quick] [--campaign [--long 60]]

``--campaign`` runs only the 1,000-stop campaign instance (about 75 team-days):
``combined`` at ``--time`` seconds against a long ``combined`` run (``--long``
seconds, the reference "best found"), PyVRP alone, the LKH split alone and
OR-Tools (if installed), each on the same matrix, and prints the ratios.
Prints one line per instance and method: cost, gap to the optimum / best
known and wall-clock seconds. OR-Tools is needed only here (pip install ortools).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from geoplan.inspection import routing as R


def euclid(xy):
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def circle(n, radius=10000):
    ang = np.random.default_rng(0).permutation(n) * 2 * np.pi / n
    xy = np.column_stack([np.cos(ang), np.sin(ang)]) * radius
    m = np.rint(euclid(xy)).astype(np.int64)
    return m, R.tour_length(m, np.argsort(ang))


def grid(k):
    xs, ys = np.meshgrid(np.arange(k), np.arange(k))
    xy = np.column_stack([xs.ravel(), ys.ravel()]).astype(float)
    xy = xy[np.random.default_rng(1).permutation(len(xy))]
    return np.rint(euclid(xy) * 100).astype(np.int64), 100 * k * k


def vrp(n, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.random((n + 1, 2)) * 60.0            # km
    m = euclid(xy) * 1.3 / 40 * 60                 # minutes: detour factor 1.3 at 40 km/h
    service = np.concatenate([[0], rng.uniform(20, 30, n)])
    return m, service


def ortools_solve(m, service, vehicles, max_duration, fixed_cost, seconds, resolution):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    mi = np.rint(m / resolution).astype(np.int64)
    si = np.rint(service / resolution).astype(np.int64)
    n = len(m)
    man = pywrapcp.RoutingIndexManager(n, vehicles, 0)
    model = pywrapcp.RoutingModel(man)
    dist = mi.tolist()
    cb = model.RegisterTransitCallback(lambda i, j: dist[man.IndexToNode(i)][man.IndexToNode(j)])
    model.SetArcCostEvaluatorOfAllVehicles(cb)
    if max_duration is not None:
        tcb = model.RegisterTransitCallback(
            lambda i, j: dist[man.IndexToNode(i)][man.IndexToNode(j)] + int(si[man.IndexToNode(i)]))
        model.AddDimension(tcb, 0, int(max_duration / resolution), True, "time")
    if fixed_cost:
        model.SetFixedCostOfAllVehicles(int(fixed_cost / resolution))
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    p.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    p.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = model.SolveWithParameters(p)
    if sol is None:
        return float("nan"), 0
    total, used = 0.0, 0
    for v in range(vehicles):
        i = model.Start(v)
        route = [0]
        while not model.IsEnd(i):
            i = sol.Value(model.NextVar(i))
            route.append(man.IndexToNode(i))
        if len(route) > 2:
            used += 1
            total += R.tour_length(m, route[:-1])
    return total, used


def run(name, m, service, vehicles, max_duration, fixed_cost, seconds, resolution, optimum=None):
    rows = []
    for method in ("pyvrp", "lkh", "combined"):
        t = time.perf_counter()
        try:
            s = R.solve_vrp(m, service, [0], [vehicles], max_duration=max_duration, fixed_cost=fixed_cost,
                            time_limit=seconds, method=method, resolution=resolution, seed=1)
            rows.append((method, s.travel, s.n_routes, time.perf_counter() - t))
        except R.RoutingError as exc:
            rows.append((method, float("nan"), 0, time.perf_counter() - t))
            print(f"  {method}: {exc}")
    t = time.perf_counter()
    cost, used = ortools_solve(m, service, vehicles, max_duration, fixed_cost, seconds, resolution)
    rows.append(("ortools-gls", cost, used, time.perf_counter() - t))
    best = optimum if optimum is not None else np.nanmin([r[1] for r in rows])
    label = "optimum" if optimum is not None else "best found"
    print(f"{name}  ({label} {best:,.1f})")
    for method, cost, routes, sec in rows:
        gap = 100 * (cost - best) / best
        print(f"  {method:<12} cost {cost:>14,.1f}  gap {gap:6.2f} %  routes {routes:3d}  {sec:6.1f} s")


def county(seconds):
    from geoplan.inspection.planning import plan_for_county
    from geoplan.layers.sample import load_sample

    c = load_sample("330624")
    print("county 330624, all markers, 2 teams (drive minutes incl. team-day count)")
    for method in ("pyvrp", "combined"):
        t = time.perf_counter()
        r = plan_for_county(c, 2, time_limit=seconds, all_markers=True, method=method)
        print(f"  {method:<12} drive {r.routes['drive_min'].sum():8.1f} min  team-days {len(r.routes):3d}  "
              f"{time.perf_counter() - t:6.1f} s")


def campaign(seconds, long_seconds, seeds=(1, 2)):
    m, s = vrp(1000)
    kw = dict(max_duration=480, fixed_cost=120, resolution=1 / 60)
    vehicles = 200
    print(f"campaign: 1,000 stops, one base, 8 h days, {vehicles} team-days available")
    rows = []

    def one(label, method, secs, seed):
        t = time.perf_counter()
        try:
            sol = R.solve_vrp(m, s, [0], [vehicles], time_limit=secs, method=method, seed=seed, **kw)
            cost = sol.travel + kw["fixed_cost"] * sol.n_routes
            rows.append((label, cost, sol.n_routes, time.perf_counter() - t))
        except R.RoutingError as exc:
            rows.append((label, float("nan"), 0, time.perf_counter() - t))
            print(f"  {label}: {exc}")

    one(f"combined {long_seconds:g}s (long run)", "combined", long_seconds, 1)
    for seed in seeds:
        one(f"combined {seconds:g}s seed {seed}", "combined", seconds, seed)
        one(f"pyvrp {seconds:g}s seed {seed}", "pyvrp", seconds, seed)
    one(f"lkh {seconds:g}s", "lkh", seconds, 1)
    try:
        t = time.perf_counter()
        cost, used = ortools_solve(m, s, vehicles, 480, 120, seconds, 1 / 60)
        rows.append((f"ortools-gls {seconds:g}s", cost + 120 * used, used, time.perf_counter() - t))
    except ImportError:
        print("  OR-Tools not installed (pip install ortools): skipped")
    best = np.nanmin([r[1] for r in rows])
    print(f"cost = drive minutes + 120 per team-day; best found {best:,.1f}")
    for label, cost, routes, sec in rows:
        print(f"  {label:<28} cost {cost:>10,.1f}  vs best {100 * (cost - best) / best:6.2f} %  "
              f"team-days {routes:3d}  {sec:6.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=10.0, help="seconds per solver and instance")
    ap.add_argument("--quick", action="store_true", help="small instances only")
    ap.add_argument("--campaign", action="store_true", help="only the 1,000-stop campaign instance")
    ap.add_argument("--long", type=float, default=60.0, help="seconds of the reference run (--campaign)")
    a = ap.parse_args()
    if a.campaign:
        campaign(a.time, a.long)
        return
    sizes = (50, 200) if a.quick else (50, 200, 1000)
    for n in ((100, 400) if a.quick else (100, 1000)):
        m, opt = circle(n)
        run(f"TSP circle n={n}", m, np.zeros(n), 1, None, 0, a.time, 1.0, opt)
    k = 10 if a.quick else 32
    m, opt = grid(k)
    run(f"TSP grid {k}x{k}", m, np.zeros(k * k), 1, None, 0, a.time, 1.0, opt)
    for n in sizes:
        m, s = vrp(n)
        run(f"VRP n={n} stops, 8 h days", m, s, max(4, n // 5), 480, 120, a.time, 1 / 60)
    county(a.time)


if __name__ == "__main__":
    main()
