"""The province run on a real two-worker Dask cluster, against the single-county `geoplan coverage`.

The "counties" are the two shipped samples copied into a temporary folder,
plus a broken one (330726.gpkg holding 新昌县's layers), so one run has
counties that finish and one that fails for a reason a planner can act on.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geoplan.cli.main import main
from geoplan.coverage.report import write_csv
from geoplan.layers.sample import layers_dir
from geoplan.province import county_inputs, dask_client, run_province
from geoplan.province import runner as runner_mod
from geoplan.province.county import run_county
from geoplan.province.inputs import SAMPLE_TEMPLATE, check_template
from geoplan.province.map import province_map
from geoplan.province.report import output_paths, province_tables, write_xlsx
from geoplan.coverage.plans import PlanError

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "plans"
SAMPLES = ["330624", "330727"]


def _copy_county(code: str, folder: Path, as_code: str | None = None) -> None:
    as_code = as_code or code
    shutil.copy(layers_dir() / f"{code}.gpkg", folder / f"{as_code}.gpkg")
    shutil.copy(layers_dir() / f"{code}_population.tif", folder / f"{as_code}_population.tif")


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, memory_limit="2GB", dashboard=False, allowed_failures=0) as c:
        yield c


@pytest.fixture(scope="module")
def province_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("counties")
    for code in SAMPLES:
        _copy_county(code, d)
    # Named for 浦江县 but holding 新昌县's layers: fails validation of the layer set.
    _copy_county("330624", d, "330726")
    template = d / "template.toml"
    template.write_text(SAMPLE_TEMPLATE, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def first_run(client, province_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    todo, skipped = county_inputs([province_dir], plans_dir=PLANS, template=province_dir / "template.toml")
    run = run_province(todo, client=client, cache_dir=cache, skipped=skipped)
    return run, cache, todo


def test_every_county_equals_the_single_county_coverage_run(first_run, tmp_path):
    run, _, _ = first_run
    done = {r.code: r for r in run.ok}
    assert sorted(done) == SAMPLES
    for code in SAMPLES:
        r = done[code]
        assert r.worker.startswith("tcp://")  # computed on a Dask worker process, not here
        # `geoplan coverage` for that county alone; its CSVs hold every column, floats to the last digit.
        out = tmp_path / code
        res = CliRunner().invoke(main, ["coverage", "--plan", str(next(PLANS.glob(f"{code}_*.toml"))),
                                        "--layers", str(layers_dir() / f"{code}.gpkg"),
                                        "--population", str(layers_dir() / f"{code}_population.tif"),
                                        "--out", str(out / "cli.csv")])
        assert res.exit_code == 0, res.output
        mine = write_csv(r.evaluation, out, "province")
        cli = sorted(out.glob("cli_*.csv"))
        # the same files (summary, townships, and villages where the plan has village rules), byte for byte
        assert [p.name[4:] for p in cli] == [p.name[9:] for p in sorted(mine)]
        assert {"summary.csv", "townships.csv"} <= {p.name[4:] for p in cli}
        for cli_file, province_file in zip(cli, sorted(mine)):
            assert cli_file.read_bytes() == province_file.read_bytes()
        table = pd.read_csv(out / "cli_townships.csv", encoding="utf-8-sig")
        assert len(table) == len(r.evaluation.townships) > 0


def test_a_failing_county_is_reported_and_the_others_finish(first_run):
    run, _, _ = first_run
    assert [r.code for r in run.failed] == ["330726"]
    reason = run.failed[0].reason
    assert "330726" in reason and "330624" in reason  # which file, and what is in it
    tables = province_tables(run.results, run.skipped)
    assert tables["未完成"]["县代码"].tolist() == ["330726"]
    assert set(tables["县"].loc[tables["县"]["状态"] == "失败", "县代码"]) == {"330726"}
    assert tables["乡镇"]["县代码"].value_counts().to_dict() == {"330727": 14, "330624": 12}
    # Every target of each county's own plan, as its evaluation states it: statistic, village-level and
    # not-evaluable targets included, with the evaluation's own outcome and reason.
    rules = tables["县级指标"]
    for r in run.ok:
        mine = rules[rules["县代码"] == r.code]
        assert mine["规则编号"].tolist() == r.evaluation.summary["rule_id"].tolist()
        assert mine["是否达标"].tolist() == r.evaluation.summary["status"].tolist()
        assert mine["说明"].tolist() == r.evaluation.summary["reason"].tolist()
        towns = tables["乡镇指标"][tables["乡镇指标"]["县代码"] == r.code]
        assert towns["是否达标"].tolist() == r.evaluation.townships["status"].tolist()
    unknown = rules.set_index(["县代码", "规则编号"]).loc[("330624", "certified_social_workers")]
    assert unknown["是否达标"] == "无法评估" and "需要" in unknown["说明"]
    kinds = set(rules["规则类型"])
    assert {"统计指标", "村(社区)全覆盖", "不能用现有数据评估"} <= kinds
    village = rules.set_index(["县代码", "规则编号"]).loc[("330727", "children_home")]
    ev = next(r for r in run.ok if r.code == "330727").evaluation
    assert village["单位"] == "%" and village["现状值"] == round(100 * ev.villages["covered"].mean(), 1)


def test_a_rerun_computes_only_what_failed_or_changed(client, first_run, province_dir):
    run, cache, todo = first_run
    again = run_province(todo, client=client, cache_dir=cache)
    assert again.computed == ["330726"]
    assert [r.code for r in again.ok] == SAMPLES and all(r.cached for r in again.ok)
    for before, after in zip(run.ok, again.ok):
        pd.testing.assert_frame_equal(before.evaluation.townships, after.evaluation.townships, check_exact=True)

    # A county whose file changes is computed again (the cache key is the contents, not the name).
    gpkg = province_dir / "330727.gpkg"
    good = gpkg.read_bytes()
    try:
        gpkg.write_bytes(good[: len(good) // 3])
        todo2, _ = county_inputs([province_dir], plans_dir=PLANS, template=province_dir / "template.toml")
        broken = run_province(todo2, client=client, cache_dir=cache)
        assert sorted(broken.computed) == ["330726", "330727"]
        assert sorted(r.code for r in broken.failed) == ["330726", "330727"]
        assert "330727.gpkg" in next(r for r in broken.failed if r.code == "330727").reason
    finally:
        gpkg.write_bytes(good)
    fixed = run_province(todo, client=client, cache_dir=cache)
    assert [r.code for r in fixed.ok] == SAMPLES and fixed.ok[0].cached


def _kill_one(county):
    """Stands in for a county that takes its worker down (out of memory, segfault)."""
    if county.code == "330727":
        os._exit(1)
    return run_county(county)


def test_a_killed_worker_fails_its_county_only(client, first_run, monkeypatch, tmp_path):
    import cloudpickle

    _, _, todo = first_run
    # The workers cannot import this test module: send the function by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        monkeypatch.setattr(runner_mod, "run_county", _kill_one)
        run = run_province([c for c in todo if c.code in SAMPLES], client=client, cache_dir=tmp_path)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert [r.code for r in run.ok] == ["330624"]
    assert [r.code for r in run.failed] == ["330727"]
    assert "工作进程" in run.failed[0].reason


def test_template_rules():
    tmpl = read_toml_text(SAMPLE_TEMPLATE)
    check_template(tmpl, "t")
    bad = dict(tmpl, plan={**tmpl["plan"], "county": "330624"})
    with pytest.raises(PlanError, match="适用于每个县"):
        check_template(bad, "t")
    with pytest.raises(PlanError, match=r"不能带 \[statistics\]"):
        check_template(dict(tmpl, statistics={"burials": {"2022": 10}}), "t")


def read_toml_text(text):
    import tomllib

    return tomllib.loads(text)


def test_report_and_map_keep_data_text_as_text(first_run, tmp_path):
    """A township named like markup or a formula reaches neither the map's HTML nor Excel as such."""
    from openpyxl import load_workbook

    import copy

    results = copy.deepcopy(first_run[0].results)
    evil = "<img src=x onerror=alert(1)>"
    r = next(r for r in results if r.code == "330727")
    r.townships.loc[0, "name"] = evil
    r.evaluation.townships.loc[0, "reason"] = "=HYPERLINK(\"http://x\")"
    tables = province_tables(results)
    html = province_map(results, tables).get_root().render()
    assert "<img src=x" not in html
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html  # shown escaped in its popup
    path = write_xlsx(tables, tmp_path / "p.xlsx", title="t")
    ws = load_workbook(path)["乡镇指标"]
    cells = [c for row in ws.iter_rows(min_row=4) for c in row if c.value == "=HYPERLINK(\"http://x\")"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_cli_runs_the_sample_province_and_never_overwrites(first_run, tmp_path, monkeypatch):
    # As in a geoplan without the sample builder (importing it fails): the command says so and runs
    # the counties that have layers. With the builder, the missing counties are built first.
    monkeypatch.setitem(sys.modules, "geoplan.layers.samplebuild", None)
    out = tmp_path / "浙江"
    # The samples' own plans and files are those of the Dask run above: its cache serves them.
    args = ["province", "--sample", "zhejiang", "--out", str(out), "--serial", "--cache", str(first_run[1])]
    res = CliRunner().invoke(main, args)
    # Without the sample builder: 88 counties are listed as not run, exit 1 (messages in Chinese by default).
    assert res.exit_code == 1
    assert "无法生成样例图层" in res.output
    assert "88 个县未完成" in res.output
    paths = output_paths(out)
    assert all(p.exists() for p in paths.values())

    from openpyxl import load_workbook

    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["说明", "地市汇总", "县", "县级指标", "乡镇", "乡镇指标", "地市分指标", "未完成"]
    counties = pd.read_csv(paths["csv:县"], dtype={"县代码": str})
    assert len(counties) == 90 and counties["状态"].str.startswith("完成").sum() == 2
    pref = pd.read_csv(paths["csv:地市汇总"])
    assert pref["地市"].iloc[-1] == "全省合计" and pref["县数"].iloc[-1] == 90 and len(pref) == 12
    assert pref["乡镇数"].iloc[-1] == 26
    # Shares are percentages (the 县 sheet's % column) and counts are whole numbers in the workbook.
    ws = wb["县"]
    head = {c.value: c.column for c in ws[3]}
    row = next(r for r in ws.iter_rows(min_row=4) if r[head["县代码"] - 1].value == "330624")
    assert row[head["指标达标率(%)"] - 1].number_format == '0.0"%"'
    assert row[head["乡镇数"] - 1].value == 12 and row[head["乡镇数"] - 1].number_format == "#,##0"
    html = paths["map"].read_text(encoding="utf-8")
    assert "<script src=" not in html and "<link " not in html  # self-contained: Leaflet inlined

    before = {p: p.stat().st_mtime_ns for p in paths.values()}
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1 and "已存在，未作任何改动" in res.output and "--overwrite" in res.output
    assert {p: p.stat().st_mtime_ns for p in paths.values()} == before
    res = CliRunner().invoke(main, args + ["--overwrite"])
    assert "2 个县完成（本次计算 0 个，来自缓存 2 个）" in res.output
    assert {p: p.stat().st_mtime_ns for p in paths.values()} != before


def test_sample_province_builds_missing_counties_first(first_run, tmp_path, monkeypatch):
    """With a sample builder, missing counties are built under OUT/layers (never into layers/) and then run."""
    import types

    calls = []

    def build_county(code, out, overwrite=False):
        # Stand-in for geoplan.layers.samplebuild.build_county: 新昌县's files under the asked code.
        calls.append((code, Path(out)))
        _copy_county("330624", Path(out), code)

    fake = types.ModuleType("geoplan.layers.samplebuild")
    fake.build_county = build_county
    monkeypatch.setitem(sys.modules, "geoplan.layers.samplebuild", fake)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["province", "330624", "330726", "--sample", "zhejiang", "--out", str(out),
                                    "--serial", "--cache", str(first_run[1])])
    assert calls == [("330726", out / "layers")]
    assert not (layers_dir() / "330726.gpkg").exists()
    # The stand-in's county fails its own check, which shows it was built and then run.
    assert res.exit_code == 1 and "330726" in res.output and "其中的乡镇(街道)属于县 330624" in res.output


