"""Addresses to points, offline, against the official township and village names.

A bureau's facility lists often hold only an address (``新昌县儒岙镇南山村12号``).
:func:`match_addresses` reads such an address the way a clerk would, from
the top down — 县 → 乡镇/街道 → 村/社区 — against

* the official townships of the county (:mod:`geoplan.layers.divisions`),
* the official village committees and residents' committees of Zhejiang
  (``geoplan/data/villages_2023_zhejiang.csv.gz``, NBS 2023 edition, built by
  ``scripts/build_divisions.py``), which give names and codes but no position,
* a ``villages`` layer with points (the workspace's own, or the gazetteer's
  places), which gives the positions, and any former names or aliases given.

Names are compared after removing the committee suffixes (``村民委员会``,
``村委会``, ``居民委员会``, ``居委会``), with the short forms people write
(``儒岙`` for 儒岙镇, ``后岸`` for 后岸村, ``羽林街办`` for 羽林街道).

Every result states its level: ``村(社区)`` when a village was recognised and
its point is known, ``乡镇(街道)`` when only the township is certain — the
point is then the township's representative point and the row says so —
and ``未匹配`` (no point) when the township cannot be determined or the
address is ambiguous. An address is never put in a township other than the
one it names: a village name that belongs to another township is ignored
and reported.

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.errors import GeoplanError
from geoplan.layers.crs import STORAGE_CRS
from geoplan.layers.divisions import county_townships
from geoplan.i18n import _

VILLAGE_EDITION = "2023-06-30"

LEVEL_VILLAGE = "村(社区)"
LEVEL_TOWNSHIP = "乡镇(街道)"
LEVEL_NONE = "未匹配"

_COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会", "村委会", "居委会", "村委", "居委")
_TOWNSHIP_SUFFIXES = ("街道办事处", "街道", "街办", "镇", "乡")
# Characters after a bare village name that show it is the village, not part of a road or shop name.
_VILLAGE_FOLLOWERS = re.compile(r"^($|[0-9一二三四五六七八九十]|村|社区|居委|组|号|自然村|行政村|[（(,，\s])")


@lru_cache(maxsize=4)
def official_villages(province: str = "33") -> pd.DataFrame:
    """Official village-level units of a province: ``code, name, township_code, county_code``.

    Only Zhejiang (``"33"``) ships with geoplan.

    Raises
    ------
    GeoplanError
        If the province's list is not packaged.

    Examples
    --------
    >>> v = official_villages()
    >>> int((v["code"].str[:6] == "330624").sum())  # 新昌县's villages and communities, 2023
    292
    """
    # the same packaged list the sample builder uses (scripts/build_divisions.py)
    ref = resources.files("geoplan") / "data" / "villages_2023_zhejiang.csv.gz"
    if province != "33":
        raise GeoplanError(_("There is no official village (community) list for province code {code}: geoplan "
                             "ships the list of Zhejiang (33) only (see data/raw/divisions_2023 and "
                             "scripts/build_divisions.py).").format(code=province))
    with resources.as_file(ref) as path:
        v = pd.read_csv(path, dtype=str, keep_default_na=False, compression="gzip")
    v["county_code"] = v["township_code"].str[:6]
    return v


def normalise(text) -> str:
    """Address text with full-width characters folded and spaces and punctuation removed.

    >>> normalise(" 新昌县 儒岙镇（南山村）１２号 ")
    '新昌县儒岙镇南山村12号'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return re.sub(r"[\s,，。、;；:：()（）\[\]【】\"'“”‘’·\-—_/]+", "", s)


def village_core(name: str) -> tuple[str, str]:
    """(short name, kind) of an official village name: ``后岸村委会`` → (``后岸``, ``村``).

    >>> village_core("临江社区居委会"), village_core("大塘坑居委会"), village_core("后岸村委会")
    (('临江', '社区'), ('大塘坑', '社区'), ('后岸', '村'))
    """
    n = normalise(name)
    for suf in _COMMITTEE_SUFFIXES:
        if n.endswith(suf) and len(n) > len(suf):
            kind = "村" if suf.startswith("村") else "社区"
            n = n[: -len(suf)]
            break
    else:
        kind = "社区" if n.endswith("社区") else "村"
    for suf in ("社区", "村"):
        if n.endswith(suf) and len(n) > len(suf) + 1:
            return n[: -len(suf)], suf
    return n, kind


