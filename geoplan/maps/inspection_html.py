"""The boundary inspection map.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
import shapely

from geoplan.i18n import _, ngettext
from geoplan.maps.builder import _Builder
from geoplan.maps.common import (PALETTE, MapError, _esc, _feature, _fmt, _labels, _missing, _popup,
                                 _record_pairs, _sw_dot, _sw_line, layer_title, value_text)

#: Marker colour per condition (schema ``boundary_markers.condition``).
CONDITION_COLOURS: dict[str, str] = {"完好": "#2e7d32", "损坏": "#f9a825", "移位": "#8e24aa", "丢失": "#d32f2f",
                                     # told apart from each other and from the grey of unknown values
                                     "字迹不清": "#1e88e5", "被掩埋": "#6d4c41"}
_LEVEL_WEIGHTS = {"省级": 5, "市级": 4, "县级": 3, "乡级": 2}


def inspection_map(lines: gpd.GeoDataFrame, markers: gpd.GeoDataFrame, routes: gpd.GeoDataFrame | None = None,
                   *, outline: gpd.GeoDataFrame | None = None, basemap: str | None = None,
                   tianditu_key: str | None = None, offline: bool = False, title: str | None = None,
                   data_date=None, simplify_m: float = 10.0, sources: str | None = None) -> folium.Map:
    """Map for boundary inspection: lines, markers by condition, team-day routes in visit order.

    Parameters
    ----------
    lines : GeoDataFrame
        Boundary lines (schema ``boundary_lines``: ``line_code``, ``name``, ``level`` …).
    markers : GeoDataFrame
        Boundary markers (schema ``boundary_markers``: ``marker_id``,
        ``line_code``, ``condition`` …), coloured by ``condition``.
    routes : GeoDataFrame, optional
        LineStrings, one row per leg (or per whole route) with columns
        ``team`` and ``day`` (one colour and one overlay per team-day) and
        ``order`` (visit number of the stop at the end of the leg; default:
        row order within the team-day). Optional ``stop`` (e.g. the marker
        ID visited) and any other columns go into the popup.
    outline : GeoDataFrame, optional
        Area outline (county) for framing.
    basemap, tianditu_key, offline, title, data_date, simplify_m, sources
        As in :func:`geoplan.maps.coverage_html.coverage_map` (``sources``: the
        source note in the attribution; none by default).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> m = inspection_map(county["boundary_lines"], county["boundary_markers"], outline=county.outline)
    >>> html = m.get_root().render()
    >>> "新昌县—东阳市线" in html, "7005001Q" in html
    (True, True)
    """
    for col in ("condition",):
        if col not in markers.columns:
            raise MapError(_("The boundary markers need a {column!r} column.").format(column=col))
    if title is None:
        title = _("Boundary joint inspection")
    frame = outline if outline is not None and len(outline) else (lines if len(lines) else markers)
    if data_date is None and "last_inspected" in markers.columns and markers["last_inspected"].notna().any():
        data_date = _("boundary markers last inspected {date}").format(
            date=_fmt(pd.to_datetime(markers["last_inspected"]).max()))
    b = _Builder(title, data_date, basemap, tianditu_key, offline, simplify_m, frame,
                 search_placeholder=_("Search boundary lines, boundary markers…"), sources=sources)
    if outline is not None and len(outline):
        o = b.prepare(outline)
        b.layer(_("County boundary"), [_feature(g, {"s": {"color": "#999", "weight": 1.5, "fill": False, "dashArray": "4 3",
                                            "interactive": False}}) for g in o.geometry])

    llabels = _labels("boundary_lines")
    d = b.prepare(lines)
    feats = []
    for _i, r in d.iterrows():
        nm = r.get("name", r.get("line_code", ""))
        feats.append(_feature(r.geometry, {
            "s": {"color": "#424242", "weight": _LEVEL_WEIGHTS.get(r.get("level"), 3), "opacity": 0.9},
            "p": _popup(nm, _record_pairs(r, llabels)), "t": _esc(nm), "n": _fmt(nm)}))
    b.layer(layer_title("boundary_lines"), feats)
    b.legend_section(_("Boundary lines"), [(_sw_line("#424242"), _("Boundary lines (thicker: higher level)"))])

    mlabels = _labels("boundary_markers")
    d = b.prepare(markers)
    feats = []
    for _i, r in d.iterrows():
        colour = CONDITION_COLOURS.get(r["condition"], "#607d8b")
        mid = r.get("marker_id", "")
        feats.append(_feature(r.geometry, {
            "s": {"radius": 6, "color": "#fff", "weight": 1.5, "fillColor": colour, "fillOpacity": 1},
            "p": _popup(_("Boundary marker {id}").format(id=_fmt(mid)), _record_pairs(r, mlabels)),
            "t": _esc(_("{id} ({condition})").format(id=_fmt(mid), condition=_fmt(value_text("condition",
                                                                                                r["condition"])))),
            "n": _fmt(mid)}))
    b.layer(layer_title("boundary_markers"), feats)
    known = [c for c in CONDITION_COLOURS if c in set(markers["condition"].dropna())] or list(CONDITION_COLOURS)
    other = sorted(set(markers["condition"].dropna().astype(str)) - set(CONDITION_COLOURS))
    b.legend_section(_("Boundary marker condition"), [(_sw_dot(CONDITION_COLOURS[c]), value_text("condition", c))
                                                      for c in known]
                     + [(_sw_dot("#607d8b"), c) for c in other])

    if routes is not None and len(routes):
        missing = [c for c in ("team", "day") if c not in routes.columns]
        if missing:
            raise MapError(_("Each team-day route is made of the rows sharing a team and a day: the routes "
                             "need both columns; missing: {missing}.").format(missing=", ".join(missing)))
        d = b.prepare(routes)
        rlabels = _labels(None)
        entries = []
        for i, ((team, day), part) in enumerate(d.groupby(["team", "day"], sort=True)):
            colour = PALETTE[i % len(PALETTE)]
            if "order" in part.columns:
                part = part.sort_values("order", kind="stable")
                orders = part["order"].tolist()
            else:
                orders = list(range(1, len(part) + 1))
            name = f"{_fmt(team)} · {_fmt(day)}"
            feats = []
            first = part.geometry.iloc[0]
            if first.geom_type in ("LineString", "MultiLineString") and not first.is_empty:
                start = shapely.get_point(shapely.line_merge(first) if first.geom_type == "MultiLineString"
                                          else first, 0)
                if start is not None and not start.is_empty:
                    feats.append(_feature(start, {
                        "i": f'<span class="gp-num" style="background:{colour}">' + _esc(_("▶")) + "</span>",
                        "iz": [22, 18], "zi": 500, "t": _esc(_("{route} starting point").format(route=name))}))
            for (_i, r), order in zip(part.iterrows(), orders):
                pairs = _record_pairs(r, rlabels, skip=("order",)) + [(rlabels["order"], order)]
                feats.append(_feature(r.geometry, {
                    "s": {"color": colour, "weight": 4, "opacity": 0.85},
                    "p": _popup(_("Route {route}, leg {n}").format(route=name, n=_fmt(order)), pairs),
                    "t": _esc(_("{route}, leg {n}").format(route=name, n=_fmt(order)))}))
                end = shapely.get_point(shapely.line_merge(r.geometry) if r.geometry.geom_type == "MultiLineString"
                                        else r.geometry, -1) if r.geometry.geom_type in ("LineString",
                                                                                          "MultiLineString") else None
                if end is None or end.is_empty:
                    end = r.geometry.representative_point()
                stop = r.get("stop", None)
                feats.append(_feature(end, {
                    "i": f'<span class="gp-num" style="background:{colour}">{_esc(order)}</span>', "iz": [22, 18],
                    "zi": 500,
                    "p": _popup(_("{route}, stop {n}").format(route=name, n=_fmt(order)),
                                [(rlabels["team"], team), (rlabels["day"], day), (rlabels["order"], order)]
                                + ([(rlabels["stop"], stop)] if not _missing(stop) else [])),
                    "t": _esc(_("{route}, stop {n}").format(route=name, n=_fmt(order))
                              + (_(": {stop}").format(stop=_fmt(stop)) if not _missing(stop) else ""))}))
            route_name = _("Route {route}").format(route=name)
            b.layer(route_name, feats, search_label=route_name)
            entries.append((_sw_line(colour), ngettext("{route} ({n} leg; numbers give the visiting order)",
                                                       "{route} ({n} legs; numbers give the visiting order)",
                                                       len(part)).format(route=name, n=len(part))))
        b.legend_section(_("Inspection routes (one colour per team and day)"), entries)
    return b.finish()


