"""The coverage report as people read it: XLSX, CSV and console, read back from the written files."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan.coverage.evaluation import evaluate
from geoplan.coverage.plans import load_plan
from geoplan.coverage.report import write_csv, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
STATUSES = {"达标", "未达标", "不要求", "无法评估"}
RULE_IDS = {"home_care_centre", "eco_cemetery", "disability_home", "nursing_beds", "eco_burial_rate",
            "social_work_station", "full_coverage", "ratio", "per_population", "travel_time", "statistic"}


@pytest.fixture(scope="module", params=[("330624", "330624_2022.toml", 2022), ("330727", "330727_2025.toml", 2025)])
def evaluation(request):
    from geoplan.layers.sample import load_sample

    county, plan_file, year = request.param
    return evaluate(load_plan(ROOT / "plans" / plan_file), load_sample(county).layers, year)


def _english_code(value) -> bool:
    return isinstance(value, str) and (value in RULE_IDS or re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", value) is not None)


def test_xlsx_cells_are_what_they_are(tmp_path, evaluation):
    path = write_xlsx(evaluation, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "总表"
    for ws in book.worksheets:
        header = [c.value for c in ws[3]]
        assert "是否达标" in header and "规则编号" not in header
        col = {h: i for i, h in enumerate(header)}
        for row in ws.iter_rows(min_row=4):
            values = [c.value for c in row]
            assert not any(_english_code(v) for v in values), values
            assert not any(isinstance(v, bool) or v in ("True", "False", "<NA>", "nan") for v in values), values
            assert row[col["是否达标"]].value in STATUSES
            if "单位" not in col:
                continue
            unit = row[col["单位"]].value or ""
            for name in ("现状值", "目标值", "基期值"):
                if name not in col or not isinstance(row[col[name]].value, (int, float)):
                    continue
                fmt = row[col[name]].number_format
                if unit == "%":
                    assert fmt == "0.0%" and 0 <= row[col[name]].value <= 1.5
                elif "万" in unit:
                    assert fmt == "0.0"
                else:  # counts, money, numbers of villages: whole numbers, never a percentage
                    assert fmt == "#,##0", (unit, fmt)
    summary = book["总表"]
    header = [c.value for c in summary[3]]
    rows = [dict(zip(header, (c.value for c in r))) for r in summary.iter_rows(min_row=4)]
    counts = [r for r in rows if r["单位"] == "个乡镇(街道)" and r["现状值"] is not None]
    assert counts and all(isinstance(r["现状值"], int) for r in counts)
    assert any(r["是否达标"] == "无法评估" and str(r["说明"]).startswith("未评估：需要") for r in rows)
    assert all(r["依据（文件章节）"] for r in rows)


def test_csv_is_rounded_as_the_workbook(tmp_path, evaluation):
    paths = write_csv(evaluation, tmp_path, "t")
    for p in paths:
        df = pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        for col in ("现状值", "目标值", "基期值", "人口"):
            if col not in df:
                continue
            for v in df[col]:
                if re.fullmatch(r"-?[\d.]+%?", v):
                    assert re.fullmatch(r"-?\d+(\.\d)?%?", v), (p.name, col, v)
        assert set(df["是否达标"]) <= STATUSES
        assert not any(_english_code(v) for v in df.to_numpy().ravel())
    summary = pd.read_csv(paths[0], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    shares = summary[summary["单位"] == "%"]
    assert all(v.endswith("%") for v in shares["目标值"] if v)
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_console_shows_chinese_outcomes():
    from geoplan.cli.main import main

    res = CliRunner().invoke(main, ["coverage", "--plan", str(ROOT / "plans" / "330624_2022.toml"), "--no-travel"])
    assert res.exit_code == 0, res.output
    assert "未达标" in res.output and "无法评估" in res.output
    for bad in ("True", "False", "<NA>", "nan", "home_care_centre", "full_coverage"):
        assert bad not in res.output
    assert "评估日 2022-12-31" in res.output


def test_text_from_data_never_becomes_a_formula(tmp_path, towns):
    import geopandas as gpd
    import shapely

    from geoplan.coverage.plans import parse_plan
    from geoplan.layers.validate import validate_frame

    fac = gpd.GeoDataFrame({"facility_id": ["E1"], "name": ["=HYPERLINK(\"http://x\")居家养老服务中心"],
                            "kind": ["居家养老服务中心"], "township_code": ["330624001"], "status": ["运营"]},
                           geometry=[shapely.Point(120.82, 29.42)], crs=4490)
    layers = {"townships": validate_frame(towns, "townships"), "elderly_care": fac}
    plan = parse_plan({"plan": {"county": "330624", "name": "t", "year": 2022},
                       "rule": [{"id": "hc", "kind": "full_coverage", "layer": "elderly_care", "group": "养老服务",
                                 "where": {"kind": "居家养老服务中心"}}]})
    path = write_xlsx(evaluate(plan, layers, 2022), tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["养老服务"]
    cells = [c for row in ws.iter_rows(min_row=4) for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert any("HYPERLINK" in str(c.value) for c in cells)
