import warnings

import geopandas as gpd
import pytest
import shapely

# Real 新昌县 township codes and names (NBS 2022); the boxes are made up.
TOWNS = [
    ("330624001", "羽林街道", "街道", 52000, 11000),
    ("330624002", "南明街道", "街道", 61000, 12500),
    ("330624104", "回山镇", "镇", 9100, 3100),
]


@pytest.fixture
def towns():
    boxes = [shapely.box(120.80 + 0.05 * i, 29.40, 120.85 + 0.05 * i, 29.45) for i in range(len(TOWNS))]
    return gpd.GeoDataFrame(
        {
            "code": [t[0] for t in TOWNS],
            "name": [t[1] for t in TOWNS],
            "kind": [t[2] for t in TOWNS],
            "county_code": ["330624"] * len(TOWNS),
            "population": [t[3] for t in TOWNS],
            "pop_60plus": [t[4] for t in TOWNS],
        },
        geometry=boxes,
        crs="EPSG:4490",
    )


@pytest.fixture
def centres():
    """Home-care centres and an institution as a plain table with lon/lat (a planner's spreadsheet)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "facility_id": ["E1", "E2", "E3"],
            "name": ["羽林街道居家养老服务中心", "南明街道居家养老服务中心", "新昌县社会福利院"],
            "kind": ["居家养老服务中心", "居家养老服务中心", "养老机构"],
            "township_code": ["330624001", "330624002", "330624002"],
            "status": ["运营", "operating", "运营"],
            "opened": [2019, 2021, 2008],
            "beds": ["", "", 300],
            "nursing_beds": ["", "", 160],
            "lon": [120.825, 120.875, 120.880],
            "lat": [29.425, 29.425, 29.430],
        }
    )


@pytest.fixture(autouse=True)
def _quiet_gdal_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*field name.*")
        warnings.filterwarnings("ignore", message="Column names longer than 10")
        yield
