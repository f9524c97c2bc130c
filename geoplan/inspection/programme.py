"""The five-year programme (五年联检计划): which boundary lines are inspected in which year.

Joint inspection is organised per line: the two governments on either side
inspect the whole line together every five years, one of them leading (牵头方,
alternating from one round to the next). A county takes part in the
inspection of each of its county-level lines (with the neighbour on the other
side) and inspects the township lines (乡级界线) inside it with the two
townships. :func:`line_programme` spreads these lines over the coming years

* every line in exactly one year, inspected whole in one campaign,
* no line more than ``max_delay`` years after its due year (default one
  year: the five-year round, not the anniversary, is what the rules fix),
* an even workload: the busiest year's team-days as small as possible,
  then lines as close to their due year as possible (a year late costs
  three times a year early; overdue lines as early as the load allows),

as a small integer programme on HiGHS (``scipy.optimize.milp``).

The workload of a line is an estimate in team-days from its markers (time at
each marker, the walk from the road) and its length (driving along it); the
campaign plan (:func:`geoplan.inspection.planning.plan_for_county`) then
plans the real team-days on the road network.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.i18n import _
from geoplan.layers.crs import metric_crs
from geoplan.inspection.selection import (CYCLE_YEARS, SERVICE_MINUTES, WORKDAY_HOURS, InspectionError,
                                          marker_type)

#: Minutes per stop besides the service: parking, the walk in and out, finding the marker.
STOP_OVERHEAD_MIN = 25.0
#: Average speed driving from one marker of a line to the next (mountain roads, detours).
ALONG_LINE_KMH = 20.0
#: Minutes of each field day spent driving from the base and back.
BASE_DRIVE_MIN = 120.0


def line_workload(lines: gpd.GeoDataFrame, markers: gpd.GeoDataFrame, *,
                  workday_hours: float = WORKDAY_HOURS) -> pd.DataFrame:
    """Estimated team-days to inspect each line whole.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``line_code``: ``n_markers``, ``n_stops`` (a pair or
        triple is one stop), ``length_km``, ``work_min`` and ``team_days``.

    Examples
    --------
    >>> w = line_workload(county["boundary_lines"], county["boundary_markers"])
    >>> len(w) == len(county["boundary_lines"]), list(w.columns)
    (True, ['n_markers', 'n_stops', 'length_km', 'work_min', 'team_days'])
    """
    ids = markers["marker_id"].astype(str)
    codes = markers["line_code"].astype(str)
    stop_key = ids.str[:7]  # line + number: A/B and C/D/E of one number stand together
    svc = ids.map(lambda m: SERVICE_MINUTES.get(marker_type(m), SERVICE_MINUTES["Q"]))
    per = pd.DataFrame({"line_code": codes, "stop": stop_key, "svc": svc})
    g = per.groupby("line_code")
    length = lines.to_crs(metric_crs(lines)).length.to_numpy() / 1000.0
    out = pd.DataFrame({"line_code": lines["line_code"].astype(str).to_numpy(), "length_km": length})
    out = out.groupby("line_code").sum()
    out["n_markers"] = g.size().reindex(out.index).fillna(0).astype(int)
    out["n_stops"] = g["stop"].nunique().reindex(out.index).fillna(0).astype(int)
    service = g["svc"].sum().reindex(out.index).fillna(0.0)
    out["work_min"] = service + STOP_OVERHEAD_MIN * out["n_stops"] + out["length_km"] / ALONG_LINE_KMH * 60.0
    usable = workday_hours * 60.0 - BASE_DRIVE_MIN
    if usable <= 0:
        raise InspectionError(_("A working day of {hours:g} hours leaves no time to inspect after the drive there "
                                "and back.").format(hours=workday_hours))
    out["team_days"] = np.where(out["n_markers"] > 0, np.ceil(out["work_min"] / usable), 0).astype(int)
    return out[["n_markers", "n_stops", "length_km", "work_min", "team_days"]]


def _last_year(lines, markers) -> pd.Series:
    """Last joint inspection per line: the line's own column, else its markers' latest year."""
    codes = lines["line_code"].astype(str)
    from_markers = (pd.to_datetime(markers["last_inspected"], errors="coerce").dt.year
                    .groupby(markers["line_code"].astype(str).to_numpy()).max())
    years = from_markers.reindex(codes).to_numpy(dtype=float)
    if "last_inspected_year" in lines:
        own = pd.to_numeric(lines["last_inspected_year"], errors="coerce").to_numpy(dtype=float)
        years = np.where(np.isnan(own), years, own)
    return pd.Series(years, index=codes)


def line_programme(lines: gpd.GeoDataFrame, markers: gpd.GeoDataFrame, *, county_code: str,
                   start_year: int, years: int = CYCLE_YEARS, areas: dict | None = None,
                   workday_hours: float = WORKDAY_HOURS, max_delay: int = 1) -> pd.DataFrame:
    """Spread a county's boundary lines over ``years`` years with an even workload.

    Parameters
    ----------
    lines, markers : geopandas.GeoDataFrame
        ``boundary_lines`` (county-level lines of the county and township
        lines inside it) and ``boundary_markers``.
    county_code : str
        The county whose programme this is (one side of its county lines).
    start_year : int
        First year of the programme.
    years : int
        Length of the programme (a five-year cycle by default).
    areas : dict, optional
        ``{division code: name}`` for the 对方 and 牵头方 names.
    workday_hours : float
    max_delay : int
        Years a line may be inspected after its due year to even out the workload.

    Returns
    -------
    pandas.DataFrame
        One row per line in programme order: ``line_code``, ``name``,
        ``level``, ``partner`` (the other side(s)), ``last_year``,
        ``due_year``, ``year`` (assigned), ``lead_code``, ``lead`` (the
        leading side this round: the side that did not lead last time),
        ``n_markers``, ``length_km``, ``team_days``, ``reason``.

    Raises
    ------
    InspectionError
        No lines, or a start year out of range.

    Examples
    --------
    >>> from geoplan.layers.sample import load_sample
    >>> c = load_sample("330624")
    >>> prog = line_programme(c["boundary_lines"], c["boundary_markers"], county_code="330624", start_year=2026)
    >>> bool(prog["year"].between(2026, 2030).all())
    True
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    if lines is None or len(lines) == 0:
        raise InspectionError(_("The county's boundary lines layer has no line: no five-year programme can be made."))
    if years < 1:
        raise InspectionError(_("A programme covers at least 1 year, not {years}.").format(years=years))
    areas = dict(areas or {})
    codes = lines["line_code"].astype(str).to_numpy()
    work = line_workload(lines, markers, workday_hours=workday_hours).reindex(codes)
    last = _last_year(lines, markers).to_numpy()
    due = np.where(np.isnan(last), start_year, last + CYCLE_YEARS).astype(int)
    target = np.clip(due, start_year, start_year + years - 1)
    # the latest year a line may take, never before the programme starts
    latest = np.clip(due + max(0, int(max_delay)), start_year, start_year + years - 1)
    n, Y = len(codes), years
    w = work["team_days"].fillna(0).to_numpy(float)
    # variables: x[l, y] (n·Y binaries) then z (the busiest year's team-days)
    nv = n * Y + 1
    c = np.zeros(nv)
    big = 1000.0 * (n + 1)
    c[-1] = big
    for i in range(n):
        for y in range(Y):
            # off the due year costs a little: lines stay close to their cycle
            off = (start_year + y) - target[i]
            c[i * Y + y] = 3 * off if off > 0 else -off
    ub = np.ones(nv)
    ub[-1] = np.inf
    for i in range(n):
        for y in range(Y):
            if start_year + y > latest[i]:
                ub[i * Y + y] = 0.0
    A = lil_matrix((n + Y, nv))
    for i in range(n):
        A[i, i * Y:(i + 1) * Y] = 1.0
    for y in range(Y):
        for i in range(n):
            A[n + y, i * Y + y] = w[i]
        A[n + y, nv - 1] = -1.0
    lo = np.concatenate([np.ones(n), np.full(Y, -np.inf)])
    hi = np.concatenate([np.ones(n), np.zeros(Y)])
    integrality = np.concatenate([np.ones(n * Y), [0]])
    res = milp(c, constraints=LinearConstraint(A.tocsr(), lo, hi), integrality=integrality,
               bounds=Bounds(np.zeros(nv), ub), options={"time_limit": 30})
    if res.x is None:  # pragma: no cover - always feasible: every line may take the first year
        raise InspectionError(_("No programme found ({reason}).").format(reason=res.message))
    x = np.rint(res.x[:-1]).reshape(n, Y)
    year = start_year + x.argmax(axis=1)

    rows = []
    for k, ln in enumerate(lines.itertuples(index=False)):
        left, right = str(ln.left_code), str(ln.right_code)
        sides = [s for s in (left, right) if s != county_code] if county_code in (left, right) else [left, right]
        last_lead = str(getattr(ln, "lead_code", "") or "")
        lead = right if last_lead == left else left if last_lead == right else min(left, right)
        if np.isnan(last[k]):
            reason = _("never inspected: as early as possible")
        elif due[k] < start_year:
            reason = _("overdue (due in {year})").format(year=due[k])
        elif year[k] == due[k]:
            reason = _("the year it is due")
        elif year[k] < due[k]:
            reason = _("{n} years early, to even out the work").format(n=due[k] - year[k])
        else:
            reason = _("{n} years late, to even out the work").format(n=year[k] - due[k])
        rows.append(dict(
            line_code=codes[k], name=str(ln.name), level=str(ln.level),
            partner="、".join(areas.get(s, s) for s in sides),
            last_year=None if np.isnan(last[k]) else int(last[k]), due_year=int(due[k]), year=int(year[k]),
            lead_code=lead, lead=areas.get(lead, lead), n_markers=int(work["n_markers"].iloc[k]),
            length_km=round(float(work["length_km"].iloc[k]), 1), team_days=int(w[k]), reason=reason))
    out = pd.DataFrame(rows).sort_values(["year", "level", "line_code"], kind="stable").reset_index(drop=True)
    return out


