"""Benchmark of the place-name gazetteer.

1. Import all 41,352 official townships (data/raw/divisions/streets.csv.gz, shipped)
   into an empty gazetteer — read, check every naming rule, write in one
   transaction. Target: under 10 s.
2. Search at 1,000,000 names: real township 专名 combined with the 通名 of
   villages, communities, roads and natural features, indexed with
   :class:`geoplan.gazetteer.store.SearchIndex`; 1,000 queries each of exact,
   prefix, pinyin, initials and one-character typo. Target: p95 under 20 ms.

Run: python scripts/bench/gazetteer.py [--names 1000000] [--repeat 3] [--skip-search]
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from geoplan.gazetteer import store as gz
from geoplan.gazetteer import romanize

STREETS = Path(__file__).resolve().parents[2] / "data" / "raw" / "divisions" / "streets.csv.gz"
SUFFIXES = ["村", "社区", "路", "街", "巷", "桥", "山", "溪", "岭", "坑", "湖", "大道", "新村", "小区", "公园",
            "水库", "广场", "东路", "西路", "南路", "北路", "中路", "一村", "二村", "上村", "下村"]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def bench_import() -> float:
    """Import every township into an empty gazetteer; print wall and CPU seconds per stage.

    The machine is often shared, so the load average and the process's own
    CPU time are printed too: wall time alone moves with the neighbours.
    """
    with tempfile.TemporaryDirectory() as tmp:
        s = gz.Gazetteer(Path(tmp) / "cn.sqlite", create=True)
        streets = Path(tmp) / "streets.csv"  # as a clerk has it: a plain CSV
        streets.write_bytes(gzip.decompress(STREETS.read_bytes()))
        romanize.syllables("预热")  # load pypinyin's tables outside the timing (done once per process)
        romanize._syllables_cached.cache_clear()  # but spell every name afresh on each repeat
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        t0 = _clock()
        df, labels = gz.read_import_table(streets, {"name_id": "code", "parent_code": "areaCode"},
                                          category_from_code="code")
        t1 = _clock()
        plan = s.plan_import(df, labels, str(streets))
        t2 = _clock()
        s.apply_import(plan, who="bench")
        t3 = _clock()
        for k, what in ((0, "wall"), (1, "cpu ")):
            print(f"import {len(df):,} townships ({what}): read {t1[k] - t0[k]:.2f} s, check {t2[k] - t1[k]:.2f} s, "
                  f"write {t3[k] - t2[k]:.2f} s, total {t3[k] - t0[k]:.2f} s")
        print(f"  {s.count():,} stored, {len(plan.rejected)} rejected; load average {load:.2f} "
              f"on {os.cpu_count()} CPUs")
        s.close()
        return t3[0] - t0[0]


def bench_search(n_names: int, n_queries: int = 1000, seed: int = 1) -> None:
    import pandas as pd

    rng = random.Random(seed)
    towns = pd.read_csv(STREETS, dtype=str)
    specifics = [romanize.split_name(n)[0] for n in towns["name"]]
    t0 = time.perf_counter()
    names, parents = [], []
    for k in range(n_names):
        i = k % len(specifics)
        names.append(specifics[i] + SUFFIXES[(k // len(specifics)) % len(SUFFIXES)])
        parents.append(towns["code"].iat[i])
    sylls = [romanize.syllables(n) for n in names]
    keys = ["".join(s) for s in sylls]
    inits = ["".join(x[0] for x in s) for s in sylls]
    t1 = time.perf_counter()
    cats = ["1220"] * n_names
    index = gz.SearchIndex([f"B{k:07d}" for k in range(n_names)], names, keys, inits, cats, parents,
                           ["current"] * n_names, None)
    t2 = time.perf_counter()
    print(f"{n_names:,} names: pinyin {t1 - t0:.1f} s, index build {t2 - t1:.1f} s")
    picks = [rng.randrange(n_names) for _ in range(n_queries)]
    pool = "东南西北山水林田石金新安平永和"

    def typo(name):
        j = rng.randrange(max(1, len(name) - 1))
        return name[:j] + rng.choice(pool) + name[j + 1:]

    kinds = {
        "exact": [names[i] for i in picks],
        "prefix": [names[i][:2] for i in picks],
        "pinyin": [keys[i][: max(4, len(keys[i]) - 3)] for i in picks],
        "initials": [inits[i][:3] for i in picks],
        "typo": [typo(names[i]) for i in picks],
    }
    allt = []
    for kind, queries in kinds.items():
        times = []
        for q in queries:
            t = time.perf_counter()
            index.search(q, limit=10)
            times.append((time.perf_counter() - t) * 1000)
        allt += times
        print(f"  {kind:9s} p50 {np.percentile(times, 50):6.2f} ms  p95 {np.percentile(times, 95):6.2f} ms  "
              f"max {max(times):7.2f} ms")
    print(f"  all       p50 {np.percentile(allt, 50):6.2f} ms  p95 {np.percentile(allt, 95):6.2f} ms")
    hit = sum(index.search(kinds['typo'][k], limit=10)["name"].eq(names[i]).any() for k, i in enumerate(picks[:200]))
    print(f"  typo recall@10 on 200 queries: {hit / 200:.0%}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=1_000_000)
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="Import this many times (the spread shows the noise).")
    a = ap.parse_args()
    if not a.skip_import:
        for _ in range(a.repeat):
            bench_import()
    if not a.skip_search:
        bench_search(a.names)