def _village_variants(name: str) -> list[tuple[str, bool]]:
    """(variant, needs_follower) spellings of a village name, longest first."""
    core, kind = village_core(name)
    strong = {core + kind, core + ("村委会" if kind == "村" else "居委会"), normalise(name)}
    if kind == "社区":
        strong.add(core + "居委会")
    out = [(v, False) for v in sorted(strong, key=len, reverse=True)]
    if len(core) >= 2:
        out.append((core, True))
    return out


@dataclass
class AddressIndex:
    """The names one county's addresses are matched against (see :func:`build_index`).

    Examples
    --------
    >>> idx = build_index("330624")
    >>> idx.county_name, len(idx.townships), len(idx.villages)
    ('新昌县', 12, 292)
    """

    county_code: str
    county_name: str
    townships: pd.DataFrame   # code, name, point (shapely or None)
    villages: pd.DataFrame    # code, name, township_code, point (or None), source
    prefixes: tuple[str, ...]
    other_counties: tuple[str, ...]


def build_index(county_code: str, townships: gpd.GeoDataFrame | None = None,
                villages: gpd.GeoDataFrame | None = None, aliases: pd.DataFrame | None = None
                ) -> AddressIndex:
    """Collect the official and local names of a county for :func:`match_addresses`.

    Parameters
    ----------
    county_code : str
        6-digit county code (``"330624"``).
    townships : GeoDataFrame, optional
        Township polygons (``code``); their representative points are the
        township-level positions. Without them, township matches get no point.
    villages : GeoDataFrame, optional
        Village points (``code``, ``name``, ``township_code``) — the workspace's
        villages layer or gazetteer places. They give positions to official
        villages with the same code or name, and add local names.
    aliases : DataFrame, optional
        Former names and other spellings: ``alias`` and ``code`` (a 9-digit
        township or 12-digit village code).

    Examples
    --------
    >>> idx = build_index("330624", townships=county["townships"], villages=county["villages"])
    >>> m = match_addresses(["新昌县儒岙镇南山村12号"], idx)
    >>> m[["level", "township_name"]].iloc[0].tolist(), m.geometry.iloc[0] is not None
    (['村(社区)', '儒岙镇'], True)
    """
    county_code = str(county_code)
    off_t = county_townships(county_code)
    county_name = str(off_t["county_name"].iloc[0])
    city = str(off_t["city_name"].iloc[0])
    prov = str(off_t["province_name"].iloc[0])
    t = off_t[["code", "name"]].copy()
    t["point"] = None
    if townships is not None and len(townships):
        pts = townships.to_crs(STORAGE_CRS)
        lookup = dict(zip(pts["code"].astype(str), shapely.point_on_surface(pts.geometry.to_numpy())))
        t["point"] = t["code"].map(lookup)
    t["alias"] = [[] for _ in range(len(t))]

    try:
        v = official_villages(county_code[:2])
        v = v[v["county_code"] == county_code][["code", "name", "township_code"]].copy()
    except GeoplanError:
        v = pd.DataFrame(columns=["code", "name", "township_code"])
    v["point"] = None
    v["source"] = "官方名录"
    if villages is not None and len(villages):
        lay = villages.to_crs(STORAGE_CRS)
        lay = pd.DataFrame({"code": lay["code"].astype(str), "name": lay["name"].astype(str),
                            "township_code": lay["township_code"].astype(str),
                            "point": list(lay.geometry.to_numpy()), "source": "村点图层"})
        # A layer point gives its position to the official village of the same code and name,
        # or else of the same name and kind (村/社区) in the same township; other layer points
        # are local names of their own.
        core = [village_core(n) for n in lay["name"]]
        key_code = {(c, k): p for c, k, p in zip(lay["code"], core, lay["point"])}
        key_name = {(tc, k): p for tc, k, p in zip(lay["township_code"], core, lay["point"])}
        off_core = [village_core(n) for n in v["name"]]
        v["point"] = [key_code.get((c, k)) or key_name.get((tc, k))
                      for c, k, tc in zip(v["code"], off_core, v["township_code"])]
        used = set(zip(v["code"], off_core)) | set(zip(v["township_code"], off_core))
        extra = lay[[(c, k) not in used and (tc, k) not in used
                     for c, k, tc in zip(lay["code"], core, lay["township_code"])]]
        # A layer code merged into an official village: aliases given for it follow it.
        official_of = {(tc, k): c for c, k, tc in zip(v["code"], off_core, v["township_code"])}
        merged = {c: official_of.get((tc, k)) for c, k, tc in zip(lay["code"], core, lay["township_code"])}
        if aliases is not None and len(aliases):
            aliases = aliases.assign(code=[merged.get(c) or c for c in aliases["code"].astype(str)])
        v = pd.concat([v, extra], ignore_index=True)
    v["alias"] = [[] for _ in range(len(v))]
    v["core"] = [village_core(n)[0] for n in v["name"]]
    if aliases is not None and len(aliases):
        for alias, code in zip(aliases["alias"].astype(str), aliases["code"].astype(str)):
            target = t if len(code) == 9 else v
            hit = np.flatnonzero(target["code"].to_numpy() == code)
            for i in hit:
                target.at[target.index[i], "alias"].append(normalise(alias))
    short_county = county_name[:-1] if county_name[-1] in "县市区" and len(county_name) > 2 else county_name
    prefixes = tuple(sorted({prov, prov.rstrip("省"), city, city.rstrip("市"), county_name, short_county},
                            key=len, reverse=True))
    v = v.reset_index(drop=True)
    v["variants"] = [_village_variants(n) + [(a, False) for a in al] for n, al in zip(v["name"], v["alias"])]
    return AddressIndex(county_code, county_name, t.reset_index(drop=True), v, prefixes, ())


