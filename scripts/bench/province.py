"""Benchmark: the province run on Dask with 1 and 2 workers, against the same work serially without Dask.

Usage::

    python scripts/bench/province.py [--counties 4] [--workers 1 2]

Input: ``--counties N`` county tasks made from the sample layer sets in
``layers/`` taken in turn (330624, 330727, 330624 …) under distinct labels,
so each is computed (no cache) and all have real sizes. When the sample
builder has made the other Zhejiang counties (``geoplan sample build --all
--out DIR``), ``--layers DIR --counties 90`` runs the province; with only
the two samples it repeats them.

What is timed: the same :func:`geoplan.province.run_province` call, (a)
with no client — the counties one after another in this process, the
baseline without Dask; (b) on a fresh ``LocalCluster`` of 1 and of 2 worker
processes (one thread each). Cluster start-up is timed separately. Overhead
of Dask = (1-worker time − serial time) / serial time; speed-up = 1-worker
time / 2-worker time. ``task_s_sum`` adds up the tasks' own durations and
``load_avg`` is the machine's 1-minute load after each run: on a shared
machine (load above the core count) parallel workers only share the same
cores, and the speed-up measures the contention, not Dask. Peak memory per worker is each worker process's
maximum resident set size (``ru_maxrss``) after the run; for the serial run,
this process's.

Every county's result is checked equal across the three runs before any
figure is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geoplan.layers.sample import layers_dir  # noqa: E402
from geoplan.province import county_inputs, dask_client, run_province  # noqa: E402
from geoplan.province.inputs import SAMPLE_TEMPLATE, province_counties  # noqa: E402


def _peak_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def county_tasks(n: int, folders=()):
    folders = list(folders) or [layers_dir()]
    zhejiang = province_counties("33")
    todo, _ = county_inputs(folders, codes=None, plans_dir=ROOT / "plans", template=SAMPLE_TEMPLATE)
    have = {c.code: c for c in todo}
    built = [c for c in zhejiang if c in have]
    if len(built) >= min(n, len(zhejiang) - 2):
        # The county outlines (DataV, 2021) lack 临平区 and 钱塘区, so at most 88 of the 90 can be built.
        missing = [c for c in zhejiang if c not in have]
        return [have[c] for c in built[:n]], f"Zhejiang counties (not built: {', '.join(missing) or 'none'})"
    base = [have[c] for c in sorted(have)]
    tasks = [dataclasses.replace(base[i % len(base)], label=f"{base[i % len(base)].code}-{i + 1:02d}")
             for i in range(n)]
    return tasks, f"the {len(base)} sample counties repeated"


def signature(run):
    return {r.label: (r.evaluation.townships.to_csv(), r.evaluation.summary.to_csv()) for r in run.ok}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--counties", type=int, default=4, help="County tasks (default 4: about 2 minutes in all).")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--memory-limit", default="3GB", help="Per worker.")
    ap.add_argument("--layers", nargs="+", type=Path, default=[],
                    help="Folders of county layer sets (default: layers/). With the 88 other counties built by "
                         "`geoplan sample build --all --out DIR`, give layers/ and DIR (or DIR alone) to run Zhejiang.")
    args = ap.parse_args()
    tasks, what = county_tasks(args.counties, args.layers)
    print(f"{len(tasks)} county tasks ({what}); machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n")

    rows, reference = [], None
    t0 = time.perf_counter()
    serial = run_province(tasks)
    serial_s = time.perf_counter() - t0
    assert not serial.failed, [r.reason for r in serial.failed]
    reference = signature(serial)
    rows.append({"run": "serial, no Dask", "workers": 1, "start_s": 0.0, "wall_s": serial_s,
                 "task_s_sum": sum(r.seconds for r in serial.ok), "peak_mb_per_worker": _peak_mb(),
                 "load_avg": os.getloadavg()[0]})
    for n in args.workers:
        t0 = time.perf_counter()
        with dask_client(workers=n, memory_limit=args.memory_limit, dashboard=False) as client:
            client.wait_for_workers(n)
            start_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            run = run_province(tasks, client=client)
            wall = time.perf_counter() - t1
            peaks = client.run(_peak_mb)
        assert not run.failed, [r.reason for r in run.failed]
        assert signature(run) == reference, "a county's result differs between serial and Dask"
        used = len({r.worker for r in run.ok})
        rows.append({"run": f"Dask LocalCluster, {n} worker(s)", "workers": n, "start_s": start_s, "wall_s": wall,
                     "task_s_sum": sum(r.seconds for r in run.ok), "peak_mb_per_worker": max(peaks.values()),
                     "workers_used": used, "load_avg": os.getloadavg()[0]})
    table = pd.DataFrame(rows)
    one = table.loc[table["workers"].eq(1) & table["run"].str.startswith("Dask"), "wall_s"]
    table["speed_up_vs_1_worker"] = (one.iloc[0] / table["wall_s"]).round(2) if len(one) else float("nan")
    table["speed_up_vs_serial"] = (serial_s / table["wall_s"]).round(2)
    per_county = serial_s / len(tasks)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))
    if len(one):
        print(f"\nDask overhead with 1 worker: {100 * (one.iloc[0] - serial_s) / serial_s:+.1f} % of the serial time")
    print(f"serial time per county: {per_county:.1f} s → 90 counties ≈ {90 * per_county / 60:.1f} min serially, "
          f"≈ {90 * per_county / 60 / 2:.1f} min on 2 workers if the speed-up holds")
    print("results identical across serial and Dask runs: yes")


if __name__ == "__main__":
    main()
