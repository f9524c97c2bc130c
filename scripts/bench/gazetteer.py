"""Benchmark of the place-name gazetteer on the real official lists (data/raw/divisions_2023/, shipped).

1. **Import**: the 2023 township list (41,352) and village list (620,573) of
   the whole country (or of one province with ``--province 33``) through the
   same path as ``geoplan gaz import`` — read, category from the code,
   committee suffix split, parents checked, every naming rule, one
   transaction each. Target (issue 17): the country in under 60 s on 2 cores.
   Anchor: pandas reading the two CSVs and a bare SQLite ``executemany`` of
   the raw rows (the floor no checked import can beat), printed as a ratio.
2. **Search** on that database: the persistent index cold (built) and warm
   (loaded from its cache file), ``geoplan gaz search`` as a fresh process,
   and 500 queries each of exact, prefix, pinyin, initials, same-sound and
   one-character typo. Targets: CLI call under 0.5 s at 660k names, p95
   under 20 ms. Anchor: rapidfuzz ``process.extract`` over all names for the
   typo queries (brute force), as a ratio and as the recall reference.
3. **Validate** (``--validate``): ``naming.validate_all`` over all names of
   the province (default Zhejiang), with counts per rule and examples.

Both storage backends (``--backend both``, the default): a SQLite file and a
PostgreSQL/PostGIS database (issue 20) — the server of
``scripts/start_postgres.sh`` (or ``$GEOPLAN_TEST_PG``), in a schema of its
own that is dropped afterwards. Import and search are measured on each, and
a table at the end puts the figures side by side. Anchor for PostgreSQL:
``COPY`` of the raw rows into a bare table.

Run: nice -n 10 python scripts/bench/gazetteer.py [--backend both|sqlite|postgresql] [--province 33]
     [--validate] [--queries 500]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.gazetteer import naming, romanize
from geoplan.gazetteer import store as gz

RAW = Path(__file__).resolve().parents[2] / "data" / "raw" / "divisions_2023"


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _lists(tmp: Path, province: str | None) -> tuple[Path, Path, int, int]:
    """The official lists as a clerk has them (plain CSV), whole country or one province."""
    streets = pd.read_csv(RAW / "streets.csv.gz", dtype=str)
    villages = pd.read_csv(RAW / "villages.csv.gz", dtype=str)
    if province:
        streets = streets[streets["provinceCode"] == province]
        villages = villages[villages["provinceCode"] == province]
    tmp.mkdir(parents=True, exist_ok=True)
    s, v = tmp / "streets.csv", tmp / "villages.csv"
    streets.to_csv(s, index=False)
    villages.to_csv(v, index=False)
    return s, v, len(streets), len(villages)


def _pg_server() -> str:
    """The development server's URL: $GEOPLAN_TEST_PG, else the one scripts/start_postgres.sh wrote (started
    through that script if nothing answers)."""
    import getpass

    root = Path(__file__).resolve().parents[2]
    url = os.environ.get("GEOPLAN_TEST_PG")
    url_file = Path(os.environ.get("GEOPLAN_PG_DIR") or f"/tmp/geoplan-pg-{getpass.getuser()}") / "url"
    if not url:
        if not url_file.exists():
            subprocess.run(["bash", str(root / "scripts" / "start_postgres.sh")], check=True, capture_output=True)
        url = url_file.read_text().strip()
    return url


class _PgSchema:
    """A fresh schema on the server for one run; its URL selects it (search_path), dropped on exit."""

    def __init__(self, server: str):
        import uuid

        self.server, self.schema = server, "gz_bench_" + uuid.uuid4().hex[:10]

    def __enter__(self) -> str:
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        sep = "&" if "?" in self.server else "?"
        return f"{self.server}{sep}options=-csearch_path%3D{self.schema},public"

    def __exit__(self, *exc):
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


def _anchor(db, streets: Path, villages: Path) -> float:
    """Read both files and insert the raw rows with no checks: the floor of any checked import."""
    t0 = time.perf_counter()
    frames = [pd.read_csv(path, dtype=str)[["code", "name", parent]].set_axis(["code", "name", "parent"], axis=1)
              for path, parent in ((streets, "areaCode"), (villages, "streetCode"))]
    if isinstance(db, Path):
        con = sqlite3.connect(db.with_name("raw.sqlite"))
        con.execute("CREATE TABLE t (code TEXT PRIMARY KEY, name TEXT, parent TEXT)")
        for raw in frames:
            con.executemany("INSERT INTO t VALUES (?,?,?)", raw.itertuples(index=False))
        con.commit()
        con.close()
    else:
        import psycopg

        with psycopg.connect(db) as con:
            con.execute("CREATE TABLE raw_anchor (code TEXT PRIMARY KEY, name TEXT, parent TEXT)")
            with con.cursor() as cur, cur.copy("COPY raw_anchor (code, name, parent) FROM STDIN") as copy:
                for raw in frames:
                    for row in raw.itertuples(index=False):
                        copy.write_row(row)
    return time.perf_counter() - t0


def bench_import(db, streets: Path, villages: Path) -> float:
    """Import both lists into ``db`` (a SQLite path or a PostgreSQL URL); the wall time of the two imports."""
    store = gz.Gazetteer(db, create=True)
    romanize.syllables("预热")  # pypinyin's tables load once per process: outside the timing
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    total = 0.0
    for path, parent in ((streets, "areaCode"), (villages, "streetCode")):
        t0 = _clock()
        df, labels = gz.read_import_table(path, {"name_id": "code", "parent_code": parent}, category_from_code="code")
        t1 = _clock()
        plan = store.plan_import(df, labels, str(path))
        t2 = _clock()
        store.apply_import(plan, who="bench")
        t3 = _clock()
        total += t3[0] - t0[0]
        print(f"import {path.name}: {len(df):,} rows, {plan.added:,} added, {len(plan.rejected):,} rejected — "
              f"read {t1[0] - t0[0]:.1f} s, check {t2[0] - t1[0]:.1f} s, write {t3[0] - t2[0]:.1f} s "
              f"(wall; cpu {t3[1] - t0[1]:.1f} s)")
        reasons = pd.Series([r.split("：")[0].split(":")[0][:40] for _, _, r in plan.rejected]).value_counts()
        for why, n in reasons.head(4).items():
            print(f"    rejected {n:,}: {why}")
    print(f"  import total {total:.1f} s wall for {store.count():,} names; load average {load:.2f} "
          f"on {os.cpu_count()} CPUs")
    store.close()
    floor = _anchor(db, streets, villages)
    how = "bare SQLite insert" if isinstance(db, Path) else "COPY into a bare PostgreSQL table"
    print(f"  anchor (pandas read + {how}): {floor:.1f} s — geoplan/anchor {total / floor:.1f}x")
    return total


def bench_search(db, cache: Path, n_queries: int, seed: int = 1) -> float:
    """Search figures on ``db``; returns the p95 (ms) over all query kinds."""
    from rapidfuzz import fuzz, process

    store = gz.Gazetteer(db)
    t0 = time.perf_counter()
    index = gz.SearchIndex.cached(store, cache)
    t1 = time.perf_counter()
    again = gz.SearchIndex.cached(store, cache)
    t2 = time.perf_counter()
    assert not index.cache_hit and again.cache_hit
    print(f"search index at {index.n:,} names: cold build {t1 - t0:.2f} s, warm load from cache {t2 - t1:.2f} s")
    env = dict(os.environ, GEOPLAN_CACHE=str(cache), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    times = []
    for q in ("回山镇", "如岙", "xc"):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "geoplan.cli.gaz", "search", q, "--db", str(db)], env=env,
                       check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import geoplan.cli.gaz"], env=env, check=True)
    startup = time.perf_counter() - t
    print(f"  `geoplan gaz search` as a new process: {', '.join(f'{x:.2f}' for x in times)} s "
          f"(of which Python + imports {startup:.2f} s)")
    rng = random.Random(seed)
    current = np.flatnonzero(index.current)
    picks = [int(current[rng.randrange(len(current))]) for _ in range(n_queries)]
    names = index.names

    def homophone(name):
        # Replace one character with another of the same toneless reading (会山 for 回山).
        for j in rng.sample(range(len(name)), len(name)):
            same = _same_sound.get(romanize.pinyin_key(name[j]), [])
            others = [c for c in same if c != name[j]]
            if others:
                return name[:j] + rng.choice(others) + name[j + 1:]
        return name

    def typo(name):
        j = rng.randrange(max(1, len(name) - 1))
        return name[:j] + rng.choice("东南西北山水林田石金新安平永和") + name[j + 1:]

    # Characters of the same toneless reading, over every character the names use.
    _same_sound: dict[str, list[str]] = {}
    for ch in sorted(index.postings):
        key = romanize.pinyin_key(ch)
        if key.isascii() and key.isalpha():
            _same_sound.setdefault(key, []).append(ch)
    kinds = {
        "exact": [names[i] for i in picks],
        "prefix": [names[i][:2] for i in picks],
        "pinyin": [index.pinyin[i][: max(4, len(index.pinyin[i]) - 3)] for i in picks],
        "initials": [index.initial[i][:3] for i in picks],
        "same-sound": [homophone(names[i]) for i in picks],
        "typo": [typo(names[i]) for i in picks],
    }
    allt = []
    for kind, queries in kinds.items():
        times, found = [], 0
        for q, i in zip(queries, picks):
            t = time.perf_counter()
            hits = index.search(q, limit=10)
            times.append((time.perf_counter() - t) * 1000)
            found += bool((hits["index"] == i).any()) if kind in ("exact", "same-sound", "typo") else 0
        allt += times
        recall = f"  recall@10 {found / len(queries):.0%}" if kind in ("exact", "same-sound", "typo") else ""
        print(f"  {kind:10s} p50 {np.percentile(times, 50):6.2f} ms  p95 {np.percentile(times, 95):6.2f} ms  "
              f"max {max(times):7.1f} ms{recall}")
    p95 = float(np.percentile(allt, 95))
    print(f"  all        p50 {np.percentile(allt, 50):6.2f} ms  p95 {p95:6.2f} ms")
    # Anchor: brute-force rapidfuzz over every name, on 30 typo queries.
    choices = names.tolist()
    t = time.perf_counter()
    brute = [process.extract(q, choices, scorer=fuzz.ratio, limit=10) for q in kinds["typo"][:30]]
    per = (time.perf_counter() - t) / 30 * 1000
    ours = np.mean(allt[-len(kinds["typo"]):])
    found = sum(any(k == i for _, _, k in b) for b, i in zip(brute, picks[:30]))
    print(f"  anchor rapidfuzz brute force, typo: {per:.0f} ms/query, recall@10 {found / 30:.0%} — "
          f"anchor/geoplan {per / ours:.0f}x")
    store.close()
    return p95


def bench_validate(tmp: Path, province: str) -> None:
    """Every real name of the province, rule breakers included (imported with force, as a committee would
    load the list to review it), checked by the naming rules."""
    s, v, _, _ = _lists(tmp / "validate", province)
    db = tmp / "validate" / "all.sqlite"
    store = gz.Gazetteer(db, create=True)
    for path, parent in ((s, "areaCode"), (v, "streetCode")):
        df, labels = gz.read_import_table(path, {"name_id": "code", "parent_code": parent}, category_from_code="code")
        store.apply_import(store.plan_import(df, labels, str(path), force=True), who="bench", why="review")
    t0 = time.perf_counter()
    report = naming.validate_all(store)
    dt = time.perf_counter() - t0
    print(f"validate {store.count():,} names: {dt:.1f} s, {int((report['severity'] == 'error').sum()):,} error(s), "
          f"{int((report['severity'] == 'warning').sum()):,} warning(s)")
    if not report.empty:
        print(naming.summary(report).to_string(index=False))
        for rule, group in report.groupby("rule"):
            for r in group.head(3).itertuples():
                print(f"  {rule} {r.name_id} {r.name} ({r.parent_code}): {r.message[:110]}")
    store.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--province", help="2-digit province code (default: the whole country)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--validate", action="store_true",
                    help="Also run the naming check over every name of the province (default 33, Zhejiang)")
    ap.add_argument("--skip-search", action="store_true")
    ap.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        s, v, ns, nv = _lists(tmp, a.province)
        print(f"official 2023 lists{' of province ' + a.province if a.province else ''}: {ns:,} townships, "
              f"{nv:,} villages")
        results = {}
        for backend in ("sqlite", "postgresql"):
            if a.backend not in ("both", backend):
                continue
            print(f"\n=== {backend} ===")
            with (_PgSchema(_pg_server()) if backend == "postgresql" else contextlib.nullcontext(tmp / "g.sqlite")) as db:
                took = bench_import(db, s, v)
                p95 = None if a.skip_search else bench_search(db, tmp / f"cache-{backend}", a.queries)
            results[backend] = (took, p95)
        print(f"\n{'backend':12s} {'import (s)':>11s} {'search p95 (ms)':>16s}   ({ns:,} townships + {nv:,} villages)")
        for backend, (took, p95) in results.items():
            print(f"{backend:12s} {took:11.1f} {'' if p95 is None else f'{p95:16.2f}'}")
        if a.validate:
            bench_validate(tmp, a.province or "33")