def _find_township(addr: str, index: AddressIndex) -> tuple[list[int], int]:
    """Indices of the townships the address names at its start, and where the rest begins."""
    best: dict[int, int] = {}
    for i, (name, aliases) in enumerate(zip(index.townships["name"], index.townships["alias"])):
        base = name
        for suf in _TOWNSHIP_SUFFIXES[1:]:
            if name.endswith(suf):
                base = name[: -len(suf)]
                break
        forms = [name, *aliases]
        if name.endswith("街道"):
            forms += [base + "街办", base + "街道办事处"]
        forms = [(f, False) for f in forms] + ([(base, True)] if len(base) >= 2 else [])
        for form, short in forms:
            # 沙溪村 is a village, not 沙溪镇 + 村: a bare short name must not be a village's start.
            if short and addr[len(form):].startswith(("村", "社区", "居委")):
                continue
            if addr.startswith(form) and best.get(i, -1) < len(form):
                best[i] = len(form)
    if not best:
        return [], 0
    longest = max(best.values())
    return [i for i, e in best.items() if e == longest], longest


def _find_villages(text: str, cand: pd.DataFrame) -> list[int]:
    """Row positions in ``cand`` of the villages named at the start of ``text`` (longest match)."""
    hits: dict[int, int] = {}
    for pos, variants in enumerate(cand["variants"]):
        for form, needs_follower in variants:
            if text.startswith(form) and (not needs_follower or _VILLAGE_FOLLOWERS.match(text[len(form):])):
                hits[pos] = max(hits.get(pos, 0), len(form))
                break
    if not hits:
        return []
    longest = max(hits.values())
    return [p for p, n in hits.items() if n == longest]


def _strip_prefixes(addr: str, index: AddressIndex) -> tuple[str, str | None]:
    """The address without province/city/county names; a reason if it names another county."""
    changed = True
    while changed:
        changed = False
        for p in index.prefixes:
            if p and addr.startswith(p):
                addr = addr[len(p):]
                changed = True
                break
    return addr, None


def _foreign_county(addr: str, index: AddressIndex) -> str | None:
    """Why the address is outside the county, if it starts with another county's name."""
    m = re.match(r"^(\w{1,4}?(县|市|区))", addr)
    if m and not m.group(1).endswith(("社区", "园区", "小区", "街区", "景区", "开发区")):
        return f"地址写的是“{m.group(1)}”，不在{index.county_name}"
    return None


