"""Both sides of a joint inspection: who leads each line, and where the other side's team joins.

A line is inspected by the two governments on either side of it together.
The county plans the team-days from its own bases (:mod:`geoplan.inspection.planning`);
the other side's team (the neighbour county's, or for a township line the two
townships') joins it at the day's first marker at the planned arrival time
(会合点) and leaves after the last. This module adds, per team-day, the
leading side (牵头方), the other side(s) (对方), the meeting point and time,
and the other side's estimated drive from its own base, so that the
neighbour gets a plan of its own part (the share package).

The other side's drive is an estimate (straight line × detour factor at a
mountain-road speed) because its road network is not in the county's layers;
the plan labels it so.

Examples in this module use ``county = gp.load_sample("330624")``, ``campaign =
gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")`` (``import geoplan as gp``);
pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import datetime as _dt

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.layers.crs import metric_crs
from geoplan.i18n import _
from geoplan.inspection.selection import DAY_START

#: Road distance over straight-line distance, and speed, for the other side's estimated drive.
DETOUR = 1.4
PARTNER_SPEED_KMH = 35.0


def division_names(county) -> dict:
    """``{code: name}`` of the county, its neighbours and its townships.

    Examples
    --------
    >>> names = division_names(county)
    >>> names["330624"], names["330624110"], names["330783"]
    ('新昌县', '儒岙镇', '东阳市')
    """
    areas = {}
    for frame in (county.outline, county.neighbours):
        if frame is not None:
            areas.update(dict(zip(frame["adcode"].astype(str), frame["name"].astype(str))))
    tw = county["townships"]
    areas.update(dict(zip(tw["code"].astype(str), tw["name"].astype(str))))
    return areas


def partner_bases(county) -> gpd.GeoDataFrame:
    """Where each other side's team starts: township seats (place names 1120) and neighbour counties.

    A neighbour county's seat is not in the county's layers; the point of
    its outline nearest to the county stands in for it (a conservative
    start for the drive estimate is the neighbour's representative point).

    Examples
    --------
    >>> b = partner_bases(county)
    >>> len(b), b[b["code"] == "330783"]["name"].tolist()
    (18, ['东阳市民政局'])
    """
    rows = []
    places = county["place_names"]
    towns = places[places["category"].astype(str) == "1120"]
    for t in towns.itertuples():
        rows.append(dict(code=str(t.name_id), name=_("{township} government").format(township=t.name),
                         geometry=t.geometry))
    if county.neighbours is not None:
        for n in county.neighbours.itertuples():
            rows.append(dict(code=str(n.adcode), name=_("{county} civil affairs bureau").format(county=n.name),
                             geometry=n.geometry.representative_point()))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=places.crs)


def add_parties(result, county, programme: pd.DataFrame | None = None) -> None:
    """Add ``lead``, ``partners``, ``meet_at``, ``meet_time``, ``partner_drive_min`` to ``result.routes``.

    Also sets ``result.params["lines"]``: per planned line, its sides, the
    leading side and the other side(s) (used by the joint record and report).

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> r = campaign.routes  # plan_for_county has called add_parties
    >>> [c for c in ("lead", "partners", "meet_at", "meet_time", "partner_drive_min") if c in r.columns]
    ['lead', 'partners', 'meet_at', 'meet_time', 'partner_drive_min']
    """
    code = str(county.code)
    areas = division_names(county)
    result.areas.update(areas)
    lines = result.lines.set_index(result.lines["line_code"].astype(str))
    prog = programme.set_index("line_code") if programme is not None and len(programme) else None
    info = {}
    for lc in sorted(set(result.visits["line_code"].astype(str)) | set(result.unreachable.index.astype(str).str[:4])):
        if lc not in lines.index:
            continue
        ln = lines.loc[lc]
        left, right = str(ln["left_code"]), str(ln["right_code"])
        if prog is not None and lc in prog.index:
            lead = str(prog.loc[lc, "lead_code"])
        else:
            last = str(ln.get("lead_code", "") or "")
            lead = right if last == left else left if last == right else min(left, right)
        others = [s for s in (left, right) if s != code] if code in (left, right) else [left, right]
        info[lc] = dict(name=str(ln["name"]), level=str(ln["level"]), left=left, right=right,
                        left_name=areas.get(left, left), right_name=areas.get(right, right),
                        lead=lead, lead_name=areas.get(lead, lead), partners=others,
                        partner_names=[areas.get(s, s) for s in others])
    result.params["lines"] = info

    bases = partner_bases(county)
    crs = metric_crs(result.markers)
    bxy = {c: (g.x, g.y) for c, g in zip(bases["code"], bases.to_crs(crs).geometry)}
    bname = dict(zip(bases["code"], bases["name"]))
    mk = result.markers.set_index(result.markers["marker_id"].astype(str)).to_crs(crs)
    leads, partners, meet_at, meet_time, drive, pbase = [], [], [], [], [], []
    for r in result.routes.itertuples(index=False):
        v = result.visits[result.visits["route_id"] == r.route_id]
        lcs = list(dict.fromkeys(v["line_code"].astype(str)))
        sides = list(dict.fromkeys(s for lc in lcs for s in info.get(lc, {}).get("partners", [])))
        leads.append("、".join(dict.fromkeys(info[lc]["lead_name"] for lc in lcs if lc in info)))
        partners.append("、".join(areas.get(s, s) for s in sides))
        first = v.iloc[0] if len(v) else None
        meet_at.append(str(first["marker_id"]) if first is not None else "")
        meet_time.append(str(first["arrival"]) if first is not None else "")
        mins = []
        for s in sides:
            if s in bxy and first is not None:
                g = mk.loc[str(first["marker_id"])].geometry
                km = float(np.hypot(g.x - bxy[s][0], g.y - bxy[s][1])) / 1000.0 * DETOUR
                mins.append(round(km / PARTNER_SPEED_KMH * 60.0))
        drive.append(max(mins) if mins else None)
        pbase.append("、".join(bname.get(s, areas.get(s, s)) for s in sides))
    result.routes["lead"] = leads
    result.routes["partners"] = partners
    result.routes["partner_bases"] = pbase
    result.routes["meet_at"] = meet_at
    result.routes["meet_time"] = meet_time
    result.routes["partner_drive_min"] = drive


def partner_departure(meet_time: str, drive_min) -> str:
    """Latest time the other side leaves its base to be at the meeting point on time.

    Examples
    --------
    >>> partner_departure("08:19", 82), partner_departure("09:00", None)
    ('06:57（早于上班时间）', '')
    """
    if not meet_time or drive_min is None or (isinstance(drive_min, float) and np.isnan(drive_min)):
        return ""
    h, m = map(int, str(meet_time).split(":"))
    t = _dt.datetime(2000, 1, 1, h, m) - _dt.timedelta(minutes=float(drive_min))
    start = _dt.datetime.combine(_dt.date(2000, 1, 1), DAY_START)
    return _("{time} (before working hours)").format(time=f"{t:%H:%M}") if t < start else f"{t:%H:%M}"