def test_sample_province_builds_a_missing_county_with_the_real_builder(tmp_path):
    """天台县 (331023) has no shipped layers: the real sample builder makes them under OUT/layers, then the
    county is evaluated with the province template exactly as `geoplan coverage` evaluates it alone."""
    import pyogrio

    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["province", "331023", "--sample", "zhejiang", "--out", str(out), "--serial",
                                    "--no-cache"])
    assert res.exit_code == 0, res.output
    gpkg, tif = out / "layers" / "331023.gpkg", out / "layers" / "331023_population.tif"
    assert gpkg.exists() and tif.exists()
    assert not (layers_dir() / "331023.gpkg").exists()  # never into the shipped samples
    assert "1 个县完成（本次计算 1 个，来自缓存 0 个）" in res.output
    paths = output_paths(out)
    counties = pd.read_csv(paths["csv:县"], dtype={"县代码": str})
    assert counties["县代码"].tolist() == ["331023"] and counties["状态"].tolist() == ["完成"]
    built = pyogrio.read_dataframe(gpkg, layer="townships", read_geometry=False)
    towns = pd.read_csv(paths["csv:乡镇"], dtype={"乡镇代码": str})
    assert sorted(towns["乡镇代码"]) == sorted(built["code"].astype(str)) and len(towns) > 0
    # The same county alone through `geoplan coverage`, with the template written out as its own plan.
    plan = tmp_path / "331023_template.toml"
    plan.write_text(SAMPLE_TEMPLATE.replace('county = "*"', 'county = "331023"'), encoding="utf-8")
    cli = CliRunner().invoke(main, ["coverage", "--plan", str(plan), "--layers", str(gpkg), "--population", str(tif),
                                    "--out", str(tmp_path / "cli.csv")])
    assert cli.exit_code == 0, cli.output
    alone = pd.read_csv(tmp_path / "cli_summary.csv", encoding="utf-8-sig")
    rules = pd.read_csv(paths["csv:县级指标"], encoding="utf-8-sig")
    assert rules["指标"].tolist() == alone["指标"].tolist()
    assert rules["是否达标"].tolist() == alone["是否达标"].tolist()
    assert rules["说明"].tolist() == alone["说明"].tolist()
