"""Benchmark of ``geoplan gaz search`` at national size with its persistent index (issue 17).

Database: the 2023 official township and village lists of the whole country
(data/raw/divisions_2023/, shipped; 654k names once the rule breakers are
rejected), imported through the same path as ``geoplan gaz import`` — or an
existing gazetteer given with ``--db`` (it is only read).

Prints:

1. the index **cold** (built from the database and written to its cache
   file) and **warm** (memory-mapped from the file), in-process;
2. ``geoplan gaz search`` as a new process: the first call after a change
   (it rebuilds), then warm calls, wall and CPU time; and the floor no call
   can beat, a process that only imports the command line (``import
   geoplan.cli``), so the search's own share is the difference;
3. in-process query times, p50/p95 per kind (exact, prefix, pinyin,
   initials, same sound, one-character typo) on the warm index.

Targets (issue 17): a CLI call under 0.5 s at 660k names, p95 under 20 ms. On a loaded
machine read the CPU times: wall time there mostly measures the other processes.

Run: python scripts/bench/gazetteer_search.py [--db g.sqlite] [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.gazetteer import romanize
from geoplan.gazetteer import search as gs
from geoplan.gazetteer import store as gz

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data" / "raw" / "divisions_2023"


def build(db: Path, tmp: Path) -> None:
    """The national lists imported as a clerk would (categories from the codes, parents and rules checked)."""
    store = gz.Gazetteer(db, create=True)
    t0 = time.perf_counter()
    for name, parent in (("streets", "areaCode"), ("villages", "streetCode")):
        path = tmp / f"{name}.csv"
        pd.read_csv(RAW / f"{name}.csv.gz", dtype=str).to_csv(path, index=False)
        df, labels = gz.read_import_table(path, {"name_id": "code", "parent_code": parent}, category_from_code="code")
        store.apply_import(store.plan_import(df, labels, str(path)), who="bench")
    print(f"imported {store.count():,} names in {time.perf_counter() - t0:.0f} s")
    store.close()


def _run(args: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_cli(db: Path, cache: Path) -> None:
    env = dict(os.environ, GEOPLAN_CACHE=str(cache), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "geoplan.cli", "gaz", "search"]
    for f in cache.glob("search-*"):
        f.unlink()
    cold = _run(cmd + ["回山镇", "--db", str(db)], env)
    warm = [_run(cmd + [q, "--db", str(db)], env) for q in ("回山镇", "如岙", "xc", "会山", "回三镇")]
    floor = [_run([sys.executable, "-c", "import geoplan.cli"], env) for _ in range(3)]
    # What a warm call loads: pandas (a quarter of a second) must not be among it.
    probe = ("import sys\nfrom geoplan.cli.main import main\ntry:\n    main(sys.argv[1:], standalone_mode=False)\n"
             "finally:\n    print(*(m for m in ('pandas', 'geopandas') if m in sys.modules), file=sys.stderr)")
    loaded = subprocess.run([sys.executable, "-c", probe, "gaz", "search", "回山镇", "--db", str(db)], env=env,
                            check=True, capture_output=True, text=True).stderr.split()
    w = np.array(warm)
    f = np.array(floor)
    print(f"`geoplan gaz search` as a new process, first call after a change (rebuilds): {cold[0]:.2f} s wall, "
          f"{cold[1]:.2f} s CPU")
    print(f"  warm calls: median {np.median(w[:, 0]):.2f} s wall, {np.median(w[:, 1]):.2f} s CPU "
          f"(each: {', '.join(f'{x:.2f}' for x in w[:, 0])} s wall)")
    print(f"  floor, `import geoplan.cli` alone: median {np.median(f[:, 0]):.2f} s wall, {np.median(f[:, 1]):.2f} s CPU"
          f" — the search's own share {np.median(w[:, 1]) - np.median(f[:, 1]):.2f} s CPU")
    print(f"  a warm call imports {' and '.join(loaded) if loaded else 'neither pandas nor geopandas'}")


def bench_queries(index: gs.SearchIndex, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    current = np.flatnonzero(index.current)
    picks = [int(current[rng.randrange(len(current))]) for _ in range(n)]
    names = [index.names[i] for i in picks]
    same: dict[str, list[str]] = {}
    for ch in sorted(index.postings):
        key = romanize.pinyin_key(ch)
        if key.isascii() and key.isalpha():
            same.setdefault(key, []).append(ch)

    def homophone(name):
        for j in rng.sample(range(len(name)), len(name)):
            others = [c for c in same.get(romanize.pinyin_key(name[j]), []) if c != name[j]]
            if others:
                return name[:j] + rng.choice(others) + name[j + 1:]
        return name

    def typo(name):
        j = rng.randrange(max(1, len(name) - 1))
        return name[:j] + rng.choice("东南西北山水林田石金新安平永和") + name[j + 1:]

    kinds = {"exact": names, "prefix": [x[:2] for x in names],
             "pinyin": [index.pinyin[i][: max(4, len(index.pinyin[i]) - 3)] for i in picks],
             "initials": [index.initial[i][:3] for i in picks],
             "same sound": [homophone(x) for x in names], "typo": [typo(x) for x in names]}
    # Wall time and this thread's CPU time: on a shared machine the wall clock mostly measures the others.
    every, every_cpu = [], []
    for kind, queries in kinds.items():
        times, cpu = [], []
        for q in queries:
            t, c = time.perf_counter(), time.thread_time()
            index.search(q, limit=10)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
        every += times
        every_cpu += cpu
        print(f"  {kind:10s} wall p50 {np.percentile(times, 50):6.2f} ms  p95 {np.percentile(times, 95):6.2f} ms  "
              f"max {max(times):7.1f} ms | CPU p50 {np.percentile(cpu, 50):6.2f} ms  p95 {np.percentile(cpu, 95):6.2f} ms")
    print(f"  all        wall p50 {np.percentile(every, 50):6.2f} ms  p95 {np.percentile(every, 95):6.2f} ms | "
          f"CPU p50 {np.percentile(every_cpu, 50):6.2f} ms  p95 {np.percentile(every_cpu, 95):6.2f} ms "
          f"({len(every):,} queries on the memory-mapped index)")


def main(db: Path | None, n_queries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if db is None:
            db = tmp / "g.sqlite"
            build(db, tmp)
        cache = tmp / "cache"
        load = os.getloadavg()[0]
        store = gz.Gazetteer(db)
        t0 = time.perf_counter()
        cold = gs.SearchIndex.cached(store, cache)
        t1 = time.perf_counter()
        warm = gs.SearchIndex.cached(store, cache)
        t2 = time.perf_counter()
        assert not cold.cache_hit and warm.cache_hit
        size = sum(f.stat().st_size for f in cache.iterdir()) / 1e6
        print(f"index of {warm.n:,} names: cold build {t1 - t0:.1f} s, warm load {(t2 - t1) * 1000:.0f} ms "
              f"(cache file {size:.0f} MB); load average {load:.1f} on {os.cpu_count()} CPUs")
        bench_queries(warm, n_queries)
        store.close()
        bench_cli(db, cache)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="An existing gazetteer (read only); default: import the national lists")
    ap.add_argument("--queries", type=int, default=300, help="Queries per kind")
    a = ap.parse_args()
    main(a.db, a.queries)
