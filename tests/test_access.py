"""Tests of geoplan.access.township_access_table, checked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoplan.access import township_access_table
from geoplan.network import RoadNetwork

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
