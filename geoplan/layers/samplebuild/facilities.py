"""Illustrative facility layers: elderly care, cemeteries, social-work stations,
disability homes and children's homes, with deliberate coverage gaps.

The gaps (a township without an operating home-care centre, one with only a
planned one, …) give the coverage analyses something to find; the tests
compute them from the data, never from these names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geoplan.layers.samplebuild.common import S_FAC, rng_for


def choose_gaps(tw: pd.DataFrame, kinds, pops, code) -> dict[str, str]:
    """Pick the townships that get each deliberate gap (distinct townships)."""
    rng = rng_for(code, S_FAC + 50)
    codes = tw["code"].tolist()
    used: set[str] = set()

    def pick(pred, prefer):
        pool = [c for c, k, p in zip(codes, kinds, pops) if c not in used and pred(k, p)]
        # Counties of only 街道: any township; with fewer townships than gaps, no township for the rest.
        pool = pool or [c for c in codes if c not in used]
        if not pool:
            return ""
        pref = [c for c in pool if kinds[codes.index(c)] in prefer] or pool
        c = pref[int(rng.integers(len(pref)))]
        used.add(c)
        return c

    gaps = {}
    gaps["home_care_planned_only"] = pick(lambda k, p: k != "街道", ("镇",))
    gaps["home_care_none"] = pick(lambda k, p: k != "街道", ("乡",))
    gaps["social_work_none"] = pick(lambda k, p: True, ("乡", "镇"))
    gaps["disability_none_10k"] = pick(lambda k, p: p >= 10_000, ("镇",))
    gaps["burial_none"] = pick(lambda k, p: True, ("镇", "乡"))
    return gaps


def build_facilities(tw, kinds, polys, seats, seat_tw, villages, pops, gaps, code, county_name):
    """All five facility layers as DataFrames with ``x, y`` metric columns."""
    rng = rng_for(code, S_FAC)
    codes = tw["code"].tolist()
    names = tw["name"].tolist()
    vill_by_tw = {c: villages[villages.township_code == c] for c in codes}
    cstem = county_name[:-1] if county_name.endswith(("县", "市", "区")) else county_name

    def near(k, lo=120, hi=600):
        p = polys[k]
        for _ in range(200):
            r, a = rng.uniform(lo, hi), rng.uniform(0, 2 * np.pi)
            q = seats[k] + r * np.array([np.cos(a), np.sin(a)])
            if p.contains(shapely.Point(q)):
                return q
        return np.asarray(seats[k], float)

    def near_village(v):
        r, a = rng.uniform(40, 180), rng.uniform(0, 2 * np.pi)
        return np.array([v.x, v.y]) + r * np.array([np.cos(a), np.sin(a)])

    def opened(status):
        if status == "规划":
            return int(rng.integers(2026, 2029))
        return None if rng.random() < 0.05 else int(rng.integers(2008, 2025))

    elderly, cem, sws, dis, child = [], [], [], [], []
    for k, c in enumerate(codes):
        vs = vill_by_tw[c]
        # Home-care centres.
        if c == gaps["home_care_planned_only"]:
            q = near(k)
            elderly.append(dict(name=f"{names[k]}居家养老服务中心", kind="居家养老服务中心", township_code=c,
                                status="规划", opened=opened("规划"), beds=None, nursing_beds=None,
                                dementia_beds=None, x=q[0], y=q[1]))
        elif c != gaps["home_care_none"]:
            q = near(k)
            elderly.append(dict(name=f"{names[k]}居家养老服务中心", kind="居家养老服务中心", township_code=c,
                                status="运营", opened=opened("运营"), beds=None, nursing_beds=None,
                                dementia_beds=None, x=q[0], y=q[1]))
            if kinds[k] == "街道" and len(vs):
                v = vs.iloc[int(rng.integers(len(vs)))]
                q = near_village(v)
                # A community-level day-care point (村级照料中心): not a township 居家养老服务中心.
                elderly.append(dict(name=f"{v['name']}居家养老服务照料中心", kind="居家养老服务照料中心",
                                    township_code=c, status="运营", opened=opened("运营"), beds=None,
                                    nursing_beds=None, dementia_beds=None, x=q[0], y=q[1]))
        # Care institutions: a county welfare centre, township 敬老院, a few private homes.
        if k == seat_tw:
            q = near(k, 600, 1500)
            elderly.append(dict(name=f"{county_name}社会福利中心", kind="养老机构", township_code=c, status="运营",
                                opened=int(rng.integers(2005, 2015)), beds=int(rng.integers(260, 360)),
                                nursing_beds=None, dementia_beds=int(rng.integers(20, 40)), x=q[0], y=q[1]))
        if kinds[k] != "街道" and rng.random() < 0.6:
            q = near(k)
            elderly.append(dict(name=f"{names[k]}敬老院", kind="养老机构", township_code=c, status="运营",
                                opened=opened("运营"), beds=int(rng.integers(30, 120)), nursing_beds=None,
                                dementia_beds=0, x=q[0], y=q[1]))
        if kinds[k] in ("街道", "镇") and rng.random() < 0.35 and len(vs):
            v = vs.iloc[int(rng.integers(len(vs)))]
            q = near_village(v)
            st = "规划" if rng.random() < 0.25 else "运营"
            elderly.append(dict(name=f"{v['name'][:-1]}颐养院", kind="养老机构", township_code=c, status=st,
                                opened=opened(st), beds=int(rng.integers(60, 200)), nursing_beds=None,
                                dementia_beds=int(rng.integers(0, 25)), x=q[0], y=q[1]))
        # Burial sites.
        if c != gaps["burial_none"]:
            if kinds[k] != "街道" or rng.random() < 0.5:
                q = near(k, 1500, 4000)
                eco = bool(rng.random() < 0.4)
                cem.append(dict(name=f"{names[k][:-1] if kinds[k] != '街道' else names[k][:-2]}公益性公墓",
                                kind="公益性公墓", township_code=c, status="运营", opened=opened("运营"),
                                capacity=int(rng.integers(20, 150)) * 100, eco_burial=eco, x=q[0], y=q[1]))
            else:
                v = vs.iloc[int(rng.integers(len(vs)))] if len(vs) else None
                q = near_village(v) if v is not None else near(k, 1500, 3000)
                nm = (v["name"][:-1] if v is not None else names[k]) + "生态安葬点"
                st = "规划" if rng.random() < 0.2 else "运营"
                cem.append(dict(name=nm, kind="生态安葬点", township_code=c, status=st, opened=opened(st),
                                capacity=int(rng.integers(3, 20)) * 100, eco_burial=True, x=q[0], y=q[1]))
            if kinds[k] != "街道" and rng.random() < 0.35 and len(vs):
                v = vs.iloc[int(rng.integers(len(vs)))]
                q = near_village(v)
                cem.append(dict(name=f"{v['name'][:-1]}生态安葬点", kind="生态安葬点", township_code=c,
                                status="运营", opened=opened("运营"), capacity=int(rng.integers(3, 20)) * 100,
                                eco_burial=True, x=q[0], y=q[1]))
        elif rng.random() < 0.5 and len(vs):
            # The gap township keeps only an old ancestral columbarium, which
            # does not count as a 公益性公墓 or eco-burial site.
            v = vs.iloc[int(rng.integers(len(vs)))]
            q = near_village(v)
            cem.append(dict(name=f"{v['name'][:-1]}安息堂", kind="安息堂", township_code=c, status="运营",
                            opened=opened("运营"), capacity=int(rng.integers(10, 40)) * 100, eco_burial=False,
                            x=q[0], y=q[1]))
        # Social-work stations, disability homes.
        if c != gaps["social_work_none"]:
            q = near(k)
            st = "运营" if rng.random() < 0.92 else "规划"
            sws.append(dict(name=f"{names[k]}社会工作站", township_code=c, status=st, opened=opened(st),
                            staff=None if rng.random() < 0.1 else int(rng.integers(1, 5)), x=q[0], y=q[1]))
        if c != gaps["disability_none_10k"]:
            q = near(k)
            st = "运营" if rng.random() < 0.9 else "规划"
            dis.append(dict(name=f"{names[k]}残疾人之家", township_code=c, status=st, opened=opened(st),
                            standardised=bool(rng.random() < 0.7), x=q[0], y=q[1]))
        # Children's homes in most villages and communities.
        for v in vs.itertuples():
            if rng.random() < 0.55:
                st = "运营" if rng.random() < 0.93 else "规划"
                q = near_village(v)
                child.append(dict(name=f"{v.name}儿童之家", township_code=c, status=st, opened=opened(st),
                                  village_code=v.code, x=q[0], y=q[1]))
    # One commercial cemetery and one county columbarium.
    k = int(np.argmax([p.area if kd != "街道" else 0 for p, kd in zip(polys, kinds)]))
    q = near(k, 2000, 5000)
    cem.append(dict(name=f"{cstem}青山陵园", kind="经营性公墓", township_code=codes[k], status="运营", opened=2003,
                    capacity=30000, eco_burial=True, x=q[0], y=q[1]))
    q = near(seat_tw, 2500, 4000)
    cem.append(dict(name=f"{cstem}县安息堂", kind="安息堂", township_code=codes[seat_tw], status="规划",
                    opened=2027, capacity=8000, eco_burial=True, x=q[0], y=q[1]))

    # Nursing-bed share kept somewhat below the 55 % target.
    el = pd.DataFrame(elderly)
    inst = el["kind"] == "养老机构"
    share = np.where(el["name"].str.endswith("敬老院"), rng.uniform(0.28, 0.45, len(el)),
                     rng.uniform(0.5, 0.62, len(el)))
    el["nursing_beds"] = pd.array([int(round(b * s)) if i else None
                                   for b, s, i in zip(el["beds"].fillna(0), share, inst)], dtype="Int64")
    el["beds"] = pd.array([int(b) if i else None for b, i in zip(el["beds"].fillna(0), inst)], dtype="Int64")
    el["dementia_beds"] = pd.array([int(d) if i and pd.notna(d) else None
                                    for d, i in zip(el["dementia_beds"], inst)], dtype="Int64")
    # Ownership of institutions: the county welfare centre and township 敬老院 are public (公办),
    # the 颐养院 private (民办); 新昌's dementia-bed target is about public institutions only.
    el["ownership"] = [("民办" if str(n).endswith("颐养院") else "公办") if i else None
                       for n, i in zip(el["name"], inst)]
    out = {}
    for kind, rows, pfx in (("elderly_care", el, "YL"), ("cemeteries", pd.DataFrame(cem), "GM"),
                            ("social_work_stations", pd.DataFrame(sws), "SG"),
                            ("disability_homes", pd.DataFrame(dis), "CJ"),
                            ("children_homes", pd.DataFrame(child), "ET")):
        df = pd.DataFrame(rows).reset_index(drop=True)
        df.insert(0, "facility_id", [f"{code}{pfx}{i + 1:03d}" for i in range(len(df))])
        df["opened"] = pd.array(df["opened"], dtype="Int64")
        out[kind] = df
    return out
