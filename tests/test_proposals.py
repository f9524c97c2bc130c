"""Siting proposals on the sample county, and the `geoplan site` command."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geoplan.network.graph import RoadNetwork
from geoplan.coverage.proposals import candidate_sites, demand_blocks, propose_sites, with_sites
from geoplan.layers.sample import load_sample


@pytest.fixture(scope="module")
def setting():
    county = load_sample("330624")
    net = RoadNetwork.from_roads(county["roads"])
    care = county["elderly_care"]
    existing = care[(care["kind"] == "居家养老服务中心") & (care["status"] == "运营")]
    return county, net, existing


def test_demand_blocks_keep_everybody(setting):
    county, _, _ = setting
    everybody = demand_blocks(county, "population")
    elderly = demand_blocks(county, "pop_60plus")
    assert everybody["population"].sum() == pytest.approx(county.population.total)
    assert elderly["population"].sum() == pytest.approx(county["townships"]["pop_60plus"].sum())


def test_mclp_proposal_covers_what_it_claims(setting):
    county, net, existing = setting
    two = propose_sites(county, net, existing, minutes=15, n_new=2)
    one = propose_sites(county, net, existing, minutes=15, n_new=1)
    assert len(two.sites) == 2 and two.result.objective >= one.result.objective
    assert set(two.sites["site_id"]) <= set(candidate_sites(county)["site_id"])
    # Independent check: route every block to the open sites and count who is within 15 minutes.
    open_sites = pd.concat([existing[["facility_id", "geometry"]].rename(columns={"facility_id": "site_id"}),
                            two.sites[["site_id", "geometry"]]], ignore_index=True)
    open_sites = open_sites.set_geometry("geometry").set_crs(existing.crs, allow_override=True)
    near = net.nearest_facility(two.demand, open_sites, demand_id="block_id", facility_id="site_id")
    covered = two.demand.set_index("block_id").loc[near.index[near["minutes"] <= 15], "population"].sum()
    assert covered == pytest.approx(two.result.objective, rel=1e-6)


def test_with_sites_adds_operating_facilities(setting):
    county, net, existing = setting
    proposal = propose_sites(county, net, existing, minutes=15, n_new=1)
    layers = with_sites(county.layers, "elderly_care", proposal.sites, kind="居家养老服务中心")
    added = layers["elderly_care"].iloc[len(county["elderly_care"]):]
    assert len(added) == 1 and added["status"].tolist() == ["运营"] and added["kind"].tolist() == ["居家养老服务中心"]
    assert len(county["elderly_care"]) + 1 == len(layers["elderly_care"])  # the original is untouched


def run(*args):
    return subprocess.run([sys.executable, "-m", "geoplan.cli.main", "site", *map(str, args)], capture_output=True,
                          text=True)


def test_site_cli(tmp_path):
    res = run("mclp", "--new", "2", "--kind", "居家养老服务中心", "--out", tmp_path / "new.csv")
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "new.csv", encoding="utf-8-sig")
    assert len(table) == 2 and {"site_id", "name", "reason", "lon", "lat"} <= set(table.columns)
    assert np.all((table["lon"] > 120) & (table["lon"] < 122))
    bad = run("mclp", "--new", "2", "--out", tmp_path / "new.txt")
    assert bad.returncode == 1 and ".txt" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "new.txt").exists()
