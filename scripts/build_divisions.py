"""Package the official division lists and outlines that geoplan ships as package data.

Reads ``data/raw/`` (see ``data/SOURCES.md``) and writes, into ``geoplan/data/``:

* ``divisions_2022.csv.gz`` — one row per township of China (NBS codes, cut-off
  2022-10-31, as compiled by modood/Administrative-divisions-of-China, WTFPL)
  with its county, prefecture and province names; layers' township codes are
  checked against it.
* ``villages_2023_zhejiang.csv.gz`` — the 25,547 village-level units
  (村民委员会 / 居民委员会) of Zhejiang from the NBS 2023 codes (cut-off
  2023-06-30): ``code, name, township_code``; the sample builder's real
  village names and codes.
* ``zhejiang_counties.geojson.gz`` — the 90 county-level outlines of Zhejiang
  (Aliyun DataV GeoAtlas via anzhou99/GeoJsons), coordinates verbatim (GCJ-02),
  properties ``adcode, name, center, prefecture``; the sample builder's outlines.

Every file is gzip with ``mtime=0`` so a rebuild is byte-identical. Run from
the project root::

    python scripts/build_divisions.py
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
READ = dict(dtype=str, keep_default_na=False, encoding="utf-8")


def _write_gz(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # mtime=0 keeps the archive byte-identical between runs
    # (the name stored in the gzip header is the final file's, not the temp file's)
    with open(tmp, "wb") as raw, gzip.GzipFile(path.name, "wb", 9, raw, mtime=0) as fh:
        fh.write(text.encode("utf-8"))
    tmp.replace(path)


def build(shared: Path, out: Path) -> pd.DataFrame:
    """Write the national township table (``divisions_2022.csv.gz``)."""
    raw = shared / "raw" / "divisions"
    streets = pd.read_csv(raw / "streets.csv.gz", **READ)
    areas = pd.read_csv(raw / "areas.csv.gz", **READ).rename(columns={"code": "areaCode", "name": "county_name"})
    cities = pd.read_csv(raw / "cities.csv.gz", **READ).rename(columns={"code": "cityCode", "name": "city_name"})
    provinces = pd.read_csv(raw / "provinces.csv.gz", **READ).rename(
        columns={"code": "provinceCode", "name": "province_name"})
    table = (
        streets.merge(areas[["areaCode", "county_name"]], on="areaCode", how="left")
        .merge(cities[["cityCode", "city_name"]], on="cityCode", how="left")
        .merge(provinces, on="provinceCode", how="left")
        .rename(columns={"areaCode": "county_code", "cityCode": "city_code", "provinceCode": "province_code"})
    )[["code", "name", "county_code", "county_name", "city_code", "city_name", "province_code", "province_name"]]
    if table["code"].duplicated().any() or not table["code"].str.fullmatch(r"\d{9}").all():
        raise SystemExit("streets.csv has duplicate or malformed codes; refusing to package it")
    _write_gz(out, table.to_csv(index=False, lineterminator="\n"))
    return table


def build_villages(shared: Path, out: Path, province: str = "33") -> pd.DataFrame:
    """Write one province's village-level units of 2023 (``code, name, township_code``)."""
    raw = shared / "raw" / "divisions_2023" / "villages.csv.gz"
    v = pd.read_csv(raw, **READ)
    v = v[v["provinceCode"] == province].rename(columns={"streetCode": "township_code"})
    v = v[["code", "name", "township_code"]].sort_values("code").reset_index(drop=True)
    if (v["code"].duplicated().any() or not v["code"].str.fullmatch(r"\d{12}").all()
            or not (v["code"].str[:9] == v["township_code"]).all()):
        raise SystemExit("villages.csv has duplicate or malformed codes; refusing to package it")
    _write_gz(out, v.to_csv(index=False, lineterminator="\n"))
    return v


def build_outlines(shared: Path, out: Path) -> int:
    """Write the county-level outlines of Zhejiang as one GeoJSON (coordinates untouched)."""
    folder = shared / "raw" / "boundaries"
    features = []
    for f in sorted(folder.glob("33??00_full.geojson.gz")):
        if f.name.startswith("330000_"):
            continue
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            fc = json.load(fh)
        for feat in fc["features"]:
            p = feat["properties"]
            code = str(p.get("adcode", ""))
            if len(code) != 6:  # the files also carry a boundary-line feature without a code
                continue
            props = dict(adcode=code, name=p["name"], center=json.dumps(p["center"]), prefecture=f.name[:6])
            features.append(dict(type="Feature", properties=props, geometry=feat["geometry"]))
    features.sort(key=lambda ft: ft["properties"]["adcode"])
    if not features:
        raise SystemExit(f"No prefecture outline files in {folder}")
    text = json.dumps(dict(type="FeatureCollection", features=features), ensure_ascii=False,
                      separators=(",", ":"))
    _write_gz(out, text)
    return len(features)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "geoplan" / "data")
    args = ap.parse_args()
    d = args.out_dir
    t = build(args.data, d / "divisions_2022.csv.gz")
    v = build_villages(args.data, d / "villages_2023_zhejiang.csv.gz")
    n = build_outlines(args.data, d / "zhejiang_counties.geojson.gz")
    for name, what in (("divisions_2022.csv.gz", f"{len(t)} townships"),
                       ("villages_2023_zhejiang.csv.gz", f"{len(v)} villages of Zhejiang"),
                       ("zhejiang_counties.geojson.gz", f"{n} county outlines of Zhejiang")):
        print(f"wrote {what} to {d / name} ({(d / name).stat().st_size / 1e6:.2f} MB)")
