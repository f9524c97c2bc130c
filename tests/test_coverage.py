"""Plan files and their evaluation against the layers, as of a date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.coverage.evaluation import FAIL, CoverageError, evaluate, facilities_by_township, road_travel
from geoplan.network.graph import RoadNetwork
from geoplan.coverage.plans import PlanError, load_plan, parse_plan
from geoplan.layers.validate import validate_frame

ROOT = Path(__file__).resolve().parents[1]


def plan_doc(*rules, statistics=None, county="330624", year=2030):
    return {"plan": {"county": county, "name": "test plan", "year": year, "start_year": 2020},
            "statistics": statistics or {}, "rule": list(rules)}


@pytest.fixture
def layers(towns):
    towns = validate_frame(towns, "townships")
    # E1 stands in 羽林 and is assigned to it; E2 stands in 南明 but the bureau assigned it to 回山镇;
    # E3 is a planned centre in 回山镇; E4, E5 institutions (E4 public, E5 private).
    fac = gpd.GeoDataFrame(
        {"facility_id": ["E1", "E2", "E3", "E4", "E5"],
         "name": ["羽林中心", "南明中心", "回山中心", "福利院", "敬老院"],
         "kind": ["居家养老服务中心"] * 3 + ["养老机构"] * 2,
         "township_code": ["330624001", "330624104", "330624104", "330624002", "330624104"],
         "status": ["运营", "运营", "规划", "运营", "运营"],
         "opened": [2015, 2016, 2026, 2010, 2012],
         "ownership": [None, None, None, "公办", "民办"],
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
    assert ev.summary.loc[0, "status"] == ("未达标" if gaps else "达标")
    assert ev.summary.loc[0, "value"] == 3 - len(gaps) and ev.summary.loc[0, "target"] == 3


def test_planned_facilities_do_not_count_but_are_named(layers):
    ev = evaluate(parse_plan(plan_doc({**HOME_CARE, "assign": "location"})), layers, 2022)
    row = ev.failures().iloc[0]
    assert row["name"] == "回山镇" and "没有运营中的居家养老服务中心" in row["reason"]
    assert "回山中心尚在规划中（计划 2026 年建成）" in row["reason"]


def test_facility_opened_after_the_date_does_not_count_and_the_reason_says_so(layers):
    plan = parse_plan(plan_doc({**HOME_CARE, "assign": "column"}))
    # 羽林中心 opened in 2015: counted at the end of 2015, not at the end of 2014
    assert "330624001" not in evaluate(plan, layers, 2022, as_of="2015-12-31").gaps("hc")
    early = evaluate(plan, layers, as_of="2020-06-30")
    assert early.as_of == dt.date(2020, 6, 30) and early.year == 2020
    lyr = dict(layers)
    fac = layers["elderly_care"].copy()
    fac.loc[fac["facility_id"] == "E1", "opened"] = 2023
    lyr["elderly_care"] = fac
    ev = evaluate(plan, lyr, 2022)
    assert ev.as_of == dt.date(2022, 12, 31)
    row = ev.townships.set_index("code").loc["330624001"]
    assert row["status"] == "未达标" and row["value"] == 0
    assert "羽林中心 2023 年建成，评估日 2022-12-31 时尚未建成" in row["reason"]
    assert evaluate(plan, lyr, 2023).townships.set_index("code").loc["330624001", "status"] == "达标"


def test_closed_facility_does_not_count(layers):
    lyr = dict(layers)
    fac = layers["elderly_care"].copy()
    fac["closed"] = pd.array([2021, None, None, None, None], dtype="Int64")
    lyr["elderly_care"] = validate_frame(fac, "elderly_care")
    plan = parse_plan(plan_doc({**HOME_CARE, "assign": "column"}))
    assert evaluate(plan, lyr, 2020).townships.set_index("code").loc["330624001", "status"] == "达标"
    row = evaluate(plan, lyr, 2022).townships.set_index("code").loc["330624001"]
    assert row["status"] == "未达标" and "羽林中心已于 2021 年撤销" in row["reason"]


def test_sample_2022_evaluation_of_xinchang_ignores_facilities_opened_in_2023():
    """Facilities of the sample that opened in 2023 do not count at the end of 2022: the township fails
    unless another one was already operating, and the reason names the facility and its year."""
    from geoplan.coverage.evaluation import in_service
    from geoplan.layers.sample import load_sample

    data = load_sample("330624")
    ev = evaluate(load_plan(ROOT / "plans" / "330624_2022.toml"), data.layers)
    t = ev.townships.set_index(["rule_id", "code"])
    checked = 0
    for rule_id in ("home_care_centre", "social_work_station", "disability_home"):
        rule = ev.plan.rule(rule_id)
        layer = data[rule.get("layer")]
        if rule_id == "home_care_centre":
            layer = layer[layer["kind"] == "居家养老服务中心"]
        late = layer[(layer["status"] == "运营") & (layer["opened"] == 2023)]
        for f in late.itertuples():
            row = t.loc[(rule_id, f.township_code)]
            assert f"{f.name} 2023 年建成，评估日 2022-12-31 时尚未建成" in row["reason"]
            same_town = layer[layer["township_code"] == f.township_code]
            if not in_service(same_town, ev.as_of).any():  # nothing else there yet: the township fails
                assert row["status"] in ("未达标", "不要求")
            checked += 1
    assert checked >= 2  # the sample has 2023 openings to check


def test_reasons_name_the_facilities_that_exist_but_do_not_qualify():
    from geoplan.coverage.evaluation import in_service
    from geoplan.layers.sample import load_sample

    data = load_sample("330624")
    ev = evaluate(load_plan(ROOT / "plans" / "330624_2022.toml"), data.layers)
    t = ev.townships.set_index(["rule_id", "code"])
    homes = data["disability_homes"]
    towns = data["townships"].set_index("code")
    plain = homes[in_service(homes, ev.as_of) & ~homes["standardised"].astype(bool)]
    assert len(plain)  # the sample has operating homes that are not standardised
    for h in plain.itertuples():
        if ((homes["township_code"] == h.township_code) & homes["standardised"].astype(bool)).any():
            continue  # a standardised one there as well: nothing to explain
        if towns.loc[h.township_code, "population"] < 10_000:
            continue  # not required there
        reason = t.loc[("disability_home", h.township_code), "reason"]
        assert f"（{h.name}），但未达规范化标准" in reason
        assert "没有运营中的残疾人之家" not in reason
    cem = data["cemeteries"]
    plain = cem[in_service(cem, ev.as_of) & ~cem["eco_burial"].astype(bool) & (cem["kind"] == "公益性公墓")]
    eco_towns = set(cem.loc[in_service(cem, ev.as_of) & cem["eco_burial"].astype(bool), "township_code"])
    for c in plain[~plain["township_code"].isin(eco_towns)].itertuples():
        reason = t.loc[("eco_burial_site", c.township_code), "reason"]
        assert f"（{c.name}），但不是节地生态安葬点" in reason


def test_population_threshold(layers):
    rule = {**HOME_CARE, "id": "big", "kind": "population_threshold", "threshold": 10000, "assign": "location"}
    ev = evaluate(parse_plan(plan_doc(rule)), layers, 2022)
    t = ev.townships.set_index("code")
    assert t.loc["330624104", "status"] == "不要求" and pd.isna(t.loc["330624104", "passed"])  # 9,100 people
    assert "不足 10,000 人" in t.loc["330624104", "reason"]
    assert t.loc["330624001", "passed"] and t.loc["330624002", "passed"]


def test_ratio_over_layer_and_year_targets(layers):
    rule = {"id": "nb", "kind": "ratio", "layer": "elderly_care", "where": {"kind": "养老机构"},
            "numerator": "nursing_beds", "denominator": "beds", "baseline": {"2020": 0.53},
            "target": {"2023": 0.45, "2025": 0.58}}
    plan = parse_plan(plan_doc(rule))
    expected = (180 + 20) / (300 + 100)
    for year, target, status in ((2024, 0.45, "达标"), (2025, 0.58, "未达标"), (2030, 0.58, "未达标")):
        s = evaluate(plan, layers, year).summary.iloc[0]
        assert s["value"] == pytest.approx(expected) and s["target"] == target and s["status"] == status
        assert s["baseline"] == 0.53 and s["baseline_year"] == 2020
    s = evaluate(plan, layers, 2022).summary.iloc[0]
    assert pd.isna(s["target"]) and s["status"] == "不要求" and "2022 年无目标" in s["reason"]


def test_public_institutions_only(layers):
    rule = {"id": "dm", "kind": "ratio", "layer": "elderly_care", "where": {"kind": "养老机构", "ownership": "公办"},
            "numerator": "dementia_beds", "denominator": "beds", "target": 0.05}
    s = evaluate(parse_plan(plan_doc(rule)), layers, 2022).summary.iloc[0]
    assert s["value"] == pytest.approx(20 / 300)  # the private 敬老院's 100 beds are not in it


def test_statistics_are_taken_for_the_evaluated_year_only(layers):
    rules = [
        {"id": "so", "kind": "per_population", "statistic": "orgs", "per": 10000, "target": 40},
        {"id": "cw", "kind": "per_population", "statistic": "carers", "population": "pop_60plus",
         "per": 10000, "target": 25},
        {"id": "eco", "kind": "ratio", "numerator": "eco", "denominator": "all", "target": 0.65},
        {"id": "db", "kind": "statistic", "statistic": "dibao", "unit": "元/年", "target": {"2022": 11000}},
    ]
    stats = {"orgs": {"2021": 400, "2022": 500}, "carers": {"2020": 60, "2022": 70}, "eco": {"2022": 70},
             "all": {"2022": 100}, "dibao": {"label": "低保年标准", "2021": 10800, "2022": 11400}}
    plan = parse_plan(plan_doc(*rules, statistics=stats))
    s = evaluate(plan, layers, 2022).summary.set_index("rule_id")
    people = layers["townships"]["population"].sum()
    elderly = layers["townships"]["pop_60plus"].sum()
    assert s.loc["so", "value"] == pytest.approx(500 / people * 10000)
    assert s.loc["cw", "value"] == pytest.approx(70 / elderly * 10000)
    assert s.loc["eco", "value"] == pytest.approx(0.7) and s.loc["eco", "status"] == "达标"
    assert s.loc["db", "value"] == 11400 and s.loc["db", "status"] == "达标"
    s2021 = evaluate(plan, layers, 2021).summary.set_index("rule_id")
    # no 2021 figure for eco / carers: not evaluated, and the reason names the missing figure
    assert s2021.loc["eco", "status"] == "无法评估" and "缺少 2021 年统计" in s2021.loc["eco", "reason"]
    assert pd.isna(s2021.loc["cw", "value"]) and "carers（已有 2020、2022 年数据）" in s2021.loc["cw", "reason"]
    assert s2021.loc["so", "value"] == pytest.approx(400 / people * 10000)


def test_travel_rule_without_network_is_not_a_pass(layers):
    rule = {**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 15, "target": 0.9}
    s = evaluate(parse_plan(plan_doc(rule)), layers, 2022).summary.iloc[0]
    assert pd.isna(s["passed"]) and s["status"] == "无法评估"


def test_travel_rule_with_evaluator(layers):
    seen = {}

    def fake_travel(rule, lyr):
        seen["ids"] = sorted(lyr["elderly_care"]["facility_id"])
        towns = lyr["townships"]
        return pd.DataFrame({"code": towns["code"], "population_total": [100, 200, 300],
                             "population_within": [100, 150, 0], "unreachable": [0, 0, 280],
                             "off_network": [0, 0, 20]})

    rule = {**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 15, "target": 0.7}
    ev = evaluate(parse_plan(plan_doc(rule)), layers, 2022, travel=fake_travel)
    assert seen["ids"] == ["E1", "E2", "E4", "E5"]  # the planned E3 is not travelled to
    assert ev.townships["status"].tolist() == ["达标", "达标", "未达标"]
    s = ev.summary.iloc[0]
    assert s["value"] == pytest.approx(250 / 600) and s["status"] == "未达标"
    assert "280 人所在道路与设施不连通" in s["reason"] and "41.7%" in s["reason"] and "90" not in s["reason"]
    assert "目标不低于 70.0%" in s["reason"]


def test_village_coverage(layers):
    towns = layers["townships"]
    villages = gpd.GeoDataFrame(
        {"code": ["330624001001", "330624001002", "330624002001"], "name": ["东村", "西村", "南村"],
         "kind": ["村", "村", "村"], "township_code": ["330624001", "330624001", "330624002"]},
        geometry=shapely.points([120.82, 120.83, 120.87], [29.42] * 3), crs=4490)
    homes = gpd.GeoDataFrame(
        {"facility_id": ["C1", "C2", "C3"], "name": ["东村儿童之家", "西村儿童之家", "南村儿童之家"],
         "township_code": ["330624001", "330624001", "330624002"], "status": ["运营", "运营", "运营"],
         "opened": [2019, 2024, 2018], "village_code": ["330624001001", "330624001002", "330624002001"]},
        geometry=shapely.points([120.82, 120.83, 120.87], [29.42] * 3), crs=4490)
    lyr = {"townships": towns, "villages": validate_frame(villages, "villages"),
           "children_homes": validate_frame(homes, "children_homes")}
    rule = {"id": "ch", "kind": "village_coverage", "layer": "children_homes", "from_year": 2022}
    plan = parse_plan(plan_doc(rule))
    ev = evaluate(plan, lyr, 2023)
    s = ev.summary.iloc[0]
    assert s["value"] == pytest.approx(2 / 3) and s["status"] == "未达标" and "2/3 个村(社区)" in s["reason"]
    t = ev.townships.set_index("code")
    assert t.loc["330624001", "status"] == "未达标" and "缺：西村" in t.loc["330624001", "reason"]
    assert t.loc["330624002", "status"] == "达标"
    assert evaluate(plan, lyr, 2024).summary.iloc[0]["status"] == "达标"
    assert evaluate(plan, lyr, 2021).summary.iloc[0]["status"] == "不要求"


def test_plan_for_another_county_is_refused(layers):
    with pytest.raises(CoverageError, match="330727"):
        evaluate(parse_plan(plan_doc(HOME_CARE, county="330727")), layers, 2022)


def test_missing_layer_is_explained(layers):
    rule = {"id": "sw", "kind": "full_coverage", "layer": "social_work_stations"}
    with pytest.raises(CoverageError, match="social_work_stations"):
        evaluate(parse_plan(plan_doc(rule)), layers, 2022)


def test_year_outside_the_plan_is_refused(layers):
    plan = parse_plan(plan_doc(HOME_CARE, year=2025))
    for year in (99999, 2019, 2026):
        with pytest.raises(PlanError, match=f"评估年份 {year} 不在规划期 2020—2025 年内"):
            evaluate(plan, layers, year)
    with pytest.raises(PlanError, match="不是日期"):
        evaluate(plan, layers, as_of="2022-13-40")


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


def test_travel_rule_with_no_facility_open_reports_nobody_within_instead_of_failing():
    """A county whose centres all open after the evaluation date: every township 0 %, the same people
    counted as when a centre exists, and the reason says why (a province run stopped here before)."""
    from geoplan.layers.sample import load_sample

    county = load_sample("330624")
    net = RoadNetwork.from_roads(county["roads"])
    travel = road_travel(net, county.population)
    rule = parse_plan(plan_doc({**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 15,
                                "population": "pop_60plus", "target": 0.9})).rules[0]
    with_centres = travel(rule, county.layers).set_index("code")
    none = dict(county.layers)
    care = county["elderly_care"]
    none["elderly_care"] = care[care["kind"] != "居家养老服务中心"]
    without = travel(rule, none).set_index("code")
    assert np.allclose(without.loc[with_centres.index, "population_total"], with_centres["population_total"])
    assert (without["population_within"] == 0).all() and with_centres["population_within"].sum() > 0

    plan = parse_plan(plan_doc({**HOME_CARE, "id": "tt", "kind": "travel_time", "minutes": 15,
                                "population": "pop_60plus", "target": 0.9}))
    ev = evaluate(plan, none, 2025, travel=travel)
    assert (ev.townships["value"] == 0).all() and ev.townships["status"].eq(FAIL).all()
    assert ev.townships["reason"].str.contains("县内没有运营中的居家养老服务中心").all()
    assert ev.summary.loc[0, "value"] == 0 and "没有运营中的居家养老服务中心" in ev.summary.loc[0, "reason"]


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


# ------------------------------------------------------------------ the shipped plans on the sample counties

@pytest.mark.parametrize("county, plan_file, year", [("330624", "330624_2022.toml", 2022),
                                                       ("330727", "330727_2025.toml", 2022),
                                                       ("330727", "330727_2025.toml", 2025)])
def test_sample_plans_find_the_gaps_an_independent_count_finds(county, plan_file, year):
    from geoplan.layers.sample import load_sample

    data = load_sample(county)
    plan = load_plan(ROOT / "plans" / plan_file)
    ev = evaluate(plan, data.layers, year)
    towns = data["townships"]
    checked = 0
    for rule in plan.rules:
        if rule.kind not in ("full_coverage", "population_threshold") or not rule.required_in(year):
            continue
        fac = data[rule.get("layer")]
        keep = (fac["status"] == "运营") & ~(fac["opened"] > year).fillna(False)
        alternatives = rule.get("where") if isinstance(rule.get("where"), list) else [rule.get("where") or {}]
        any_alt = np.zeros(len(fac), dtype=bool)
        for alt in alternatives:
            m = np.ones(len(fac), dtype=bool)
            for col, wanted in alt.items():
                m &= fac[col].isin(wanted if isinstance(wanted, list) else [wanted]).to_numpy(dtype=bool)
            any_alt |= m
        fac = fac[keep.to_numpy(dtype=bool) & any_alt]
        expected = []
        for _, t in towns.iterrows():  # brute force: a facility serves the township it stands in or is assigned to
            inside = any(t.geometry.contains(p) for p in fac.geometry)
            assigned = (fac["township_code"] == t["code"]).any()
            required = rule.kind == "full_coverage" or t["population"] >= rule.get("threshold")
            if required and not (inside or assigned):
                expected.append(t["code"])
        assert sorted(ev.gaps(rule.id)) == sorted(expected), rule.id
        checked += 1
    assert checked >= 1
    # the sample data is built with deliberate gaps, so the plan must find some
    assert len(ev.failures()) > 0 and ev.summary["status"].eq("未达标").any()


def test_status_alias_evaluates_like_the_canonical_value(layers):
    canonical = evaluate(parse_plan(plan_doc({**HOME_CARE, "status": "运营"})), layers, 2022)
    alias = evaluate(parse_plan(plan_doc({**HOME_CARE, "status": "operating"})), layers, 2022)
    assert alias.townships["status"].tolist() == canonical.townships["status"].tolist()
    assert alias.summary.loc[0, "value"] == 3
