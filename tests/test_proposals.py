"""Siting proposals on the sample counties respect the plan, and the `geoplan site` command."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoplan.coverage.evaluation import evaluate, road_travel
from geoplan.coverage.plans import load_plan
from geoplan.coverage.proposals import candidate_sites, demand_blocks, propose_sites, with_sites
from geoplan.layers.sample import load_sample
from geoplan.network.graph import RoadNetwork

ROOT = Path(__file__).resolve().parents[1]
PLANS = {"330624": "330624_15min.toml", "330727": "330727_30min.toml"}


@pytest.fixture(scope="module", params=["330624", "330727"])
def setting(request):
    county = load_sample(request.param)
    net = RoadNetwork.from_roads(county["roads"])
    plan = load_plan(ROOT / "plans" / "local" / PLANS[request.param])
    travel = road_travel(net, county.population)
    proposal = propose_sites(county, net, rule=plan.rules[0], n_new=3, travel=travel)
    return county, net, plan, travel, proposal


def test_demand_blocks_keep_everybody():
    county = load_sample("330624")
    everybody = demand_blocks(county, "population")
    elderly = demand_blocks(county, "pop_60plus")
    assert everybody["population"].sum() == pytest.approx(county.population.total)
    assert elderly["population"].sum() == pytest.approx(county["townships"]["pop_60plus"].sum())


def test_proposal_takes_minutes_and_population_from_the_plan_rule(setting):
    county, net, plan, travel, proposal = setting
    rule = plan.rules[0]
    assert proposal.minutes == rule.get("minutes") and proposal.population == rule.get("population")


def test_planned_facilities_are_fixed_and_nothing_is_proposed_next_to_them(setting):
    county, net, plan, travel, proposal = setting
    care = county["elderly_care"]
    planned = care[(care["kind"] == "居家养老服务中心") & (care["status"] == "规划")]
    assert len(planned) >= 1  # the samples have a planned centre (儒岙镇, 方前镇)
    assert set(proposal.planned_fixed["facility_id"]) == set(planned["facility_id"])
    fixed = set(proposal.result.sites.loc[proposal.result.sites["status"] == "fixed", "site_id"])
    assert {"G" + f for f in planned["facility_id"]} <= fixed
    # no proposed site is within 5 minutes of a planned one (儒岙 was 272 m away before)
    minutes = net.cost_matrix(planned, proposal.sites, origin_id="facility_id", destination_id="site_id", wide=True)
    assert (minutes.to_numpy(float) > 5).all()
    # every proposed site brings people within reach whom no existing or planned centre reaches
    assert (proposal.sites["new_people"] > 0).all()


def test_option_leaves_planned_facilities_out(setting):
    county, net, plan, travel, proposal = setting
    without = propose_sites(county, net, rule=plan.rules[0], n_new=1, include_planned=False, travel=travel)
    assert len(without.planned_fixed) == 0
    assert without.coverage_before < proposal.coverage_before  # the planned centre reaches people


def test_reported_coverage_is_the_re_evaluation(setting):
    """One definition of covered: the proposal's figure is the plan's evaluation on the same layers."""
    county, net, plan, travel, proposal = setting
    after = evaluate(plan, proposal.layers_after, travel=travel).summary.iloc[0]
    before = evaluate(plan, proposal.layers_before, travel=travel).summary.iloc[0]
    assert after["value"] == proposal.coverage_after and before["value"] == proposal.coverage_before
    assert proposal.coverage_after > proposal.coverage_before


def test_reasons_are_chinese_and_name_villages_and_townships(setting):
    county, net, plan, travel, proposal = setting
    villages = set(county["villages"]["name"])
    towns = set(county["townships"]["name"])
    for reason in proposal.sites["reason"]:
        assert reason.startswith("新增") and "分钟内可达" in reason
        assert any(v in reason for v in villages) and any(t in reason for t in towns)
        assert not any(ch.isascii() and ch.isalpha() for ch in reason), reason  # no block IDs, no English


def test_mclp_covers_what_it_claims_by_independent_routing():
    county = load_sample("330624")
    net = RoadNetwork.from_roads(county["roads"])
    care = county["elderly_care"]
    existing = care[(care["kind"] == "居家养老服务中心") & (care["status"] == "运营")]
    two = propose_sites(county, net, existing, minutes=15, n_new=2, include_planned=False)
    assert len(two.sites) == 2
    assert set(two.sites["site_id"]) <= set(candidate_sites(county)["site_id"])
    open_sites = pd.concat([existing[["facility_id", "geometry"]].rename(columns={"facility_id": "site_id"}),
                            two.sites[["site_id", "geometry"]]], ignore_index=True)
    open_sites = open_sites.set_geometry("geometry").set_crs(existing.crs, allow_override=True)
    near = net.nearest_facility(two.demand, open_sites, demand_id="block_id", facility_id="site_id")
    covered = two.demand.set_index("block_id").loc[near.index[near["minutes"] <= 15], "population"].sum()
    assert covered == pytest.approx(two.result.objective, rel=1e-6)


def test_with_sites_adds_operating_facilities(setting):
    county, net, plan, travel, proposal = setting
    layers = with_sites(county.layers, "elderly_care", proposal.sites, kind="居家养老服务中心")
    added = layers["elderly_care"].iloc[len(county["elderly_care"]):]
    assert len(added) == len(proposal.sites) and set(added["status"]) == {"运营"}
    assert len(county["elderly_care"]) + len(proposal.sites) == len(layers["elderly_care"])  # original untouched


def run(*args):
    return subprocess.run([sys.executable, "-m", "geoplan.cli.main", "site", *map(str, args)], capture_output=True,
                          text=True)


def test_site_cli(tmp_path):
    res = run("mclp", "--new", "2", "--plan", ROOT / "plans" / "local" / "330624_15min.toml",
              "--out", tmp_path / "new.csv")
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "new.csv", encoding="utf-8-sig")
    assert len(table) == 2 and {"site_id", "name", "reason", "lon", "lat"} <= set(table.columns)
    assert np.all((table["lon"] > 120) & (table["lon"] < 122))
    assert "15 分钟内可达的比例" in res.stdout
    bad = run("mclp", "--new", "2", "--out", tmp_path / "new.txt")
    assert bad.returncode == 1 and ".txt" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "new.txt").exists()
    unknown = run("mclp", "--new", "2", "--kind", "养老院")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "'养老院' 不是养老服务设施的类型" in unknown.stderr and "居家养老服务中心" in unknown.stderr
