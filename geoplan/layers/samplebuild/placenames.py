"""The place-name layer: the county, its townships at their seats, villages and communities."""

from __future__ import annotations

import geopandas as gpd

from geoplan.layers.crs import STORAGE_EPSG

#: Provisional GB/T 18521 category codes. The code table of the standard
#: could not be consulted; 1120 follows the example in geoplan/layers/schema.py.
PLACE_CATEGORIES = {
    "county": ("1110", "县级行政区域 (provisional code)"),
    "township": ("1120", "乡级行政区域: 乡、镇、街道 (code as in geoplan/layers/schema.py)"),
    "community": ("1210", "社区(居民委员会) (provisional code)"),
    "village": ("1220", "行政村(村民委员会) (provisional code)"),
}


def build_place_names(code: str, county_name: str, prefecture: str, tw, seats, seat_tw, epsg: int,
                      villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One place name per county, township (at its seat) and village/community (at its point).

    Parameters
    ----------
    code, county_name, prefecture : str
        The county and its prefecture's code (the county's parent).
    tw : pandas.DataFrame
        Official townships (``code, name``).
    seats : numpy.ndarray
        Township seats in ``epsg``; the county's name stands at ``seats[seat_tw]``.
    villages : geopandas.GeoDataFrame
        The villages layer (EPSG:4490).

    Returns
    -------
    geopandas.GeoDataFrame
        ``name_id, name, category, parent_code`` in EPSG:4490.
    """
    seat_pts = gpd.GeoSeries(gpd.points_from_xy(seats[:, 0], seats[:, 1]), crs=epsg).to_crs(STORAGE_EPSG)
    pn = [dict(name_id=code, name=county_name, category=PLACE_CATEGORIES["county"][0],
               parent_code=prefecture, geometry=seat_pts.iloc[seat_tw])]
    for k in range(len(tw)):
        pn.append(dict(name_id=tw["code"].iloc[k], name=tw["name"].iloc[k],
                       category=PLACE_CATEGORIES["township"][0], parent_code=code, geometry=seat_pts.iloc[k]))
    for v in villages.itertuples():
        cat = PLACE_CATEGORIES["village" if v.kind == "村" else "community"][0]
        pn.append(dict(name_id=v.code, name=v.name, category=cat, parent_code=v.township_code,
                       geometry=v.geometry))
    return gpd.GeoDataFrame(pn, geometry="geometry", crs=STORAGE_EPSG)
