"""The main job runs end to end on both sample counties."""

import subprocess
import sys

import pandas as pd
import pytest

from geoplan.layers.sample import load_sample


@pytest.mark.parametrize("county", ["330624", "330727"])
def test_demo_cli_writes_its_outputs(tmp_path, county, request):
    if county == "330624":  # run once for the whole session (tests/test_i18n_scan.py scans the same files)
        tmp_path, res = request.getfixturevalue("demo_run")
    else:
        res = subprocess.run([sys.executable, "-m", "geoplan.cli.main", "demo", "--county", county, "--out",
                              str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    towns = pd.read_csv(tmp_path / f"{county}_townships.csv", encoding="utf-8-sig", dtype={"乡镇代码": str})
    data = load_sample(county)
    # Chinese headers for people (the in-memory tables keep English keys)
    assert list(towns.columns[:4]) == ["乡镇代码", "名称", "类型", "常住人口"]
    # the demo's township table agrees with the layers and the raster it summarises
    assert towns["常住人口"].sum() == data["townships"]["population"].sum() == round(data.population.total)
    assert sorted(towns["乡镇代码"]) == sorted(data["townships"]["code"])
    summary = pd.read_csv(next(tmp_path.glob(f"{county}_plan_*_summary.csv")), encoding="utf-8-sig")
    assert "未达标" in set(summary["是否达标"])  # the sample's deliberate gaps are found
    assert (tmp_path / next(tmp_path.glob("*.xlsx")).name).stat().st_size > 0
    assert "Traceback" not in res.stderr


def test_demo_unknown_county(tmp_path):
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "geoplan.cli.main", "demo", "--county", "110101", "--out", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "没有县 110101 的示例图层" in res.stderr  # Chinese by default
    assert not out.exists()
