"""Plan files and their evaluation against the layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.coverage.evaluation import CoverageError, evaluate, facilities_by_township
from geoplan.coverage.plans import PlanError, load_plan, parse_plan
from geoplan.layers.validate import validate_frame

ROOT = Path(__file__).resolve().parents[1]


def plan_doc(*rules, statistics=None, county="330624"):
    return {"plan": {"county": county, "name": "test plan"}, "statistics": statistics or {},
            "rule": list(rules)}


@pytest.fixture
def layers(towns):
    towns = validate_frame(towns, "townships")
    # E1 stands in 羽林 and is assigned to it; E2 stands in 南明 but the bureau assigned it to 回山镇;
    # E3 is a planned centre in 回山镇; E4 an institution.
    fac = gpd.GeoDataFrame(
        {"facility_id": ["E1", "E2", "E3", "E4", "E5"],
         "name": ["羽林中心", "南明中心", "回山中心", "福利院", "敬老院"],
         "kind": ["居家养老服务中心"] * 3 + ["养老机构"] * 2,
         "township_code": ["330624001", "330624104", "330624104", "330624002", "330624104"],
         "status": ["运营", "运营", "规划", "运营", "运营"],
         "beds": [None, None, None, 300, 100], "nursing_beds": [None, None, None, 180, 20],
         "dementia_beds": [None, None, None, 20, 0]},
        geometry=shapely.points([120.82, 120.87, 120.92, 120.88, 120.93], [29.42] * 5), crs=4490)
    return {"townships": towns, "elderly_care": validate_frame(fac, "elderly_care")}


HOME_CARE = {"id": "hc", "kind": "full_coverage", "layer": "elderly_care", "where": {"kind": "居家养老服务中心"}}


@pytest.mark.parametrize("assign, gaps", [("location", ["330624104"]), ("column", ["330624002"]), ("either", [])])
def test_full_coverage_by_location_column_or_either(layers, assign, gaps):
    plan = parse_plan(plan_doc({**HOME_CARE, "assign": assign}))
    ev = evaluate(plan, layers, 2022)
    assert ev.gaps("hc") == gaps
    assert ev.summary.loc[0, "passed"] == (not gaps)


def test_planned_facilities_do_not_count_but_are_named(layers):
    ev = evaluate(parse_plan(plan_doc({**HOME_CARE, "assign": "location"})), layers, 2022)
    row = ev.failures().iloc[0]
    assert row["name"] == "回山镇" and "没有运营中的居家养老服务中心" in row["reason"] and "回山中心" in row["reason"]


def test_population_threshold(layers):
    rule = {**HOME_CARE, "id": "big", "kind": "population_threshold", "threshold": 10000, "assign": "location"}
    ev = evaluate(parse_plan(plan_doc(rule)), layers, 2022)
    t = ev.townships.set_index("code")
    assert pd.isna(t.loc["330624104", "passed"])  # 9,100 people: not required
    assert "不要求" in t.loc["330624104", "reason"]
    assert t.loc["330624001", "passed"] and t.loc["330624002", "passed"]


def test_ratio_over_layer_and_year_targets(layers):
    rule = {"id": "nb", "kind": "ratio", "layer": "elderly_care", "where": {"kind": "养老机构"},
            "numerator": "nursing_beds", "denominator": "beds", "baseline": {"2020": 0.53},
            "target": {"2023": 0.45, "2025": 0.58}}
    plan = parse_plan(plan_doc(rule))
    expected = (180 + 20) / (300 + 100)
    for year, target, passed in ((2024, 0.45, True), (2025, 0.58, False), (2030, 0.58, False)):
        s = evaluate(plan, layers, year).summary.iloc[0]
        assert s["value"] == pytest.approx(expected) and s["target"] == target and s["passed"] == passed
    s = evaluate(plan, layers, 2022).summary.iloc[0]
    assert pd.isna(s["target"]) and pd.isna(s["passed"]) and "无目标" in s["reason"]


def test_per_population_statistics(layers):
    rules = [
        {"id": "so", "kind": "per_population", "statistic": "orgs", "per": 10000, "target": 40},
        {"id": "cw", "kind": "per_population", "statistic": "carers", "population": "pop_60plus",
         "per": 10000, "target": 25},
        {"id": "eco", "kind": "ratio", "numerator": "eco", "denominator": "all", "target": 0.65},
    ]
    stats = {"orgs": {"2021": 400, "2022": 500}, "carers": {"2020": 60}, "eco": {"2022": 70}, "all": {"2022": 100}}
    ev = evaluate(parse_plan(plan_doc(*rules, statistics=stats)), layers, 2022)
    s = ev.summary.set_index("rule_id")
    people = layers["townships"]["population"].sum()
    elderly = layers["townships"]["pop_60plus"].sum()
    assert s.loc["so", "value"] == pytest.approx(500 / people * 10000)
    assert s.loc["cw", "value"] == pytest.approx(60 / elderly * 10000)
    assert s.loc["eco", "value"] == pytest.approx(0.7) and s.loc["eco", "passed"]
    ev2021 = evaluate(parse_plan(plan_doc(*rules, statistics=stats)), layers, 2021)
    assert pd.isna(ev2021.summary.set_index("rule_id").loc["eco", "value"])  # no 2021 figures: not evaluated


def test_travel_rule_without_network_is_not_a_pass(layers):
    rule = {**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 15, "target": 0.9}
    s = evaluate(parse_plan(plan_doc(rule)), layers, 2022).summary.iloc[0]
    assert pd.isna(s["passed"]) and "未评估" in s["reason"]


def test_travel_rule_with_evaluator(layers):
    def fake_travel(rule, lyr):
        towns = lyr["townships"]
        return pd.DataFrame({"code": towns["code"], "population_total": [100, 200, 300],
                             "population_within": [100, 150, 0], "unreachable": [0, 0, 280],
                             "off_network": [0, 0, 20]})

    rule = {**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 15, "target": 0.7}
    ev = evaluate(parse_plan(plan_doc(rule)), layers, 2022, travel=fake_travel)
    assert ev.townships["passed"].tolist() == [True, True, False]
    s = ev.summary.iloc[0]
    assert s["value"] == pytest.approx(250 / 600) and not s["passed"]
    assert "280 人所在道路与设施不连通" in s["reason"] and "20 人不在道路网络附近" in s["reason"]


def test_plan_for_another_county_is_refused(layers):
    with pytest.raises(CoverageError, match="330727"):
        evaluate(parse_plan(plan_doc(HOME_CARE, county="330727")), layers, 2022)


def test_missing_layer_is_explained(layers):
    rule = {"id": "sw", "kind": "full_coverage", "layer": "social_work_stations"}
    with pytest.raises(CoverageError, match="social_work_stations"):
        evaluate(parse_plan(plan_doc(rule)), layers, 2022)


@pytest.mark.parametrize("rule, message", [
    ({"id": "x", "kind": "everything"}, "kind must be one of"),
    ({**HOME_CARE, "colour": "red"}, "unknown key 'colour'"),
    ({**HOME_CARE, "layer": "hospitals"}, "unknown layer 'hospitals'"),
    ({**HOME_CARE, "where": {"type": "x"}}, "has no column 'type'"),
    ({"id": "r", "kind": "ratio", "target": {"twenty": 1}}, "'twenty' is not a year"),
    ({"id": "r", "kind": "ratio", "layer": "elderly_care", "target": 0.5}, "needs numerator and denominator"),
    ({"id": "t", "kind": "travel_time", "layer": "elderly_care", "target": 0.9}, "needs 'minutes'"),
    ({**HOME_CARE, "assign": "nearest"}, "assign must be"),
])
def test_plan_schema_errors(rule, message):
    with pytest.raises(PlanError, match=message):
        parse_plan(plan_doc(rule))


def test_plan_collects_all_errors_and_duplicate_ids():
    with pytest.raises(PlanError) as info:
        parse_plan(plan_doc(HOME_CARE, HOME_CARE, {**HOME_CARE, "id": "b", "colour": 1}, county="33"))
    text = str(info.value)
    assert "used twice" in text and "colour" in text and "6-digit" in text


def test_plan_file_errors(tmp_path):
    with pytest.raises(PlanError, match="not found"):
        load_plan(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[plan]\ncounty = "330624\n', encoding="utf-8")
    with pytest.raises(PlanError, match="not valid TOML.*line 2"):
        load_plan(bad)


# ------------------------------------------------------------------ the shipped plans on the sample counties

@pytest.mark.parametrize("county, plan_file, year", [("330624", "330624_2022.toml", 2022),
                                                       ("330727", "330727_2025.toml", 2025)])
def test_sample_plans_find_the_gaps_an_independent_count_finds(county, plan_file, year):
    from geoplan.layers.sample import load_sample

    data = load_sample(county)
    plan = load_plan(ROOT / "plans" / plan_file)
    ev = evaluate(plan, data.layers, year)
    towns = data["townships"]
    for rule in plan.rules:
        if rule.kind not in ("full_coverage", "population_threshold"):
            continue
        fac = data[rule.get("layer")]
        keep = fac["status"] == "运营"
        for col, wanted in (rule.get("where") or {}).items():
            keep &= fac[col].isin(wanted if isinstance(wanted, list) else [wanted])
        fac = fac[keep]
        expected = []
        for _, t in towns.iterrows():  # brute force: a facility serves the township it stands in or is assigned to
            inside = any(t.geometry.contains(p) for p in fac.geometry)
            assigned = (fac["township_code"] == t["code"]).any()
            required = rule.kind == "full_coverage" or t["population"] >= rule.get("threshold")
            if required and not (inside or assigned):
                expected.append(t["code"])
        assert sorted(ev.gaps(rule.id)) == sorted(expected), rule.id
    # the sample data is built with deliberate gaps, so the plan must find some
    assert len(ev.failures()) > 0
    assert ev.summary["passed"].eq(False).any()


def test_report_xlsx_and_csv(tmp_path, layers):
    import openpyxl

    from geoplan.coverage.report import write_csv, write_xlsx

    plan = parse_plan(plan_doc({**HOME_CARE, "assign": "location", "group": "养老服务"},
                               {"id": "nb", "kind": "ratio", "layer": "elderly_care", "numerator": "nursing_beds",
                                "denominator": "beds", "target": 0.55}))
    ev = evaluate(plan, layers, 2022)
    path = write_xlsx(ev, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["总表", "养老服务"]
    ws = book["养老服务"]
    header = [c.value for c in ws[3]]
    assert header[:3] == ["规则编号", "类别", "指标"] and "是否达标" in header
    status_col = header.index("是否达标")
    failing = [row for row in ws.iter_rows(min_row=4) if row[status_col].value == "未达标"]
    assert len(failing) == 1 and failing[0][0].fill.fgColor.rgb.endswith("F4CCCC")
    csvs = write_csv(ev, tmp_path, "t")
    back = pd.read_csv(csvs[1], encoding="utf-8-sig")
    assert back["是否达标"].tolist() == ["达标", "达标", "未达标"]
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_facilities_by_township_unassigned_point_outside_everything(layers):
    towns = layers["townships"]
    fac = layers["elderly_care"].iloc[:1].copy()
    fac["geometry"] = [shapely.Point(121.5, 29.0)]
    fac["township_code"] = pd.array([pd.NA], dtype="string")
    got = facilities_by_township(towns, fac, "either")
    assert all(len(v) == 0 for v in got)
    assert np.array_equal(got.index, towns["code"].to_numpy())


def test_road_travel_counts_people_within_minutes_by_hand(layers):
    """A straight 30 km/h road along the three townships; the only centre at its west end.

    Cells lie on the road, so each person's time is the drive alone: x metres east of the centre
    take x / 500 minutes at 30 km/h (500 m a minute).
    """
    from affine import Affine
    from geoplan.coverage.evaluation import road_travel
    from geoplan.layers.io import PopulationRaster
    from geoplan.network.graph import RoadNetwork

    towns = layers["townships"]
    m = towns.to_crs(4549)
    y = float(m.geometry.iloc[0].centroid.y)
    x0, x1 = float(m.total_bounds[0]) + 50, float(m.total_bounds[2]) - 50
    road = gpd.GeoDataFrame({"road_id": ["r1"], "road_class": ["unclassified"], "speed_kmh": [30.0]},
                            geometry=[shapely.LineString([(x0, y), (x1, y)])], crs=4549).to_crs(4490)
    net = RoadNetwork.from_roads(road)
    # one row of 100 m cells centred on the road, 10 persons each
    ncols = int((x1 - x0) // 100)
    data = np.full((1, ncols), 10.0)
    raster = PopulationRaster(data, Affine(100, 0, x0, 0, -100, y + 50), towns.to_crs(4549).crs)
    centre = layers["elderly_care"].iloc[:1].copy()
    centre["geometry"] = gpd.GeoSeries([shapely.Point(x0, y)], crs=4549).to_crs(4490).to_numpy()
    lyr = {"townships": towns, "elderly_care": centre}
    rule = parse_plan(plan_doc({**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 10,
                                "target": 0.5})).rules[0]
    got = road_travel(net, raster)(rule, lyr).set_index("code")
    cell_x = x0 + 50 + 100 * np.arange(ncols)
    within = (cell_x - x0) / 500.0 <= 10  # minutes by hand
    town_of = np.searchsorted([float(g.bounds[2]) for g in m.geometry], cell_x)
    for i, code in enumerate(towns["code"]):
        assert got.loc[code, "population_total"] == pytest.approx(10 * (town_of == i).sum())
        assert got.loc[code, "population_within"] == pytest.approx(10 * (within & (town_of == i)).sum())
    rule60 = parse_plan(plan_doc({**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 10,
                                  "population": "pop_60plus", "target": 0.5})).rules[0]
    got60 = road_travel(net, raster)(rule60, lyr).set_index("code")
    share = (towns.set_index("code")["pop_60plus"] / towns.set_index("code")["population"]).astype(float)
    assert np.allclose(got60["population_total"], got["population_total"] * share[got.index])


def test_township_population_from_raster_zonal_sums():
    from geoplan.coverage.evaluation import townships_from_raster
    from geoplan.layers.sample import load_sample
    from geoplan.coverage.zonal import zonal_sum

    county = load_sample("330624")
    towns = townships_from_raster(county["townships"], county.population)
    sums = zonal_sum(county["townships"], county.population, id_col="code")
    assert (towns.set_index("code")["population"] - sums.round()).abs().max() == 0
    # cells cut by the county outline lose the part outside, so the total is a little below the raster's
    assert 0.99 * county.population.total < towns["population"].sum() <= county.population.total
    share_before = county["townships"]["pop_60plus"] / county["townships"]["population"]
    share_after = towns["pop_60plus"] / towns["population"]
    assert np.allclose(share_before, share_after, atol=1e-3)
    plan = load_plan(ROOT / "plans" / "330624_2022.toml")
    ev = evaluate(plan, county.layers, 2022, population=county.population)
    rows = ev.townships[ev.townships["rule_id"] == "disability_home"].set_index("code")
    assert (rows["population"] == towns.set_index("code")["population"]).all()
