"""A solved inspection plan (:class:`InspectionResult`): tables, saving and loading, road legs.

Examples in this module use ``campaign = gp.plan_for_county(county, time_limit=1,
start_date="2026-09-01")``, ``tmp`` (an empty folder) (``import geoplan as gp``); pytest builds them
once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from geoplan.i18n import _
from geoplan.inspection.selection import InspectionError

# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------

@dataclass
class InspectionResult:
    """A solved inspection plan with everything printed maps and forms need.

    Attributes
    ----------
    visits : pandas.DataFrame
        One row per visited marker in visit order: ``route_id``, ``team``,
        ``base_id``, ``day`` (1-based per team), ``date``, ``order`` (1-based
        within the route), ``stop`` (1-based within the route), ``marker_id``,
        ``marker_type``, ``line_code``, ``lon``, ``lat``, ``arrival``
        (HH:MM), ``drive_min`` (to this stop; 0 for the second marker of a
        stop), ``walk_min`` (road → marker → road, charged once per stop),
        ``service_min``, ``departure``.
    routes : pandas.DataFrame
        One row per team-day: ``route_id``, ``team``, ``base_id``,
        ``base_name``, ``day``, ``date``, ``lines``, ``n_markers``,
        ``drive_min``, ``walk_min``, ``service_min``, ``total_min``,
        ``start``, ``end``.
    unreachable : pandas.DataFrame
        Due markers left out, with ``reason``.
    markers, lines, roads, bases : geopandas.GeoDataFrame
        The layers in EPSG:4490 (``markers`` with ``due`` and snapping columns).
    areas : dict
        ``{code: name}`` of the divisions on either side of the lines.
    params : dict
        Parameters of the plan (teams, hours, time limit, dates, solver stats).

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> len(campaign.visits), campaign.visits["marker_id"].is_unique, campaign.routes["date"].min()
    (43, True, datetime.date(2026, 9, 1))
    >>> p = campaign.save(tmp / "plan.gpkg")
    >>> len(InspectionResult.load(p).visits)
    43
    """

    visits: pd.DataFrame
    routes: pd.DataFrame
    unreachable: pd.DataFrame
    markers: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame | None
    bases: gpd.GeoDataFrame
    areas: dict = field(default_factory=dict)
    neighbours: gpd.GeoDataFrame | None = None
    outline: gpd.GeoDataFrame | None = None
    params: dict = field(default_factory=dict)
    #: road path per leg (route_id, stop) → list of (lon, lat), for maps and GPX
    paths: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One paragraph for the command line."""
        r = self.routes
        return (f"{len(self.visits)} markers in {len(r)} team-days by {r['team'].nunique() if len(r) else 0} "
                f"team(s); drive {r['drive_min'].sum():.0f} min, walk {r['walk_min'].sum():.0f} min, "
                f"service {r['service_min'].sum():.0f} min; longest day {r['total_min'].max() if len(r) else 0:.0f} "
                f"of {self.params.get('workday_min', 0):.0f} min; {len(self.unreachable)} unreachable.")

    def save(self, path, *, overwrite: bool = False):
        """Write the plan to a GeoPackage (``inspect atlas/forms/import`` read it back); returns the path.

        The file is built under a temporary name and renamed over ``path``
        when complete, so a failed save leaves an existing plan untouched.
        """
        from pathlib import Path

        from geoplan.output import atomic_target

        with atomic_target(path, overwrite=overwrite) as tmp:
            self._write_gpkg(tmp)
        return Path(path)

    def _write_gpkg(self, p) -> None:
        import json

        import pyogrio

        from geoplan.layers.io import write_layer
        vis = gpd.GeoDataFrame(self.visits.copy(), geometry=gpd.points_from_xy(self.visits["lon"], self.visits["lat"]),
                               crs="EPSG:4490")
        vis["date"] = vis["date"].astype(str)
        write_layer(vis, p, "plan_visits")
        write_layer(gpd.GeoDataFrame(self.routes.assign(date=self.routes["date"].astype(str)), geometry=_route_lines(self),
                                     crs="EPSG:4490"), p, "plan_routes")
        for name, gdf in (("markers", self.markers), ("boundary_lines", self.lines), ("roads", self.roads),
                          ("bases", self.bases), ("neighbours", self.neighbours), ("county", self.outline)):
            if gdf is not None and len(gdf):
                g = gdf.copy()
                for c in g.columns:
                    if c != g.geometry.name and (pd.api.types.is_datetime64_any_dtype(g[c]) or g[c].dtype == object):
                        g[c] = g[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                                        or v is pd.NaT else str(v)[:10] if isinstance(v, (pd.Timestamp, _dt.date)) else v)
                write_layer(g, p, name)
        meta = pd.DataFrame({"key": ["params", "areas", "unreachable", "paths"],
                             "value": [json.dumps(self.params, ensure_ascii=False, default=str),
                                       json.dumps(self.areas, ensure_ascii=False),
                                       self.unreachable.reset_index().to_json(force_ascii=False),
                                       json.dumps({f"{k[0]}|{k[1]}": v for k, v in self.paths.items()})]})
        pyogrio.write_dataframe(meta, p, layer="plan_meta", driver="GPKG")

    @classmethod
    def load(cls, path) -> "InspectionResult":
        """Read a plan written by :meth:`save`."""
        import io as _io
        import json
        from pathlib import Path
        import pyogrio

        p = Path(path)
        if not p.exists():
            raise InspectionError(_("Plan file not found: {path}. Make one with `geoplan inspect plan`.").format(path=p))
        try:
            names = set(pyogrio.list_layers(p)[:, 0])
        except Exception as exc:
            raise InspectionError(_("{path} is not a plan GeoPackage ({error}).").format(path=p, error=exc)) from exc
        if not {"plan_visits", "plan_routes", "plan_meta"} <= names:
            raise InspectionError(
                _("{path} is not a plan written by `geoplan inspect plan` (no plan_* tables).").format(path=p))

        def rd(name):
            return gpd.read_file(p, layer=name, engine="pyogrio") if name in names else None

        vis = pd.DataFrame(rd("plan_visits").drop(columns="geometry"))
        routes = pd.DataFrame(rd("plan_routes").drop(columns="geometry"))
        for df in (vis, routes):
            df["date"] = pd.to_datetime(df["date"]).dt.date
        meta = pyogrio.read_dataframe(p, layer="plan_meta", read_geometry=False).set_index("key")["value"]
        unreachable = pd.read_json(_io.StringIO(meta["unreachable"]), dtype={"marker_id": str})
        if "marker_id" in unreachable:
            unreachable = unreachable.set_index("marker_id")
        markers = rd("markers")
        if "last_inspected" in markers:
            markers["last_inspected"] = pd.to_datetime(markers["last_inspected"])
        paths = {tuple((k.split("|")[0], int(k.split("|")[1]))): v for k, v in json.loads(meta["paths"]).items()}
        return cls(vis, routes, unreachable, markers, rd("boundary_lines"), rd("roads"), rd("bases"),
                   json.loads(meta["areas"]), rd("neighbours"), rd("county"), json.loads(meta["params"]), paths)


