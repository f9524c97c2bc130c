"""Benchmark: geoplan.coverage.siting (HiGHS via scipy) vs spopt (PuLP + CBC).

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
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

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