def programme_summary(programme: pd.DataFrame) -> pd.DataFrame:
    """Per year: lines, markers and team-days of a :func:`line_programme`.

    Examples
    --------
    >>> prog = line_programme(county["boundary_lines"], county["boundary_markers"], county_code="330624",
    ...                       start_year=2026)
    >>> s = programme_summary(prog)
    >>> s["year"].tolist(), int(s["lines"].sum()), int(s["markers"].sum())
    ([2026, 2027, 2028, 2029, 2030], 25, 232)
    """
    g = programme.groupby("year")
    return pd.DataFrame({"lines": g.size(), "markers": g["n_markers"].sum(),
                         "team_days": g["team_days"].sum()}).reset_index()


def lines_of_year(programme: pd.DataFrame, year: int) -> list[str]:
    """Line codes the programme puts in ``year``.

    Examples
    --------
    >>> prog = line_programme(county["boundary_lines"], county["boundary_markers"], county_code="330624",
    ...                       start_year=2026)
    >>> sorted(sum((lines_of_year(prog, y) for y in range(2026, 2031)), [])) == sorted(prog["line_code"])
    True
    """
    got = programme.loc[programme["year"] == int(year), "line_code"].astype(str).tolist()
    if not got:
        raise InspectionError(_("The five-year programme has no line in {year}; its years are {years}. Name the "
                                "lines with --line.").format(
            year=year, years=_(", ").join(map(str, sorted(programme["year"].unique())))))
    return got


__all__ = ["line_programme", "line_workload", "programme_summary", "lines_of_year"]