def match_addresses(addresses, index: AddressIndex, names=None) -> gpd.GeoDataFrame:
    """Match addresses to official townships and villages and give each a point.

    Parameters
    ----------
    addresses : sequence of str or pandas.Series
        The addresses, one per facility.
    index : AddressIndex
        From :func:`build_index`.
    names : sequence of str, optional
        The facilities' names (``竹畈村儿童之家``). When the address gives the township
        but no village, a village of *that* township named in the facility's name is
        used, and the note says so. Names never decide the township.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per address, in order: ``address``, ``level`` (``村(社区)``,
        ``乡镇(街道)`` or ``未匹配``), ``township_code``, ``township_name``,
        ``village_code``, ``village_name``, ``point_source`` (where the point
        came from, in words) and ``note`` (why a row is not at village
        level); geometry the point used (None when unmatched), EPSG:4490.

    Examples
    --------
    >>> idx = build_index("330624")
    >>> match_addresses(["新昌县儒岙镇南山村12号"], idx)[["level", "township_name"]].iloc[0].tolist()
    ['乡镇(街道)', '儒岙镇']
    """
    addrs = list(addresses)
    t, v = index.townships, index.villages
    by_town = {code: v[v["township_code"] == code] for code in t["code"]}
    rows = []
    names = list(names) if names is not None else [None] * len(addrs)
    for raw, fname in zip(addrs, names):
        addr = normalise(raw)
        from_name = ""
        rec = dict(address="" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw),
                   level=LEVEL_NONE, township_code=None, township_name=None, village_code=None,
                   village_name=None, point_source="无", note="", geometry=None)
        rows.append(rec)
        if not addr:
            rec["note"] = "地址为空"
            continue
        rest, _found = _strip_prefixes(addr, index)
        towns, end = _find_township(rest, index)
        foreign = None if towns else _foreign_county(rest, index)
        if foreign:
            rec["note"] = foreign
            continue
        if len(towns) > 1:
            rec["note"] = "乡镇名有歧义：" + "、".join(t["name"].iloc[towns])
            continue
        if towns:
            ti = towns[0]
            cand = by_town[t["code"].iloc[ti]]
            vi = _find_villages(rest[end:], cand)
            if not vi:
                # The village may be written before a road name etc.; search any position.
                vi = _search_anywhere(rest[end:], cand)
            if not vi and fname:
                nm = normalise(fname)
                vi = _find_villages(nm, cand) or _search_anywhere(nm, cand)
                from_name = f"村(社区)名取自设施名称“{fname}”" if vi else ""
        else:
            cand = v
            vi = _find_villages(rest, cand) or _search_anywhere(rest, cand)
            tcodes = set(cand["township_code"].iloc[vi]) if vi else set()
            if len(tcodes) != 1:
                rec["note"] = ("村名“" + "、".join(sorted(set(cand["name"].iloc[vi]))) + "”在多个乡镇都有，地址未写乡镇"
                               if vi else "地址中没有可识别的乡镇(街道)或村(社区)名")
                continue
            ti = int(np.flatnonzero(t["code"].to_numpy() == next(iter(tcodes)))[0])
        rec["township_code"], rec["township_name"] = t["code"].iloc[ti], t["name"].iloc[ti]
        if len(vi) > 1 and len(set(cand["code"].iloc[vi])) > 1:
            with_point = [i for i in vi if cand["point"].iloc[i] is not None]
            vi = with_point if len(with_point) == 1 else vi
        if len(vi) == 1 or (vi and len(set(cand["code"].iloc[vi])) == 1):
            row = cand.iloc[vi[0]]
            rec["village_code"], rec["village_name"] = row["code"], row["name"]
            if row["point"] is not None:
                rec.update(level=LEVEL_VILLAGE, geometry=row["point"], point_source=f"村(社区)点（{row['source']}）",
                           note=from_name)
                continue
            rec["note"] = f"已识别{row['name']}，但该村(社区)没有坐标，放在乡镇代表点"
        elif vi:
            rec["note"] = "村名有歧义：" + "、".join(cand["name"].iloc[vi])
        else:
            rec["note"] = "地址中没有可识别的村(社区)名，放在乡镇代表点"
            other = _search_anywhere(rest[end:], v)
            if other:
                rec["note"] = ("“" + "、".join(sorted(set(v["name"].iloc[other]))) + f"”不属于{t['name'].iloc[ti]}，"
                               "按地址所写乡镇放在乡镇代表点；请核对地址")
        point = t["point"].iloc[ti]
        rec["level"] = LEVEL_TOWNSHIP
        if point is not None:
            rec["geometry"], rec["point_source"] = point, "乡镇代表点（乡镇界内的代表点，不是乡镇政府位置）"
        else:
            rec["point_source"] = "无（没有乡镇界图层）"
            rec["note"] = rec["note"].replace("放在乡镇代表点", "没有乡镇界图层，无法给出坐标")
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=STORAGE_CRS)


