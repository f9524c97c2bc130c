"""Build the sample layers of every county of Zhejiang and report the time each took.

Counties that cannot be built (the DataV outlines of 2021 still show
下城区/江干区 and lack 临平区/钱塘区) are listed with the reason. Run from the
project root::

    python scripts/build_all_counties.py [--out DIR]     # default: a temporary folder, removed after
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geoplan.errors import GeoplanError  # noqa: E402
from geoplan.layers.samplebuild import build_county, zhejiang_counties  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="keep the layers in this folder (existing files are replaced)")
    args = ap.parse_args(argv)
    t = zhejiang_counties()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0, failed = time.perf_counter(), []
        for row in t.itertuples():
            if not row.buildable:
                print(f"{row.code} {row.name}: 跳过 — {row.reason}")
                continue
            try:
                res = build_county(row.code, out, overwrite=True)
            except (GeoplanError, ValueError) as exc:
                failed.append(row.code)
                print(f"{row.code} {row.name}: 失败 — {exc}")
                continue
            print(f"{row.code} {row.name}: {res['seconds']:.1f} 秒, 常住人口 {res['total']:,}", flush=True)
        total = time.perf_counter() - t0
    built = int(t["buildable"].sum()) - len(failed)
    print(f"\n县界数据与区划代码中共 {len(t)} 个县级代码: 生成 {built} 个, 跳过 {int((~t['buildable']).sum())} 个, 失败 {len(failed)} 个; "
          f"共 {total:.0f} 秒 ({total / 60:.1f} 分钟)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
