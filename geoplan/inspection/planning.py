"""Joint inspection of boundary lines (界线联合检查): which markers are due, who visits them when.

Every administrative boundary line is inspected jointly by both sides every
five years, and after disasters or road works. A team drives from its base
(the bureau, a township office) to each boundary marker (界桩), parks where
the road comes closest, walks to the marker, checks it and fills in a record
form. This module

* decides which markers are due (:func:`due_markers`),
* plans team-days (:class:`InspectionPlan` → :class:`InspectionResult`):
  every due marker visited exactly once, no team-day longer than the working
  day, each route starting and ending at its team's base, unreachable
  markers listed with the reason,
* reads filled record forms back (:func:`import_results`): validates them,
  measures how far a moved marker is from its registered position, updates
  condition and inspection history, lists the markers needing repair and
  re-plans the rest.

Travel times come from :class:`geoplan.network.graph.RoadNetwork`: markers are
snapped to the road network and driving minutes are computed between the
snapped points; the walk from the road to the marker and back is part of the
time at the stop, not of the drive. Markers standing together (an A/B pair
either side of a road, a C/D/E triple at a tri-point) form one *stop*: one
walk, the services of all its markers. Routing is :func:`geoplan.inspection.routing.solve_vrp`.

Markers are illustrative in the sample data (see ``layers/README.md``).

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geoplan.i18n import _
from geoplan.layers.crs import metric_crs, to_storage
from geoplan.inspection import routing
from geoplan.inspection.selection import (  # noqa: F401  (public names kept here)
    CYCLE_YEARS, DAY_START, MARKER_TYPES, MAX_WALK_M, MOVED_TOLERANCE_M, NEEDS_REPAIR, SERVICE_MINUTES,
    STOP_RADIUS_M, WALK_SPEED_KMH, WORKDAY_HOURS, InspectionError, due_markers, marker_type)
from geoplan.inspection.result import InspectionResult, route_legs  # noqa: F401
from geoplan.inspection.workdays import parse_blackout, unknown_years, working_days

#: Objective penalty (minutes) for moving from one line's markers to another's within a day.
LINE_CHANGE_MIN = 60.0

# --------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------

@dataclass
class InspectionPlan:
    """An inspection planning problem; :meth:`solve` turns it into an :class:`InspectionResult`.

    Build it with :meth:`from_layers` (or :func:`plan_for_county`).

    Examples
    --------
    The 新昌县 sample's markers of two lines, one team from the bureau:

    >>> m = county["boundary_markers"]
    >>> p = InspectionPlan.from_layers(m[m["line_code"].isin(["7003", "7004"])], county["boundary_lines"],
    ...                                county["roads"], county_bases(county, 1), start_date="2026-09-01",
    ...                                due_lines=["7003", "7004"])
    >>> r = p.solve(time_limit=1)
    >>> len(r.visits) == int(m["line_code"].isin(["7003", "7004"]).sum()), r.routes["team"].unique().tolist()
    (True, ['第1组'])
    """

    markers: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    bases: gpd.GeoDataFrame
    teams: list
    workday_min: float
    service_minutes: dict
    walk_speed_kmh: float
    max_walk_m: float
    start_date: _dt.date
    max_days: int | None
    workdays_only: bool
    areas: dict
    neighbours: gpd.GeoDataFrame | None = None
    outline: gpd.GeoDataFrame | None = None
    network: object = None
    due: pd.DataFrame | None = None
    blackout: frozenset = frozenset()

    @classmethod
    def from_layers(cls, markers, lines, roads, bases, *, teams=None, workday_hours: float = WORKDAY_HOURS,
                    service_minutes: dict | None = None, walk_speed_kmh: float = WALK_SPEED_KMH,
                    max_walk_m: float = MAX_WALK_M, as_of=None, cycle_years: int = CYCLE_YEARS,
                    due_lines=None, due_markers_list=None, start_date=None, max_days: int | None = None,
                    workdays_only: bool = True, areas: dict | None = None, neighbours=None, outline=None,
                    network=None, blackout=None) -> "InspectionPlan":
        """Set up a plan from layers.

        Parameters
        ----------
        markers, lines, roads : geopandas.GeoDataFrame
            ``boundary_markers``, ``boundary_lines`` and ``roads`` layers.
        bases : geopandas.GeoDataFrame
            Team bases: points with ``base_id`` and ``name`` columns.
        teams : int or list of str, optional
            Number of teams (team *i* works from base *i* modulo the bases),
            or the base ID of each team. Default: one team per base.
        workday_hours : float
            Longest team-day, from leaving the base to coming back.
        service_minutes : dict, optional
            Minutes at a marker by type letter; default :data:`SERVICE_MINUTES`.
        walk_speed_kmh, max_walk_m : float
            Walking between the road and the marker; farther markers are unreachable.
        as_of, cycle_years, due_lines, due_markers_list
            Which markers are due, see :func:`due_markers`.
        start_date : date-like, optional
            First working day (default: ``as_of`` or today).
        max_days : int, optional
            Most days any team may work (default: as many as needed).
        workdays_only : bool
            Field days on official working days only: no weekend or public
            holiday, but the weekends worked in exchange (调休) count
            (:mod:`geoplan.inspection.workdays`).
        blackout : iterable of str or date, optional
            The user's own days off (``YYYY-MM-DD`` or ``A..B`` ranges).
        areas : dict, optional
            ``{division code: name}`` for map labels.
        network : geoplan.network.graph.RoadNetwork, optional
            Reuse a network already built from ``roads``.
        """
        from geoplan.network.graph import RoadNetwork

        if markers is None or len(markers) == 0:
            raise InspectionError(_("There are no boundary markers to plan for."))
        if bases is None or len(bases) == 0:
            raise InspectionError(_("Give at least one team base (a point with base_id and name)."))
        for col in ("base_id", "name"):
            if col not in bases:
                raise InspectionError(_("The bases layer needs a '{column}' column; it has {columns}.").format(
                    column=col, columns=", ".join(map(str, bases.columns))))
        if not workday_hours > 0:
            raise InspectionError(_("The working hours a day must be positive, not {value!r}.").format(value=workday_hours))
        base_ids = [str(b) for b in bases["base_id"]]
        if teams is None:
            team_bases = base_ids
        elif isinstance(teams, (int, np.integer)):
            if teams < 1:
                raise InspectionError(_("The number of teams must be at least 1, not {n}.").format(n=teams))
            team_bases = [base_ids[i % len(base_ids)] for i in range(int(teams))]
        else:
            team_bases = [str(t) for t in teams]
            unknown = sorted(set(team_bases) - set(base_ids))
            if unknown:
                raise InspectionError(_("Unknown base(s) {unknown}; the bases are {bases}.").format(
                    unknown=", ".join(unknown), bases=", ".join(base_ids)))
        svc = dict(SERVICE_MINUTES)
        svc.update(service_minutes or {})
        due = due_markers(markers, as_of=as_of, cycle_years=cycle_years, lines=due_lines,
                          marker_ids=due_markers_list)
        start = pd.Timestamp(start_date if start_date is not None else
                             (as_of if as_of is not None else _dt.date.today())).date()
        net = network if network is not None else RoadNetwork.from_roads(roads)
        return cls(markers=to_storage(markers), lines=to_storage(lines), roads=to_storage(roads),
                   bases=to_storage(bases), teams=team_bases, workday_min=workday_hours * 60.0,
                   service_minutes=svc, walk_speed_kmh=walk_speed_kmh, max_walk_m=max_walk_m,
                   start_date=start, max_days=max_days, workdays_only=workdays_only,
                   areas=dict(areas or {}), neighbours=neighbours, outline=outline, network=net, due=due,
                   blackout=frozenset(parse_blackout([str(x) for x in (blackout or ())])))

    # -- stops ---------------------------------------------------------------

    def _stops(self, due_ids):
        """Group due markers into stops and work out walk and service minutes."""
        mk = self.markers.set_index(self.markers["marker_id"].astype(str))
        sub = mk.loc[due_ids]
        metric = sub.to_crs(metric_crs(sub))
        xy = np.column_stack([metric.geometry.x, metric.geometry.y])
        pairs = cKDTree(xy).query_pairs(STOP_RADIUS_M, output_type="ndarray") if len(xy) > 1 else np.empty((0, 2), int)
        g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(xy), len(xy)))
        _, label = connected_components(g, directed=False)
        snap = self.network.snap(sub.reset_index(drop=True).assign(_id=list(due_ids)), "_id",
                                 max_distance_m=self.max_walk_m, access_speed_kmh=1e9)
        dist = snap["distance_to_road_m"].to_numpy(float)
        walk = 2.0 * dist / 1000.0 / self.walk_speed_kmh * 60.0
        types = [marker_type(m) for m in due_ids]
        service = np.array([self.service_minutes.get(t, SERVICE_MINUTES["Q"]) for t in types], float)
        stops = pd.DataFrame({"marker_id": list(due_ids), "stop_key": label, "snapped": snap["snapped"].to_numpy(),
                              "distance_to_road_m": dist, "walk_min": walk, "service_min": service,
                              "marker_type": types, "reason": snap["reason"].to_numpy()})
        return stops, snap

    # -- solve ---------------------------------------------------------------

    def solve(self, time_limit: float = 10.0, method: str = "combined", seed: int = 0,
              progress=None) -> InspectionResult:
        """Assign due markers to team-days and order them.

        Parameters
        ----------
        time_limit : float
            Seconds for the routing solver.
        method : {"combined", "pyvrp", "lkh"}
            See :func:`geoplan.inspection.routing.solve_vrp`.
        seed : int
        progress : callable, optional
            Called with a stage name as each stage starts.

        Returns
        -------
        InspectionResult

        Raises
        ------
        InspectionError
            No due marker, or more work than ``max_days`` allows.
        """
        say = progress or (lambda s: None)
        say("snapping markers")
        due_ids = [m for m in self.due.index[self.due["due"]]]
        if not due_ids:
            raise InspectionError(_("No marker is due for inspection; name lines or marker IDs to inspect anyway."))
        stops, snap = self._stops(due_ids)
        unreachable = []
        for r in stops.itertuples():
            if not r.snapped:
                unreachable.append((r.marker_id, _("more than {km:g} km from the nearest road: needs a special trip on "
                                                   "foot").format(km=self.max_walk_m / 1000)))
        ok = stops[stops["snapped"]].copy()

        # one routing node per stop: the marker of the stop nearest the road stands for it
        groups = ok.groupby("stop_key", sort=True)
        stop_rows = []
        for key, g in groups:
            g = g.sort_values("marker_id")
            rep = g.loc[g["distance_to_road_m"].idxmin(), "marker_id"]
            stop_rows.append(dict(stop_key=key, rep=rep, members=list(g["marker_id"]),
                                  walk_min=float(g["walk_min"].max()),
                                  service_min=float(g["service_min"].sum())))
        stop_tab = pd.DataFrame(stop_rows)

        say("travel-time matrix")
        base_pts = self.bases.assign(_id=self.bases["base_id"].astype(str))
        snap_ok = snap.loc[list(stop_tab["rep"])] if len(stop_tab) else snap.iloc[:0]
        base_snap = self.network.snap(base_pts, "_id", access_speed_kmh=1e9)
        if not base_snap["snapped"].all():
            bad = base_snap.index[~base_snap["snapped"]].tolist()
            raise InspectionError(_("Base(s) {bases} lie farther than 1 km from any road; move them onto the road "
                                    "network.").format(bases=", ".join(bad)))
        team_base_ids = list(dict.fromkeys(self.teams))
        bsn = base_snap.loc[team_base_ids]
        everything = pd.concat([bsn[["geometry"]], snap_ok[["geometry"]]])
        everything = gpd.GeoDataFrame(everything, geometry="geometry", crs=snap.crs)
        # pd.concat keeps the snap() marker in attrs, which would make the
        # network take these plain points for one of its snap tables
        everything.attrs = {}
        everything.index = [f"base:{b}" for b in team_base_ids] + [f"stop:{k}" for k in stop_tab["stop_key"]] \
            if len(stop_tab) else [f"base:{b}" for b in team_base_ids]
        wide = self.network.cost_matrix(everything, everything, wide=True, access_speed_kmh=1e9)
        mat = wide.to_numpy(float)
        nb = len(team_base_ids)
        # stops that cannot be reached from / back to any base by road
        if len(stop_tab):
            reach = np.isfinite(mat[:nb, nb:]).any(axis=0) & np.isfinite(mat[nb:, :nb]).any(axis=1)
            day_ok = np.zeros(len(stop_tab), bool)
            for b in range(nb):
                day_ok |= (mat[b, nb:] + stop_tab["walk_min"].to_numpy() + stop_tab["service_min"].to_numpy()
                           + mat[nb:, b]) <= self.workday_min
            drop = ~(reach & day_ok)
            for i in np.flatnonzero(drop):
                why = (_("roads not connected: no starting point can drive there") if not reach[i] else
                       _("the trip there and back takes more than a working day: stay nearby or plan a special trip"))
                for mid in stop_tab["members"].iloc[i]:
                    unreachable.append((mid, why))
            keep = np.flatnonzero(~drop)
            stop_tab = stop_tab.iloc[keep].reset_index(drop=True)
            idx = list(range(nb)) + [nb + k for k in keep]
            mat = mat[np.ix_(idx, idx)]
        if not np.isfinite(mat).all():
            # a one-way network can leave some stop pairs disconnected; route around them at a cost
            mat = np.where(np.isfinite(mat), mat, 10 * self.workday_min)

        svc = np.concatenate([np.zeros(nb), stop_tab["walk_min"].to_numpy() + stop_tab["service_min"].to_numpy()]) \
            if len(stop_tab) else np.zeros(nb)
        # A team-day is a joint day with the other side of one line: changing to
        # another line means another partner, so it costs extra in the
        # objective (not in the clock), and days keep to one line where they can.
        cost = mat.copy()
        if len(stop_tab) and LINE_CHANGE_MIN > 0:
            line_of = np.array([str(m[0])[:4] for m in stop_tab["members"]])
            cost[nb:, nb:] += LINE_CHANGE_MIN * (line_of[:, None] != line_of[None, :])
        n_teams = len(self.teams)
        total = svc.sum() + (mat[:, nb:].min(axis=0).sum() if len(stop_tab) else 0)
        # Teams work in parallel, so the campaign lasts as long as the busiest
        # team: cap every team near an even share of the work first, and only
        # if that proves too tight let the days grow.
        even = math.ceil(math.ceil(total / self.workday_min) / n_teams) + 1
        days = self.max_days or even
        team_vt = [team_base_ids.index(b) for b in self.teams]
        say("routing")
        if len(stop_tab):
            for attempt in range(3):
                try:
                    sol = routing.solve_vrp(mat, svc, team_vt, [days] * n_teams, max_duration=self.workday_min,
                                            fixed_cost=self.workday_min / 4, time_limit=time_limit,
                                            method=method, resolution=1 / 60, seed=seed, progress=progress,
                                            cost_matrix=cost)
                    break
                except routing.RoutingError as exc:
                    needed = getattr(exc, "routes_needed", None)
                    if self.max_days or needed is None or attempt == 2:
                        raise InspectionError(
                            _("{error} ({stops} stops, {teams} team(s), {days} day(s) each, {hours:g} h a day)").format(
                                error=exc, stops=len(stop_tab), teams=n_teams, days=days,
                                hours=self.workday_min / 60)) from exc
                    # the plan found needs more team-days than the even share: give every
                    # team enough days for the busiest base and plan again
                    busiest = max(exc.routes_by_depot.values(), default=needed)
                    per_base = {b: self.teams.count(b) for b in team_base_ids}
                    days = max(days + 1, max(math.ceil(busiest / per_base[b]) for b in team_base_ids) + 1)
            routes_raw = sol.routes
            stats = dict(sol.stats, runtime_s=sol.runtime_s, method=sol.method)
        else:
            routes_raw, stats = [], {}

        say("schedule")
        result = self._tabulate(routes_raw, stop_tab, mat, nb, team_base_ids, unreachable)
        result.params.update(stats=stats, time_limit=time_limit)
        say("road paths")
        result.paths = self._paths(result, everything)
        return result

    def _tabulate(self, routes_raw, stop_tab, mat, nb, team_base_ids, unreachable) -> InspectionResult:
        mk = self.markers.set_index(self.markers["marker_id"].astype(str))
        base_names = dict(zip(self.bases["base_id"].astype(str), self.bases["name"].astype(str)))
        # team = vehicle type; several teams may share a base, so spread the
        # base's routes across its teams round-robin, longest first
        by_base: dict[int, list] = {}
        for r in routes_raw:
            by_base.setdefault(r.depot, []).append(r)
        team_of_base: dict[int, list[int]] = {}
        for t, b in enumerate(self.teams):
            team_of_base.setdefault(team_base_ids.index(b), []).append(t)
        assigned = []
        for b, rs in by_base.items():
            teams = team_of_base[b]
            # routes ordered by the smallest marker number they hold, so days follow the line
            rs = sorted(rs, key=lambda r: min(stop_tab["members"].iloc[c][0] for c in r.clients))
            load = {t: 0 for t in teams}
            for r in rs:
                t = min(teams, key=lambda x: (load[x], x))
                load[t] += 1
                assigned.append((t, load[t], r))
        dates = working_days(self.start_date, max([d for _, d, _ in assigned], default=0),
                             workdays_only=self.workdays_only, blackout=self.blackout)
        vis_rows, route_rows = [], []
        sequences = {}
        for t, day, r in sorted(assigned, key=lambda x: (x[0], x[1])):
            team = _("Team {n}").format(n=t + 1)
            route_id = f"T{t + 1}-D{day:02d}"
            base = self.teams[t]
            clock = 0.0
            prev = r.depot
            order = 0
            drive_tot = walk_tot = serv_tot = 0.0
            lines = []
            for s_no, c in enumerate(r.clients, start=1):
                node = nb + c
                drive = float(mat[prev, node])
                clock += drive
                st = stop_tab.iloc[c]
                walk = float(st["walk_min"])
                clock += walk / 2  # the walk in; the walk back follows the services
                drive_tot += drive
                walk_tot += walk
                for k, mid in enumerate(st["members"]):
                    order += 1
                    svc = self.service_minutes.get(marker_type(mid), SERVICE_MINUTES["Q"])
                    g = mk.loc[mid].geometry
                    vis_rows.append(dict(
                        route_id=route_id, team=team, base_id=base, day=day, date=dates[day - 1], order=order,
                        stop=s_no, marker_id=mid, marker_type=marker_type(mid),
                        line_code=str(mk.loc[mid, "line_code"]), lon=g.x, lat=g.y,
                        arrival=_clock(clock), drive_min=round(drive if k == 0 else 0.0, 1),
                        walk_min=round(walk if k == 0 else 0.0, 1), service_min=svc,
                        departure=_clock(clock + svc)))
                    clock += svc
                    serv_tot += svc
                    lines.append(str(mk.loc[mid, "line_code"]))
                clock += walk / 2
                prev = node
            sequences[route_id] = ([f"base:{base}"] + [f"stop:{stop_tab['stop_key'].iloc[c]}" for c in r.clients]
                                   + [f"base:{base}"])
            back = float(mat[prev, r.depot])
            clock += back
            drive_tot += back
            route_rows.append(dict(
                route_id=route_id, team=team, base_id=base, base_name=base_names.get(base, base), day=day,
                date=dates[day - 1], lines=",".join(dict.fromkeys(lines)), n_markers=order,
                drive_min=round(drive_tot, 1), walk_min=round(walk_tot, 1), service_min=round(serv_tot, 1),
                total_min=round(clock, 1), start=_clock(0), end=_clock(clock)))
        visits = pd.DataFrame(vis_rows, columns=[
            "route_id", "team", "base_id", "day", "date", "order", "stop", "marker_id", "marker_type",
            "line_code", "lon", "lat", "arrival", "drive_min", "walk_min", "service_min", "departure"])
        routes_df = pd.DataFrame(route_rows, columns=[
            "route_id", "team", "base_id", "base_name", "day", "date", "lines", "n_markers", "drive_min",
            "walk_min", "service_min", "total_min", "start", "end"])
        unr = pd.DataFrame(unreachable, columns=["marker_id", "reason"]).set_index("marker_id")
        markers = self.markers.copy()
        markers["due"] = markers["marker_id"].astype(str).map(self.due["due"]).fillna(False).astype(bool)
        params = dict(workday_min=self.workday_min, teams=list(self.teams), start_date=str(self.start_date),
                      walk_speed_kmh=self.walk_speed_kmh, max_walk_m=self.max_walk_m,
                      service_minutes=self.service_minutes, _sequences=sequences,
                      blackout=sorted(str(d) for d in self.blackout),
                      calendar_unknown_years=unknown_years(dates) if self.workdays_only else [])
        return InspectionResult(visits, routes_df, unr, markers, self.lines, self.roads, self.bases,
                                self.areas, self.neighbours, self.outline, params)

    def _paths(self, result: InspectionResult, points: gpd.GeoDataFrame) -> dict:
        """Road geometry of every leg as lon/lat lists, keyed by (route_id, leg number)."""
        import networkx as nx

        net = self.network
        g = net.to_networkx(weight="seconds")
        snapped = net.snap(points, access_speed_kmh=1e9)
        # road geometry between adjacent junctions, fastest parallel road first
        edge_xy = {}
        for row in net.edges.sort_values("seconds", ascending=False).itertuples():
            xy = np.asarray(row.geometry.coords)
            edge_xy[(int(row.u), int(row.v))] = xy
            if not bool(row.oneway):
                edge_xy[(int(row.v), int(row.u))] = xy[::-1]
        out = {}
        for route_id, seq in result.params.pop("_sequences", {}).items():
            for leg in range(1, len(seq)):
                a, b = snapped.loc[seq[leg - 1]], snapped.loc[seq[leg]]
                best = None
                for na, ca in ((int(a.u), a.to_u_s), (int(a.v), a.to_v_s)):
                    for nb_, cb in ((int(b.u), b.to_u_s), (int(b.v), b.to_v_s)):
                        try:
                            length, path = nx.single_source_dijkstra(g, na, nb_, weight="seconds")
                        except (nx.NetworkXNoPath, nx.NodeNotFound):
                            continue
                        total = length + (ca if np.isfinite(ca) else 0) + (cb if np.isfinite(cb) else 0)
                        if best is None or total < best[0]:
                            best = (total, path)
                pa, pb = tuple(a.geometry.coords[0]), tuple(b.geometry.coords[0])
                coords = [pa]
                if best:
                    for n1, n2 in zip(best[1][:-1], best[1][1:]):
                        coords += [tuple(c) for c in edge_xy.get((n1, n2), net.node_xy[[n1, n2]])]
                coords.append(pb)
                line = gpd.GeoSeries([shapely.LineString(coords)], crs=net.crs).to_crs("EPSG:4490").iloc[0]
                out[(route_id, leg)] = [tuple(map(float, c)) for c in line.coords]
        return out


def _clock(minutes: float) -> str:
    t = _dt.datetime.combine(_dt.date(2000, 1, 1), DAY_START) + _dt.timedelta(minutes=minutes)
    return f"{t:%H:%M}"


# A county in one call (bases, the programme's lines) lives in geoplan.inspection.campaign, and results
# back from the field in geoplan.inspection.results; both kept importable from here. They are imported
# last because they build on this module (lazily, inside their functions).
from geoplan.inspection.campaign import county_bases, plan_for_county  # noqa: E402,F401
from geoplan.inspection.results import ImportedResults, import_results, replan  # noqa: E402,F401