def _search_anywhere(text: str, cand: pd.DataFrame) -> list[int]:
    """Villages named anywhere in ``text`` (only full names with 村/社区, longest first)."""
    hits: dict[int, int] = {}
    for pos, variants in enumerate(cand["variants"]):
        for form, needs_follower in variants:
            if needs_follower or len(form) < 3:
                continue
            if form in text:
                hits[pos] = max(hits.get(pos, 0), len(form))
                break
    if not hits:
        return []
    longest = max(hits.values())
    return [p for p, n in hits.items() if n == longest]


def match_summary(matched: pd.DataFrame) -> pd.DataFrame:
    """Counts and shares by level: the accuracy line of the report.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``count``, ``share`` for 村(社区), 乡镇(街道), 未匹配.

    Examples
    --------
    >>> idx = build_index("330624")
    >>> m = match_addresses(["新昌县儒岙镇南山村12号", "儒岙镇天烛路3号", "杭州市西湖区"], idx)
    >>> match_summary(m)
        level  count     share
    0   村(社区)      0  0.000000
    1  乡镇(街道)      2  0.666667
    2     未匹配      1  0.333333
    """
    n = len(matched)
    counts = matched["level"].value_counts()
    levels = [LEVEL_VILLAGE, LEVEL_TOWNSHIP, LEVEL_NONE]
    return pd.DataFrame({"level": levels,
                         "count": [int(counts.get(lv, 0)) for lv in levels],
                         "share": [float(counts.get(lv, 0)) / n if n else 0.0 for lv in levels]})


def gazetteer_reference(store, county_code: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Places and former names of a county from the committee's gazetteer, for :func:`build_index`.

    Parameters
    ----------
    store : geoplan.gazetteer.store.Gazetteer
        An open gazetteer.
    county_code : str
        Only records whose parent code is in this county.

    Returns
    -------
    (GeoDataFrame, DataFrame)
        Village-level places with a point (``code`` = the gazetteer's ``name_id``,
        ``name``, ``township_code``) and aliases (``alias``, ``code``): every former
        name, of townships and villages alike (current names of township records too).

    Examples
    --------
    A gazetteer seeded from the sample's place names (``tmp`` an empty folder):

    >>> from geoplan.gazetteer.transfer import seed_from_county
    >>> from geoplan.layers.sample import sample_paths
    >>> store, _ = seed_from_county(tmp / "gaz.sqlite", sample_paths("330624")[0])
    >>> places, aliases = gazetteer_reference(store, "330624")
    >>> len(places) > 0, set(places["township_code"].str[:6]), list(aliases.columns)
    (True, {'330624'}, ['alias', 'code'])
    >>> store.close()
    """
    df = store.frame(parent=str(county_code))
    places, aliases = [], []
    for r in df.itertuples():
        parent = str(r.parent_code or "")
        former = [f["name"] if isinstance(f, dict) else str(f) for f in (r.former_names or [])]
        if len(parent) == 6 and str(r.category).startswith("112"):
            # A township record: its former names point to the official township of the same name.
            off = county_townships(county_code)
            hit = off.loc[off["name"] == r.name, "code"]
            aliases += [{"alias": f, "code": hit.iloc[0]} for f in former if len(hit)]
            continue
        if len(parent) != 9 or not r.geometry:
            continue
        g = shapely.from_wkt(r.geometry)
        places.append({"code": r.name_id, "name": r.name, "township_code": parent,
                       "geometry": g if g.geom_type == "Point" else shapely.point_on_surface(g)})
        aliases += [{"alias": f, "code": r.name_id} for f in former]
    gdf = gpd.GeoDataFrame(pd.DataFrame(places, columns=["code", "name", "township_code", "geometry"]),
                           geometry="geometry", crs=STORAGE_CRS)
    return gdf, pd.DataFrame(aliases, columns=["alias", "code"])
