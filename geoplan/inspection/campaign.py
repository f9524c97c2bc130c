"""A county's inspection campaign in one call: team bases, the programme's lines, the plan solved.

:func:`plan_for_county` is what ``geoplan inspect plan`` and the demo call: it picks the team
bases (:func:`county_bases`), takes the lines the five-year programme puts in the year
(:mod:`geoplan.inspection.programme`), builds and solves an
:class:`geoplan.inspection.planning.InspectionPlan` and adds both sides of each line
(:mod:`geoplan.inspection.parties`). Both names stay importable from
:mod:`geoplan.inspection.planning`.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import datetime as _dt

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.i18n import N_, _
from geoplan.inspection.result import InspectionResult
from geoplan.inspection.selection import WORKDAY_HOURS, InspectionError
from geoplan.layers.crs import metric_crs

__all__ = ["county_bases", "plan_for_county"]


def county_bases(county, n_teams: int = 2) -> gpd.GeoDataFrame:
    """Team bases for a county: the civil-affairs bureau at the county seat, then township offices.

    The bureau (the county's place name, category 1110) is always the first
    base. Further bases are township seats (category 1120) picked one by one
    to bring the markers closest to some base (a greedy p-median on straight
    distances), so field teams start near the lines they inspect.

    Examples
    --------
    >>> county_bases(county, 3)[["base_id", "name"]].values.tolist()
    [['bureau', '新昌县民政局'], ['330624112', '沃洲镇人民政府'], ['330624107', '小将镇人民政府']]
    """
    places = county["place_names"]
    seat = places[places["category"].astype(str) == "1110"]
    towns = places[places["category"].astype(str) == "1120"]
    if seat.empty and towns.empty:
        raise InspectionError(_("County {code} has no county seat or township seats in place_names to use as "
                                "bases.").format(code=county.code))
    rows = []
    if not seat.empty:
        bureau = _("{county} civil affairs bureau").format(county=county.name or seat['name'].iloc[0])
        rows.append(dict(base_id="bureau", name=bureau, geometry=seat.geometry.iloc[0]))
    markers = county["boundary_markers"]
    crs = metric_crs(markers)
    mxy = np.column_stack([markers.to_crs(crs).geometry.x, markers.to_crs(crs).geometry.y])
    txy = np.column_stack([towns.to_crs(crs).geometry.x, towns.to_crs(crs).geometry.y]) if len(towns) else np.empty((0, 2))
    chosen = [np.column_stack([gpd.GeoSeries([r["geometry"]], crs=places.crs).to_crs(crs).x,
                               gpd.GeoSeries([r["geometry"]], crs=places.crs).to_crs(crs).y])[0] for r in rows]
    current = (np.min([np.hypot(*(mxy - c).T) for c in chosen], axis=0) if chosen
               else np.full(len(mxy), np.inf))
    used = set()
    while len(rows) < n_teams and len(used) < len(towns):
        gains = [(-1 if i in used else np.minimum(current, np.hypot(*(mxy - txy[i]).T)).sum() * -1 + current.sum()
                  if np.isfinite(current).all() else -np.hypot(*(mxy - txy[i]).T).sum()) for i in range(len(towns))]
        i = int(np.argmax(gains))
        used.add(i)
        t = towns.iloc[i]
        rows.append(dict(base_id=str(t["name_id"]), name=_("{township} government").format(township=t['name']),
                         geometry=t.geometry))
        current = np.minimum(current, np.hypot(*(mxy - txy[i]).T))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=places.crs)


def plan_for_county(county, n_teams: int = 2, *, time_limit: float = 10.0, as_of=None,
                    due_lines=None, due_markers_list=None, workday_hours: float = WORKDAY_HOURS,
                    start_date=None, all_markers: bool = False, method: str = "combined",
                    seed: int = 0, progress=None, year: int | None = None, by_marker: bool = False,
                    **kwargs) -> InspectionResult:
    """Plan a county's joint inspection campaign, line by line (the demo's entry point).

    By default the campaign covers the lines the five-year programme
    (:func:`geoplan.inspection.programme.line_programme`) puts in ``year``
    (default: the year of ``start_date`` or ``as_of``), every marker of each,
    so a line is inspected whole in one campaign.

    Parameters
    ----------
    county : geoplan.layers.sample.County
        A loaded county (:func:`geoplan.layers.sample.load_sample`).
    n_teams : int
        Teams; bases are the bureau and township offices (:func:`county_bases`).
    time_limit : float
        Seconds for the routing solver.
    as_of : date-like, optional
        Planning date (default today).
    due_lines : list of str, optional
        Inspect these whole lines instead of the programme's.
    due_markers_list : list of str, optional
        Inspect exactly these markers (after a landslide, road works).
    all_markers : bool
        Inspect every marker on every line.
    year : int, optional
        Programme year whose lines to inspect.
    by_marker : bool
        The old rule: markers whose own last inspection is five years old.
    workday_hours, start_date, method, seed, progress, **kwargs
        Passed to :meth:`InspectionPlan.from_layers` / :meth:`InspectionPlan.solve`
        (e.g. ``blackout=["2026-10-12"]``).

    Returns
    -------
    InspectionResult
        ``routes`` also has ``lead`` (牵头方), ``partners`` (对方),
        ``meet_at``/``meet_time`` and ``partner_drive_min``
        (:func:`geoplan.inspection.parties.add_parties`); ``params["programme_year"]``
        and ``params["lines"]`` say which lines and who leads each.

    Examples
    --------
    >>> r = plan_for_county(county, time_limit=1, start_date="2026-09-01")  # the programme's lines of 2026
    >>> sorted(r.params["lines"]), len(r.visits), len(r.unreachable)
    (['3140', '7003', '7004', '7005', '7006', '7010', '7012', '7015'], 43, 0)
    >>> r.params["lines"]["3140"]["name"], r.params["lines"]["3140"]["lead_name"]
    ('新昌县—东阳市线', '新昌县')
    """
    from geoplan.inspection.parties import add_parties, division_names
    from geoplan.inspection.planning import InspectionPlan  # planning re-exports this module's names
    from geoplan.inspection.programme import line_programme, lines_of_year
    from geoplan.inspection.results import campaign_id
    from geoplan.inspection.workdays import parse_date

    lines = county["boundary_lines"]
    areas = division_names(county)
    start_date = parse_date(start_date, N_("start date"))
    as_of = parse_date(as_of, N_("reference date of the plan"))
    when = pd.Timestamp(start_date if start_date is not None else as_of if as_of is not None
                        else _dt.date.today())
    programme = None
    if all_markers:
        due_lines = list(lines["line_code"].astype(str))
    elif due_lines is None and due_markers_list is None and not by_marker:
        programme = line_programme(lines, county["boundary_markers"], county_code=str(county.code),
                                   start_year=int(year or when.year), areas=areas, workday_hours=workday_hours)
        due_lines = lines_of_year(programme, int(year or when.year))
    plan = InspectionPlan.from_layers(
        county["boundary_markers"], lines, county["roads"], county_bases(county, n_teams), teams=n_teams,
        workday_hours=workday_hours, as_of=as_of, due_lines=due_lines, due_markers_list=due_markers_list,
        start_date=start_date, areas=areas, neighbours=county.neighbours, outline=county.outline, **kwargs)
    result = plan.solve(time_limit=time_limit, method=method, seed=seed, progress=progress)
    result.params["county"] = county.code
    result.params["county_name"] = county.name
    result.params["programme_year"] = int(year or when.year) if programme is not None else None
    result.params["due_lines"] = list(due_lines) if due_lines is not None else None
    add_parties(result, county, programme)
    result.params["campaign"] = campaign_id(result)
    return result