def route_legs(result: InspectionResult) -> gpd.GeoDataFrame:
    """The drive of every team-day as one road line per leg, for maps.

    Returns
    -------
    GeoDataFrame
        ``route_id``, ``team``, ``day`` (date), ``order`` (the stop the leg
        arrives at; the last leg, back to base, has ``stop`` '返回'),
        ``stop`` (marker IDs visited there), EPSG:4490.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> legs = route_legs(campaign)
    >>> set(legs["route_id"]) == set(campaign.routes["route_id"]), legs.crs.to_epsg()
    (True, 4490)
    """
    rows = []
    for r in result.routes.itertuples(index=False):
        visits = result.visits[result.visits["route_id"] == r.route_id]
        stops = visits.groupby("stop")["marker_id"].agg(lambda s: "、".join(map(str, s)))
        last = int(visits["stop"].max()) + 1 if len(visits) else 1
        for stop in range(1, last + 1):
            coords = result.paths.get((r.route_id, stop), [])
            if len(coords) < 2:
                continue
            rows.append({"route_id": r.route_id, "team": str(r.team), "day": str(r.date), "order": stop,
                         "stop": stops.get(stop, _("back to base")), "geometry": shapely.LineString(coords)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4490") if rows else \
        gpd.GeoDataFrame({"route_id": [], "team": [], "day": [], "order": [], "stop": []}, geometry=[],
                         crs="EPSG:4490")


def _route_lines(result: InspectionResult):
    geoms = []
    for _, r in result.routes.iterrows():
        coords = []
        for stop in range(1, int(result.visits.loc[result.visits.route_id == r.route_id, "stop"].max()) + 2):
            coords += result.paths.get((r.route_id, stop), [])
        geoms.append(shapely.LineString(coords) if len(coords) >= 2 else None)
    return geoms


