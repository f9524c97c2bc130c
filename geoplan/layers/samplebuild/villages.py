"""Villages (村) and communities (社区): real names and codes, illustrative positions.

Names and codes are the National Bureau of Statistics' 2023 village-level
units (``geoplan/data/villages_2023_zhejiang.csv.gz``, from
``data/raw/divisions_2023``). The kind follows the code's last three digits:
001–199 居民委员会 → 社区, 200–399 村民委员会 → 村; the few 400–599 units
(林场/农场生活区, 管理区, 水库社区 — 类似居委会/村委会) are counted as 社区.
The place name is the settlement's (对面山村), the committee's name
(对面山村委会) is kept in the ``committee`` column.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
import shapely

from geoplan.layers.samplebuild.common import S_VILL, random_points_in, rng_for

VILLAGES_FILE = "villages_2023_zhejiang.csv.gz"
EDITION = "2023-06-30"

_VILLAGE_SUFFIXES = ("村民委员会", "村委员会", "村委会")
_COMMUNITY_SUFFIXES = ("社区居民委员会", "社区居委会", "居民委员会", "居委会")


@lru_cache(maxsize=1)
def _official() -> pd.DataFrame:
    ref = resources.files("geoplan") / "data" / VILLAGES_FILE
    with resources.as_file(ref) as path:
        return pd.read_csv(path, dtype=str, keep_default_na=False, compression="gzip")


def village_kind(code: str) -> str:
    """村 or 社区 from a 12-digit village code (001–199 社区, 200–399 村, others 社区).

    Examples
    --------
    >>> village_kind("330624001001"), village_kind("330624001200")
    ('社区', '村')
    """
    n = int(str(code)[9:12])
    return "村" if 200 <= n <= 399 else "社区"


def place_name(committee: str, kind: str) -> str:
    """The settlement's name from the committee's: 对面山村委会 → 对面山村, 城南社区居委会 → 城南社区.

    Examples
    --------
    >>> place_name("对面山村委会", "村"), place_name("澄潭居委会", "社区"), place_name("小将林场管理区", "社区")
    ('对面山村', '澄潭社区', '小将林场管理区')
    """
    suffixes, generic = (_VILLAGE_SUFFIXES, "村") if kind == "村" else (_COMMUNITY_SUFFIXES, "社区")
    for s in suffixes:
        if committee.endswith(s) and len(committee) > len(s):
            return committee[: -len(s)] + generic
    return committee


def county_villages(county_code: str) -> pd.DataFrame:
    """The official village-level units of one Zhejiang county (2023), in code order.

    Returns
    -------
    pandas.DataFrame
        ``code, name, kind, township_code, committee``: ``name`` is the place
        name, ``committee`` the official committee name.

    Examples
    --------
    >>> v = county_villages("330624")
    >>> len(v), int((v["kind"] == "村").sum())
    (292, 253)
    >>> v.loc[v["code"] == "330624001200", ["name", "committee"]].values.tolist()
    [['后岸村', '后岸村委会']]
    """
    table = _official()
    sub = table[table["code"].str[:6] == str(county_code)].sort_values("code").reset_index(drop=True)
    kinds = [village_kind(c) for c in sub["code"]]
    return pd.DataFrame(dict(code=sub["code"].values,
                             name=[place_name(n, k) for n, k in zip(sub["name"], kinds)],
                             kind=kinds, township_code=sub["township_code"].values,
                             committee=sub["name"].values))


def place_villages(polys, seats, kinds, tw, seat_tw, official: pd.DataFrame, code) -> pd.DataFrame:
    """Illustrative positions for the official villages and communities of each township.

    Communities stand around the township seat (within about 2 km in a
    街道), villages anywhere in the township at least 900 m from the seat
    and 150 m from its edge, spread apart (800 m; all three relaxed where a
    township is crowded).

    Parameters
    ----------
    polys, seats : list, numpy.ndarray
        Township polygons and seats (metres), in the order of ``tw``.
    kinds : list of str
        街道/镇/乡 of each township.
    tw : pandas.DataFrame
        Official townships (``code, name``).
    seat_tw : int
        Index of the county-seat township.
    official : pandas.DataFrame
        :func:`county_villages` of the county.
    code : str
        County code (the seed).

    Returns
    -------
    pandas.DataFrame
        ``official``'s columns plus ``x, y``, in code order.
    """
    rng = rng_for(code, S_VILL)
    xy = np.full((len(official), 2), np.nan)
    for k, p in enumerate(polys):
        tcode = tw["code"].iloc[k]
        rows = np.flatnonzero(official["township_code"].values == tcode)
        if not len(rows):
            continue
        shapely.prepare(p)
        seat = np.asarray(seats[k], float)
        comm = [i for i in rows if official["kind"].iloc[i] == "社区"]
        vill = [i for i in rows if official["kind"].iloc[i] == "村"]
        placed: list[np.ndarray] = []
        # Communities first: around the seat, spreading out when the seat area is full.
        r_max, spacing, tries = (2200.0 if kinds[k] == "街道" else 600.0), 450.0, 0
        area = _near(p, seat, r_max)
        for i in comm:
            while True:
                tries += 1
                if tries % 400 == 0:
                    r_max, spacing = r_max * 1.25, spacing * 0.85
                    area = _near(p, seat, r_max)
                q = random_points_in(area, 1, rng)[0]
                if any(np.hypot(*(q - o)) < spacing for o in placed):
                    continue
                break
            placed.append(q)
            xy[i] = q
        # Villages keep off the township's edge: a settlement on a county line would look like a
        # road crossing there.
        edge = shapely.boundary(p)
        shapely.prepare(edge)
        spacing, near_seat, off_edge, tries = 800.0, 900.0, 150.0, 0
        for i in vill:
            while True:
                tries += 1
                if tries % 3000 == 0:
                    spacing, near_seat, off_edge = spacing * 0.8, near_seat * 0.8, off_edge * 0.8
                q = random_points_in(p, 1, rng)[0]
                if np.hypot(*(q - seat)) < near_seat:
                    continue
                if shapely.dwithin(edge, shapely.Point(q), off_edge):
                    continue
                if any(np.hypot(*(q - o)) < spacing for o in placed):
                    continue
                break
            placed.append(q)
            xy[i] = q
    out = official.copy()
    out["x"], out["y"] = xy[:, 0], xy[:, 1]
    missing = out["x"].isna()
    if missing.any():  # a village whose township is not among the county's official townships
        raise ValueError(f"villages outside the official townships: {out.loc[missing, 'code'].tolist()[:5]}")
    return out


def _near(poly, seat, radius):
    """The part of ``poly`` within ``radius`` of ``seat`` (all of it if that part is tiny)."""
    area = shapely.intersection(poly, shapely.Point(seat).buffer(radius, quad_segs=8))
    return area if area.area > 0.05 * min(poly.area, np.pi * radius ** 2) else poly


# Same toneless pinyin, different character: the kind of pair the naming
# rules exist to catch. No polyphonic characters, so the reading is certain.
HOMOPHONE_CHARS = {"东": "冬", "西": "溪", "上": "尚", "下": "夏", "大": "达", "小": "晓", "新": "欣",
                   "黄": "皇", "梅": "眉", "桃": "陶", "溪": "西", "前": "钱", "后": "厚", "高": "皋",
                   "山": "杉", "石": "时", "竹": "珠", "青": "清", "金": "津", "杨": "阳"}


def plant_homophone(villages: pd.DataFrame, tw: pd.DataFrame) -> str:
    """Rename one 村 to a homophone of another 村 in the same township, in place.

    Real gazetteers carry such legacy pairs, and the sample gazetteer should
    give the naming-rule check something to find in every county. Only the
    place name (``name``) changes; ``committee`` keeps the real name, so the
    change is visible in the data and is stated in the provenance table.
    Deterministic: the first township, in code order, with a 村 whose first
    character has a homophone; the last 村 of that township is renamed.

    Returns
    -------
    str
        A description for the provenance table ('' if no pair could be made).
    """
    used = set(villages["name"])
    for tcode in tw["code"]:
        vill = villages[(villages["township_code"] == tcode) & (villages["kind"] == "村")]
        if len(vill) < 2:
            continue
        for i in vill.index[:-1]:
            name = villages.at[i, "name"]
            twin = HOMOPHONE_CHARS.get(name[0], "") + name[1:]
            if name[0] in HOMOPHONE_CHARS and twin not in used:
                last = vill.index[-1]
                old = villages.at[last, "name"]
                villages.at[last, "name"] = twin
                town = tw.set_index("code").at[tcode, "name"]
                return (f"planted homophone pair {name} / {twin} in {town}: the place name of "
                        f"{villages.at[last, 'code']} ({old}, committee {villages.at[last, 'committee']}) "
                        f"was changed to {twin}")
    return ""
