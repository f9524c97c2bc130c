"""Benchmark: geoplan.coverage.siting (heuristics, Lagrangian bounds, HiGHS) vs spopt (PuLP + CBC).

Usage::

    python scripts/bench/siting.py [--demand 5000] [--sites 500] [--models lscp,mclp,pmedian]
                                   [--radius 2500] [--p-mclp 30] [--p-median 100]
                                   [--spopt-time-limit 1800]

One random instance (seeded): demand points and candidate sites uniform in a
20 km × 20 km square, Euclidean costs in metres, integer populations, the
first 5 candidates fixed open as existing facilities. Each model is built and
solved once by each library on the same cost matrix; the time includes
building the model (spopt spends much of its time there). The objectives
must agree; the script prints the speed ratio spopt / geoplan.

spopt's p-median creates one binary variable and one constraint per
demand–site pair (2.5 million at 5,000 × 500), which needs many gigabytes
of memory in PuLP; ``--spopt-time-limit`` bounds CBC's solve time and
``--models`` lets you leave a model out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geoplan.coverage.siting import LSCP, MCLP, PMedian  # noqa: E402


def instance(m, n, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.random((m, 2)) * 20000
    s = rng.random((n, 2)) * 20000
    return cdist(d, s), rng.integers(1, 200, m).astype(float)


def run_spopt(model, cost, w, fixed, args):
    import pulp
    from spopt.locate import LSCP as SL, MCLP as SM, PMedian as SP

    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=args.spopt_time_limit)
    t0 = time.perf_counter()
    if model == "lscp":
        m = SL.from_cost_matrix(cost, args.radius, predefined_facilities_arr=fixed)
    elif model == "mclp":
        m = SM.from_cost_matrix(cost, w, args.radius, args.p_mclp, predefined_facilities_arr=fixed)
    else:
        m = SP.from_cost_matrix(cost, w, args.p_median, predefined_facilities_arr=fixed)
    built = time.perf_counter() - t0
    m.solve(solver, results=False)
    total = time.perf_counter() - t0
    status = pulp.LpStatus[m.problem.status]
    return total, built, pulp.value(m.problem.objective), status


def run_geoplan(model, cost, w, fixed, args):
    t0 = time.perf_counter()
    if model == "lscp":
        res = LSCP.from_cost_matrix(cost, args.radius, fixed=fixed).solve()
    elif model == "mclp":
        res = MCLP.from_cost_matrix(cost, w, args.radius, args.p_mclp, fixed=fixed).solve()
    else:
        res = PMedian.from_cost_matrix(cost, w, args.p_median, fixed=fixed).solve()
    return time.perf_counter() - t0, res


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def issue_benchmark(args):
    """The issue's hard instance: 5,000 demand points and 500 candidates uniform in the unit square
    (seed 0), populations 1–99, MCLP at radius 0.12 and p-median, p = 20, a time limit and a target
    gap; geoplan's time, objective and proven gap, and spopt/CBC under the same time limit."""
    rng = np.random.default_rng(0)
    d, s = rng.random((5000, 2)), rng.random((500, 2))
    w = rng.integers(1, 100, 5000).astype(float)
    cost = cdist(d, s)
    print(f"issue instance: 5000 x 500 unit square, p = 20, MCLP radius 0.12; time limit {args.time_limit:g} s, "
          f"target gap {args.gap:.0%} ({load()})", flush=True)
    for model in args.models.split(","):
        if model == "lscp":
            continue
        t0 = time.perf_counter()
        m = (MCLP.from_cost_matrix(cost, w, 0.12, 20) if model == "mclp" else PMedian.from_cost_matrix(cost, w, 20))
        res = m.solve(time_limit=args.time_limit, mip_gap=args.gap)
        t = time.perf_counter() - t0
        d_ = res.details
        gap = "unknown" if d_.get("gap") is None else f"{d_['gap']:.2%}"
        branch = (f"; branch and bound {d_['nodes']} node(s), done after {d_['branch_seconds']:.1f} s"
                  if "nodes" in d_ else "")
        print(f"\n{model}: geoplan {t:6.1f} s  objective {res.objective:,.2f}  proven gap {gap} "
              f"(bound {d_.get('bound') or float('nan'):,.2f}; {res.status}; heuristic {d_['heuristic_objective']:,.2f} "
              f"after {d_['heuristic_seconds']:.1f} s{branch}; {load()})", flush=True)
        if args.no_spopt or (model == "pmedian" and not args.spopt_pmedian):
            print("       spopt: not run" + ("" if args.no_spopt else
                  " (its p-median has 2.5M binaries here; --spopt-pmedian to try)"), flush=True)
            continue
        ns = argparse.Namespace(radius=0.12, p_mclp=20, p_median=20, spopt_time_limit=args.time_limit)
        t_sp, t_build, obj, status = run_spopt(model, cost, w, None, ns)
        shown = "none" if obj is None else f"{obj:,.2f}"
        print(f"       spopt  {t_sp:6.1f} s  objective {shown}  (PuLP status {status}, which PuLP also reports for a plan CBC returns at its {args.time_limit:g} s "
              f"limit; model building {t_build:.1f} s); geoplan / spopt objective "
              f"{'n/a' if obj is None else f'{res.objective / obj:.4f}'}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demand", type=int, default=5000)
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--models", default="lscp,mclp,pmedian")
    ap.add_argument("--radius", type=float, default=2500.0, help="service radius in metres (LSCP, MCLP)")
    ap.add_argument("--p-mclp", type=int, default=30, help="open sites in MCLP, fixed included")
    ap.add_argument("--p-median", type=int, default=100, help="open sites in p-median, fixed included")
    ap.add_argument("--spopt-time-limit", type=float, default=1800.0)
    ap.add_argument("--no-spopt", action="store_true", help="time geoplan only")
    ap.add_argument("--issue", action="store_true", help="the issue's unit-square instance (p = 20, time limit)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="with --issue: seconds per model")
    ap.add_argument("--gap", type=float, default=0.01, help="with --issue: target proven gap")
    ap.add_argument("--spopt-pmedian", action="store_true", help="with --issue: also run spopt's p-median")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.issue:
        issue_benchmark(args)
        return

    cost, w = instance(args.demand, args.sites)
    fixed = np.arange(5)
    print(f"instance: {args.demand} demand points x {args.sites} candidates, 5 fixed; "
          f"radius {args.radius:g} m, MCLP p={args.p_mclp}, p-median p={args.p_median}", flush=True)
    for model in args.models.split(","):
        t_geo, res = run_geoplan(model, cost, w, fixed, args)
        d = res.details
        size = f"{d.get('rows')} rows x {d.get('columns')} columns"
        if model == "pmedian":
            size += (f", {d['assignment_variables']:,} of {d['full_assignment_variables']:,} assignment "
                     f"variables, {d['rounds']} round(s)")
        if res.objective is None:
            print(f"\n{model}: geoplan {t_geo:8.1f} s  {res.status}: {res.message}", flush=True)
            continue
        print(f"\n{model}: geoplan {t_geo:8.1f} s  objective {res.objective:,.4f}  ({res.status}; {size})",
              flush=True)
        if args.no_spopt:
            continue
        try:
            t_sp, t_build, obj, status = run_spopt(model, cost, w, fixed, args)
        except MemoryError:
            print("        spopt: out of memory", flush=True)
            continue
        same = obj is not None and abs(obj - res.objective) <= 1e-6 * max(1.0, abs(obj))
        shown = "none" if obj is None else f"{obj:,.4f}"
        print(f"       spopt   {t_sp:8.1f} s  objective {shown}  ({status}; model building {t_build:.1f} s)",
              flush=True)
        print(f"       same objective: {'yes' if same else 'NO'}; speed spopt / geoplan = {t_sp / t_geo:.1f}x "
              f"(target >= 5x: {'met' if t_sp / t_geo >= 5 and same else 'NOT met'})", flush=True)


if __name__ == "__main__":
    main()
