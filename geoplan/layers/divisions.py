"""Official township (乡镇/街道) codes and names of all of China.

The table ships with geoplan (``geoplan/data/divisions_2022.csv.gz``, built
by ``scripts/build_divisions.py`` from the National Bureau of Statistics
codes with cut-off 2022-10-31) so that a layer's township codes can be
checked on any machine, offline.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from geoplan.errors import GeoplanError
from geoplan.i18n import _

EDITION = "2022-10-31"


@lru_cache(maxsize=1)
def official_townships() -> pd.DataFrame:
    """All 41,352 official townships: ``code, name, county_code, county_name, …``.

    Returns
    -------
    pandas.DataFrame
        One row per township, every column a string; do not modify it (it is cached).

    Examples
    --------
    >>> t = official_townships()
    >>> len(t), t.loc[t["code"] == "330624104", "name"].item()
    (41352, '回山镇')
    """
    ref = resources.files("geoplan") / "data" / "divisions_2022.csv.gz"
    with resources.as_file(ref) as path:
        return pd.read_csv(path, dtype=str, keep_default_na=False, compression="gzip")


def county_townships(county_code: str) -> pd.DataFrame:
    """The official townships of one county, in code order.

    Raises
    ------
    GeoplanError
        If the county code is not in the official list.

    Examples
    --------
    >>> t = county_townships("330624")
    >>> len(t), t["name"].iloc[0], t["code"].iloc[-1]
    (12, '羽林街道', '330624201')
    """
    table = official_townships()
    sub = table[table["county_code"] == str(county_code)].sort_values("code").reset_index(drop=True)
    if sub.empty:
        raise GeoplanError(_(
            "County code {code} has no townships in the official list (edition {edition}). "
            "Check the 6-digit code, e.g. 330624 for 新昌县."
        ).format(code=repr(county_code), edition=EDITION))
    return sub


def township_kind(name: str) -> str:
    """街道, 镇 or 乡 from an official township name (others, e.g. 农场, give '').

    Examples
    --------
    >>> township_kind("羽林街道"), township_kind("儒岙镇"), township_kind("东茗乡"), township_kind("五一农场")
    ('街道', '镇', '乡', '')
    """
    for suffix in ("街道", "镇", "乡"):
        if name.endswith(suffix):
            return suffix
    return ""
