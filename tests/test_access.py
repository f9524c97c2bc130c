"""Tests of geoplan.coverage.access.township_access_table, checked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.coverage.access import township_access_table
from geoplan.network.graph import RoadNetwork

X0, Y0 = 500_000.0, 3_250_000.0


def test_township_access_table_by_hand():
    # One 10 km road at 60 km/h (1 km/min) with a facility at its west end;
    # two townships split at x = 5 km and an island road in the east one.
    roads = gpd.GeoDataFrame(
        {"road_id": ["a", "island"], "road_class": ["primary", "primary"], "speed_kmh": [60.0, 60.0]},
        geometry=[shapely.LineString([(X0, Y0), (X0 + 10_000, Y0)]),
                  shapely.LineString([(X0 + 8000, Y0 + 3000), (X0 + 9000, Y0 + 3000)])],
        crs=4549)
    net = RoadNetwork.from_roads(roads)
    towns = gpd.GeoDataFrame(
        {"code": ["330624001", "330624002"], "name": ["西镇", "东镇"]},
        geometry=[shapely.box(X0 - 1000, Y0 - 5000, X0 + 5000, Y0 + 5000),
                  shapely.box(X0 + 5000, Y0 - 5000, X0 + 11_000, Y0 + 5000)],
        crs=4549)
    fac = gpd.GeoDataFrame({"facility_id": ["F"]}, geometry=[shapely.Point(X0, Y0)], crs=4549)
    # cells on the road (no access leg): at 2, 4, 12 (outside), 7, 9 km; one on the island; one far off.
    xy = [(2000, 0), (4000, 0), (7000, 0), (9000, 0), (8500, 3000), (6000, 4900), (12_000, 0)]
    pop = [100, 300, 200, 200, 50, 10, 999]
    cells = gpd.GeoDataFrame({"cell_id": range(len(xy)), "population": pop},
                             geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=4549)
    t = township_access_table(towns, cells, fac, net, thresholds=(5, 8), max_distance_m=1000)
    t = t.set_index("code")
    west, east = t.loc["330624001"], t.loc["330624002"]
    assert west["name"] == "西镇"
    assert west.population == 400 and west.cells == 2
    assert west.mean_minutes == pytest.approx((100 * 2 + 300 * 4) / 400)
    assert west.share_beyond_5min == 0 and west.share_beyond_8min == 0
    assert west.unreachable_population == 0
    # east: 7 and 9 min on the road, 50 on the island (no route), 10 beyond 1 km of any road
    assert east.population == 460 and east.cells == 4
    assert east.mean_minutes == pytest.approx((200 * 7 + 200 * 9) / 400)
    assert east.unreachable_population == 60 and east.off_network_population == 10
    assert east.share_beyond_5min == pytest.approx(460 / 460)
    assert east.share_beyond_8min == pytest.approx((200 + 60) / 460)
    assert t.attrs["outside_population"] == 999
    per_cell = t.attrs["per_cell"]
    assert per_cell.loc[4, "status"] == "unreachable" and np.isnan(per_cell.loc[4, "minutes"])


def test_missing_population_column():
    from geoplan.errors import GeoplanError

    roads = gpd.GeoDataFrame({"road_id": ["a"], "road_class": ["primary"]},
                             geometry=[shapely.LineString([(X0, Y0), (X0 + 1000, Y0)])], crs=4549)
    net = RoadNetwork.from_roads(roads)
    pts = gpd.GeoDataFrame({"cell_id": [1]}, geometry=[shapely.Point(X0, Y0)], crs=4549)
    towns = gpd.GeoDataFrame({"code": ["330624001"]}, geometry=[shapely.box(X0 - 1, Y0 - 1, X0 + 1, Y0 + 1)],
                             crs=4549)
    with pytest.raises(GeoplanError, match="population"):
        township_access_table(towns, pts, pts.rename(columns={"cell_id": "facility_id"}), net)


# ---------------------------------------------------------------- 2SFCA against PySAL access

def _random_instance(seed, n_demand=60, n_supply=12):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 30, (n_demand, 2))
    s = rng.uniform(0, 30, (n_supply, 2))
    dist = np.hypot(*(d[:, None, :] - s[None, :, :]).transpose(2, 0, 1))
    o, t = np.meshgrid(np.arange(n_demand), np.arange(n_supply), indexing="ij")
    costs = pd.DataFrame({"origin": [f"d{i}" for i in o.ravel()], "destination": [f"s{j}" for j in t.ravel()],
                          "minutes": dist.ravel() * 2})
    costs = costs.sample(frac=0.9, random_state=seed)  # some pairs unknown (unreachable)
    demand = pd.Series(rng.integers(0, 500, n_demand).astype(float), index=[f"d{i}" for i in range(n_demand)])
    supply = pd.Series(rng.integers(1, 80, n_supply).astype(float), index=[f"s{j}" for j in range(n_supply)])
    return costs, demand, supply


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("enhanced", [False, True])
def test_two_step_fca_matches_pysal_access(seed, enhanced):
    access = pytest.importorskip("access")
    from geoplan.coverage.access import step_weights, two_step_fca

    costs, demand, supply = _random_instance(seed)
    steps = {10: 1.0, 20: 0.68, 30: 0.22}
    ours = two_step_fca(costs, demand, supply, 30, weight=step_weights(steps) if enhanced else None)
    ref = access.Access(demand_df=demand.rename("pop").rename_axis("geoid").reset_index(), demand_index="geoid",
                        demand_value="pop", supply_df=supply.rename("beds").rename_axis("geoid").reset_index(),
                        supply_index="geoid", supply_value="beds",
                        cost_df=costs, cost_origin="origin", cost_dest="destination", cost_name="minutes")
    if enhanced:
        theirs = ref.enhanced_two_stage_fca(max_cost=30, weight_fn=access.weights.step_fn(steps))
    else:
        theirs = ref.two_stage_fca(max_cost=30)
    theirs = theirs.iloc[:, 0].reindex(demand.index).fillna(0.0)
    assert np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-15)
    assert (ours > 0).any()


def test_two_step_fca_by_hand():
    from geoplan.coverage.access import two_step_fca

    # Facility A (10 beds) reaches d1 (100 people) and d2 (300); B (5 beds) reaches d2 only.
    costs = pd.DataFrame({"origin": ["d1", "d2", "d2", "d3"], "destination": ["A", "A", "B", "B"],
                          "minutes": [5, 10, 12, 45]})
    got = two_step_fca(costs, pd.Series({"d1": 100.0, "d2": 300.0, "d3": 50.0}), pd.Series({"A": 10.0, "B": 5.0}),
                       30)
    assert got["d1"] == pytest.approx(10 / 400)
    assert got["d2"] == pytest.approx(10 / 400 + 5 / 300)
    assert got["d3"] == 0.0  # beyond the catchment
