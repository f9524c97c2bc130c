"""The county outlines of Zhejiang (shipped package data) and which counties can be built.

The outlines are Aliyun DataV GeoAtlas's (2021), in GCJ-02 as published; they
are converted to CGCS2000 on loading. A county can be built when it has an
outline and official townships (NBS 2022 list): 88 of Zhejiang's 90 today —
the outlines still show 下城区/江干区 (merged in 2021) and have none for
临平区/钱塘区 (created in 2021).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import geopandas as gpd
import pandas as pd
import shapely

from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.layers.crs import gcj02_to_cgcs2000
from geoplan.layers.divisions import official_townships

OUTLINES_FILE = "zhejiang_counties.geojson.gz"


@lru_cache(maxsize=1)
def _load() -> gpd.GeoDataFrame:
    ref = resources.files("geoplan") / "data" / OUTLINES_FILE
    with resources.as_file(ref) as path:
        zj = gpd.read_file(f"/vsigzip/{path}", engine="pyogrio")
    zj["adcode"] = zj["adcode"].astype(str)
    zj = zj.set_crs(4326, allow_override=True)
    zj = zj[zj["adcode"].str.len() == 6].sort_values("adcode").reset_index(drop=True)
    # Outlines are GCJ-02 though labelled EPSG:4326.
    zj = gcj02_to_cgcs2000(zj)
    zj["geometry"] = shapely.make_valid(zj.geometry.values)
    centers = [json.loads(c) if isinstance(c, str) else list(c) for c in zj["center"]]
    seats = gpd.GeoDataFrame(geometry=gpd.points_from_xy([c[0] for c in centers],
                                                         [c[1] for c in centers]), crs=4326)
    seats = gcj02_to_cgcs2000(seats)
    zj["center_lon"] = seats.geometry.x.values
    zj["center_lat"] = seats.geometry.y.values
    return zj[["adcode", "name", "prefecture", "center_lon", "center_lat", "geometry"]]


def load_zhejiang() -> gpd.GeoDataFrame:
    """All county outlines of Zhejiang in CGCS2000 (EPSG:4490).

    Returns
    -------
    geopandas.GeoDataFrame
        ``adcode, name, prefecture, center_lon, center_lat, geometry`` with
        the seat (DataV's ``center``) converted from GCJ-02 too, sorted by
        adcode. A copy: change it freely.

    Examples
    --------
    >>> zj = load_zhejiang()
    >>> len(zj), zj.crs.to_epsg()
    (90, 4490)
    """
    return _load().copy()


def zhejiang_counties() -> pd.DataFrame:
    """Every county-level code of Zhejiang and whether a sample can be built for it.

    Returns
    -------
    pandas.DataFrame
        ``code, name, prefecture, buildable, reason`` — ``reason`` (Chinese)
        says why a county cannot be built.

    Examples
    --------
    >>> t = zhejiang_counties()
    >>> int(t["buildable"].sum()), t.set_index("code").loc["331023", "name"]
    (88, '天台县')
    """
    zj = _load()
    tw = official_townships()
    tw = tw[tw["province_code"] == "33"]
    names = dict(zip(tw["county_code"], tw["county_name"]))
    rows = []
    for code in sorted(set(zj["adcode"]) | set(names)):
        has_outline = code in set(zj["adcode"])
        has_townships = code in names
        name = names.get(code) or zj.loc[zj["adcode"] == code, "name"].iloc[0]
        if has_outline and has_townships:
            reason = ""
        elif has_outline:
            reason = _("{name} ({code}) has no townships in the 2022 statistical division codes (the district "
                       "was merged), so its sample cannot be built.").format(name=name, code=code)
        else:
            reason = _("The bundled Zhejiang county outlines (DataV 2021) have no outline of {name} ({code}), so "
                       "its sample cannot be built.").format(name=name, code=code)
        pref = code[:4] + "00"
        rows.append(dict(code=code, name=name, prefecture=pref, buildable=has_outline and has_townships,
                         reason=reason))
    return pd.DataFrame(rows)


def check_county(code) -> str:
    """The county's name, or a :class:`GeoplanError` in Chinese saying why it cannot be built.

    Examples
    --------
    >>> check_county("330624")
    '新昌县'
    >>> try:
    ...     check_county("110101")
    ... except GeoplanError as exc:
    ...     print(str(exc).split("。")[0])
    110101 不是浙江省的县级行政区划代码
    """
    code = str(code).strip()
    table = zhejiang_counties().set_index("code")
    if code not in table.index:
        hint = _("A 6-digit code is needed; ") if not (len(code) == 6 and code.isdigit()) else ""
        raise GeoplanError(_(
            "{code} is not a county-level division code of Zhejiang. {hint}For example 330624 (新昌县), "
            "330727 (磐安县), 331023 (天台县); all codes: `geoplan sample list`.").format(code=code, hint=hint))
    row = table.loc[code]
    if not row["buildable"]:
        raise GeoplanError(_("{reason} The counties that can be built: `geoplan sample list`.").format(
            reason=row["reason"]))
    return str(row["name"])
