"""Package the official township list that geoplan validates codes against.

Reads ``data/raw/divisions/`` (National Bureau of Statistics
division codes, cut-off 2022-10-31, as compiled by
modood/Administrative-divisions-of-China, licence WTFPL) and writes
``geoplan/data/divisions_2022.csv.gz``: one row per township with its
county, prefecture and province names. Run from the project root::

    python scripts/build_divisions.py
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def build(shared: Path, out: Path) -> pd.DataFrame:
    raw = shared / "raw" / "divisions"
    read = dict(dtype=str, keep_default_na=False, encoding="utf-8")
    streets = pd.read_csv(raw / "streets.csv.gz", **read)
    areas = pd.read_csv(raw / "areas.csv.gz", **read).rename(columns={"code": "areaCode", "name": "county_name"})
    cities = pd.read_csv(raw / "cities.csv.gz", **read).rename(columns={"code": "cityCode", "name": "city_name"})
    provinces = pd.read_csv(raw / "provinces.csv.gz", **read).rename(
        columns={"code": "provinceCode", "name": "province_name"})
    table = (
        streets.merge(areas[["areaCode", "county_name"]], on="areaCode", how="left")
        .merge(cities[["cityCode", "city_name"]], on="cityCode", how="left")
        .merge(provinces, on="provinceCode", how="left")
        .rename(columns={"areaCode": "county_code", "cityCode": "city_code", "provinceCode": "province_code"})
    )[["code", "name", "county_code", "county_name", "city_code", "city_name", "province_code", "province_name"]]
    if table["code"].duplicated().any() or not table["code"].str.fullmatch(r"\d{9}").all():
        raise SystemExit("streets.csv has duplicate or malformed codes; refusing to package it")
    out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the archive byte-identical between runs
    with gzip.GzipFile(out, "wb", mtime=0) as fh:
        fh.write(table.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "geoplan" / "data" / "divisions_2022.csv.gz")
    args = ap.parse_args()
    t = build(args.data, args.out)
    print(f"wrote {len(t)} townships to {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
