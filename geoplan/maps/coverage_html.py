"""The coverage map of a county plan.

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])``, ``small`` (``county`` with its population in 1 km
cells) (``import geoplan as gp``); pytest builds them once per session (see
``geoplan/conftest.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.layers.crs import STORAGE_CRS, metric_crs
from geoplan.i18n import N_, _, ngettext
from geoplan.maps.builder import _Builder
from geoplan.maps.content import (EXEMPT, FAIL, PASS, default_sources, indicator_results, result_text,
                                  travel_time_areas)
from geoplan.maps.common import (MapError, _esc, _feature, _fmt, _labels, _missing, _popup,
                                 _record_pairs, _sw_dot, _sw_fill, _sw_line, _sym_html, layer_title)

# --------------------------------------------------------------------------
# Coverage map
# --------------------------------------------------------------------------

#: Symbol (English msgid, one letter; translated where drawn) and colour of each facility kind (layer).
FACILITY_STYLES: dict[str, tuple[str, str]] = {
    "elderly_care": (N_("E"), "#1565c0"),
    "cemeteries": (N_("C"), "#5d4037"),
    "social_work_stations": (N_("S"), "#00897b"),
    "disability_homes": (N_("D"), "#7b1fa2"),
    "children_homes": (N_("H"), "#ef6c00"),
}

_PASS, _FAIL, _EXEMPT = "#43a047", "#e53935", "#9e9e9e"
_ISO_COLOURS = ["#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef"]
_POP_COLOURS = ["#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"]


def _population_grid(raster, cell_m: float = 1000.0) -> gpd.GeoDataFrame:
    """Population summed into ``cell_m`` squares (raster cells grouped by block)."""
    data = raster.data
    data = np.ma.filled(data.astype(float), 0.0) if np.ma.isMaskedArray(data) else np.asarray(data, float)
    data = np.nan_to_num(data, nan=0.0)
    t = raster.transform
    k = max(1, int(round(cell_m / abs(t.a))))
    h, w = data.shape
    H, W = -(-h // k) * k, -(-w // k) * k
    padded = np.zeros((H, W))
    padded[:h, :w] = data
    blocks = padded.reshape(H // k, k, W // k, k).sum(axis=(1, 3))
    rows, cols = np.nonzero(blocks > 0.5)
    x0 = t.c + cols * k * t.a
    y0 = t.f + rows * k * t.e
    boxes = shapely.box(x0, y0 + k * t.e, x0 + k * t.a, y0)
    return gpd.GeoDataFrame({"population": blocks[rows, cols]}, geometry=boxes, crs=raster.crs)


def people_beyond(per_cell: gpd.GeoDataFrame, minutes: float, cell_m: float = 1000.0) -> gpd.GeoDataFrame:
    """People farther than ``minutes`` by road (or with no route), summed into ``cell_m`` blocks, as points.

    Parameters
    ----------
    per_cell : GeoDataFrame
        Per-person routing result: points with ``population``, ``minutes`` and
        ``status`` (``ok`` when routed), such as
        ``township_access_table(...).attrs["per_cell"]``.
    minutes : float
        Threshold.
    cell_m : float
        Block size in metres; blocks keep the map light.

    Examples
    --------
    ``small`` (the sample with its population in 1 km cells, see ``geoplan/conftest.py``) and ``net``:

    >>> from geoplan.coverage.access import township_access_table
    >>> care = county["elderly_care"]
    >>> t = township_access_table(county["townships"], small.population.cell_centres(),
    ...                           care[care["kind"] == "居家养老服务中心"], net)
    >>> far = people_beyond(t.attrs["per_cell"], 30)
    >>> pc = t.attrs["per_cell"]
    >>> round(far["population"].sum()), bool(far["population"].sum() == pc.loc[(pc["minutes"] > 30)
    ...                                                                        | (pc["status"] != "ok"), "population"].sum())
    (35426, True)
    """
    metric = per_cell.to_crs(metric_crs(per_cell)) if per_cell.crs is not None and per_cell.crs.is_geographic \
        else per_cell
    beyond = ~metric["status"].eq("ok") | (metric["minutes"] > minutes)
    out = metric[beyond.to_numpy()]
    if not len(out):
        return gpd.GeoDataFrame({"population": []}, geometry=[], crs=metric.crs)
    bx = np.floor(shapely.get_x(out.geometry.values) / cell_m)
    by = np.floor(shapely.get_y(out.geometry.values) / cell_m)
    g = pd.DataFrame({"bx": bx, "by": by, "population": out["population"].to_numpy(float)})
    g = g.groupby(["bx", "by"], as_index=False)["population"].sum()
    g = g[g["population"] >= 0.5]
    pts = shapely.points((g["bx"] + 0.5) * cell_m, (g["by"] + 0.5) * cell_m)
    return gpd.GeoDataFrame({"population": g["population"].round().to_numpy()}, geometry=pts, crs=metric.crs)


def _joined(items) -> str:
    """Items in one sentence with the reader's comma (，in Chinese)."""
    out = None
    for item in items:
        out = item if out is None else _("{a}, {b}").format(a=out, b=item)
    return out or ""


def _classes(values: np.ndarray, n: int) -> np.ndarray:
    """Class breaks at quantiles of the positive values (a light, readable choropleth)."""
    v = values[values > 0]
    if not len(v):
        return np.array([1.0])
    q = np.quantile(v, np.linspace(0, 1, n + 1)[1:-1])
    # Two significant digits: breaks a reader can remember (50, 120, 900), not 101.7.
    digits = np.floor(np.log10(np.maximum(q, 1))) - 1
    nice = np.round(q / 10 ** digits) * 10 ** digits
    return np.unique(np.maximum(nice, 1))


def coverage_map(county, evaluation=None, *, travel: gpd.GeoDataFrame | None = None,
                 travel_minutes: Sequence[float] = (15, 30), travel_label: str | None = None,
                 isochrones: gpd.GeoDataFrame | None = None,
                 proposed_sites: gpd.GeoDataFrame | None = None,
                 uncovered: gpd.GeoDataFrame | None = None, gap_minutes: float | None = None,
                 facility_kinds: Sequence[str] | None = None, population: bool = True,
                 basemap: str | None = None, tianditu_key: str | None = None, offline: bool = False,
                 title: str | None = None, data_date=None, sources: str | None = None,
                 simplify_m: float = 10.0) -> folium.Map:
    """Map of a county plan's coverage that answers one question at a time.

    The plan's township indicators are offered as radio buttons: one
    indicator colours the townships (达标 / 未达标 / 不要求) and the legend
    shows that indicator. Township names are written on the map; the
    travel-time areas are the evaluation's own per-cell result; facilities
    are drawn by kind; title, plan and data date stay in view.

    Parameters
    ----------
    county : geoplan.layers.sample.County
        Validated layers (``townships`` required), outline and population raster.
    evaluation : geoplan.coverage.evaluation.Evaluation, optional
        From :func:`geoplan.coverage.evaluation.evaluate`. Each township-level
        rule becomes one choice of the indicator control; the first is shown.
        The gap layer holds townships failing any rule.
    travel : GeoDataFrame, optional
        Per-cell routing result (``minutes``, ``status``, ``population`` at
        the population raster's cell centres), e.g.
        ``township_access_table(...).attrs["per_cell"]`` — the table the
        evaluation's travel rule sums (walk to the road, then drive). Drawn
        as travel-time areas made of the raster's cells
        (:func:`geoplan.maps.content.travel_time_areas`); needs
        ``county.population``.
    travel_minutes : sequence of float
        Band limits of the travel-time areas.
    travel_label : str
        What the travel time is to, for the layer and legend (e.g. ``居家养老服务中心``; default
        "nearest facility" in the reader's language).
    isochrones : GeoDataFrame, optional
        Older input: polygons with ``minutes`` (e.g. from
        :meth:`geoplan.network.graph.RoadNetwork.isochrones`), drawn
        dissolved per minutes when ``travel`` is not given. They are road
        bands and ignore the walk to the road; prefer ``travel``.
    proposed_sites : GeoDataFrame, optional
        Points of proposed new sites (from siting). Every column is shown in
        the popup; ``name`` or ``site_id`` is the searchable name.
    uncovered : GeoDataFrame, optional
        People not covered, as points with ``population`` — e.g.
        :func:`people_beyond` of the same per-cell result — drawn where they
        live, circle area proportional to people.
    gap_minutes : float, optional
        The threshold ``uncovered`` was computed for, for the layer name.
    facility_kinds : sequence of str, optional
        Facility layers to draw (default all of :data:`FACILITY_STYLES` present).
    population : bool
        Add population per square kilometre as a light choropleth (hidden
        until switched on in the layer control).
    basemap : str, optional
        One of :data:`geoplan.maps.tiles.BASEMAPS`; ``gaode``/``gaode-img`` shift
        data to GCJ-02. Default: ``none`` for an offline map, else ``osm``.
    tianditu_key : str, optional
        Tianditu key (default ``$TIANDITU_KEY``).
    offline : bool
        Inline Leaflet so the file works without a network.
    title : str, optional
        Default: county name and "civil-affairs facility coverage" (民政设施覆盖).
    data_date : str or date, optional
        Date of the data, shown under the title. Default: the evaluated year.
    sources : str, optional
        Source note for the attribution and the printed page. Default: from
        ``county.provenance`` (:func:`geoplan.maps.content.default_sources`).
    simplify_m : float
        Simplification tolerance for lines and polygons, in metres.

    Returns
    -------
    folium.Map
        Write it with :func:`geoplan.maps.html.save_map`.

    >>> from geoplan.layers.sample import load_sample
    >>> m = coverage_map(load_sample("330624"), population=False)
    """
    towns = county["townships"]
    year = getattr(evaluation, "year", None)
    plan_name = getattr(getattr(evaluation, "plan", None), "name", None)
    if title is None:
        title = _("{county} civil-affairs facility coverage").format(county=county.name or county.code)
    subtitle = (_("Plan: {plan}").format(plan=plan_name)
                + (_(" (evaluated for {year})").format(year=year) if year is not None else "")) if plan_name else None
    if data_date is None and year is not None:
        data_date = _("year {year}").format(year=year)
    if travel_label is None:
        travel_label = _("nearest facility")
    outline = county.outline if county.outline is not None and len(county.outline) else towns
    b = _Builder(title, data_date, basemap, tianditu_key, offline, simplify_m, outline,
                 subtitle=subtitle, sources=sources if sources is not None else default_sources(county))
    labels = _labels("townships")
    plain = _labels(None)  # the maps' own columns (a township's "population" is its resident population)
    towns_d = b.prepare(towns)

    # County outline, not in the layer control: it frames every other layer.
    if county.outline is not None and len(county.outline):
        o = b.prepare(county.outline)
        b.layer(_("County boundary"), [_feature(g, {"s": {"color": "#333", "weight": 2.5, "fill": False,
                                                          "interactive": False}})
                                       for g in o.geometry], show=True, control=False)
    b.legend_section(_("Boundaries"), [(_sw_line("#333"), _("County boundary")),
                                       (_sw_line("#777"), _("Township boundary"))])

    # One question at a time: each township rule is one radio choice; its legend shows only while chosen.
    failing: dict[str, list[tuple[str, str]]] = {}
    choices = []
    colours = {PASS: _PASS, FAIL: _FAIL, EXEMPT: _EXEMPT}
    for i, ind in enumerate(indicator_results(evaluation)):
        feats = []
        for _i, town in towns_d.iterrows():
            code = str(town["code"])
            if code not in ind.results.index:
                continue
            r = ind.results.loc[code]
            if r["result"] == FAIL:
                failing.setdefault(code, []).append((ind.title, str(r["reason"])))
            pairs = [(labels["name"], town["name"]), (labels["code"], town["code"]),
                     (plain["rule"], ind.title), (plain["result"], result_text(r["result"])),
                     (plain["value"], r["value"]), (plain["target"], r["target"]), (plain["reason"], r["reason"])]
            feats.append(_feature(town.geometry, {
                "s": {"color": "#666", "weight": 1, "fillColor": colours[r["result"]], "fillOpacity": 0.45,
                      "className": f"gp-ind gp-ind-{i}"},
                "p": _popup(town["name"], pairs),
                "t": _esc(_("{name}: {outcome}").format(name=_fmt(town["name"]), outcome=result_text(r["result"]))),
            }))
        group = b.layer(_("Outcome: {indicator}").format(indicator=ind.title), feats, show=(i == 0), control=False)
        choices.append((ind.label, group))
        counts = ind.results["result"].value_counts()
        b.legend_section(_("Indicator: {indicator}").format(indicator=ind.title),
                         [(_sw_fill(colours[k]), _("{outcome} ({n})").format(outcome=result_text(k),
                                                                            n=int(counts.get(k, 0))))
                          for k in (PASS, FAIL, EXEMPT) if counts.get(k, 0) or k != EXEMPT], groups=[group])
    if choices:
        b.choice(_("Choose an indicator (township outcomes)"), choices)

    # Townships with their own fields (always there, also the search target for township names).
    feats = [_feature(r.geometry, {
        "s": {"color": "#777", "weight": 1, "fill": True, "fillOpacity": 0.0},
        "p": _popup(r["name"], _record_pairs(r, labels)),
        "n": r["name"],
    }) for _i, r in towns_d.iterrows()]
    b.layer(layer_title("townships"), feats, show=True)

    # Population as a light choropleth of 1 km squares.
    if population and county.population is not None:
        grid = _population_grid(county.population)
        breaks = _classes(grid["population"].to_numpy(), len(_POP_COLOURS))
        grid_d = b.prepare(grid)
        feats = []
        for _i, r in grid_d.iterrows():
            k = int(np.searchsorted(breaks, r["population"], side="right"))
            feats.append(_feature(r.geometry, {
                "s": {"stroke": False, "fillColor": _POP_COLOURS[min(k, len(_POP_COLOURS) - 1)],
                      "fillOpacity": 0.55},
                "t": _esc(_("about {n} people/km²").format(n=_fmt(round(r["population"]))))}))
        group = b.layer(_("Population (per km²)"), feats, show=False)
        edges = [0.0] + [float(x) for x in breaks]
        entries = []
        for k, colour in enumerate(_POP_COLOURS[:len(edges)]):
            lo = edges[k]
            hi = edges[k + 1] if k + 1 < len(edges) else None
            entries.append((_sw_fill(colour, 0.8, border="#bbb"),
                            _("{low}–{high} people").format(low=_fmt(round(lo)), high=_fmt(round(hi)))
                            if hi is not None else _("≥ {low} people").format(low=_fmt(round(lo)))))
        b.legend_section(_("People per km²"), entries, groups=[group])

    # Travel-time areas: the evaluation's per-cell result, cell by cell.
    if travel is not None and len(travel):
        if county.population is None:
            raise MapError(_("Travel-time areas are drawn on the population raster's cells; the county has none."))
        areas = travel_time_areas(travel, county.population, travel_minutes)
        # Drawn as the outline of the area reached within each limit (cells of the evaluation), lightly
        # tinted, so the chosen indicator's colours stay readable underneath.
        feats, entries = [], []
        for k, limit in enumerate(sorted(travel_minutes)):
            inside = areas[areas["hi"] <= limit]
            if not len(inside):
                continue
            colour = _ISO_COLOURS[min(k, len(_ISO_COLOURS) - 1)]
            dash = None if k == 0 else "6 4"
            people = float(inside["population"].sum())
            geom = shapely.union_all(inside.geometry.values)
            d = b.prepare(gpd.GeoDataFrame({"population": [people]}, geometry=[geom], crs=areas.crs))
            feats.append(_feature(d.geometry.iloc[0], {
                "s": {"color": colour, "weight": 2.2 if k == 0 else 1.6, "dashArray": dash, "fillColor": colour,
                      "fillOpacity": 0.07, "className": "gp-travel"},
                "p": _popup(_("{facility} within {minutes} min").format(facility=travel_label, minutes=_fmt(limit)), [
                    (plain["population"], round(people)),
                    (plain["reason"], _("walk to the nearest road + drive, as in the evaluation; cells of 100 m"))]),
                "t": _esc(_("within {minutes} min: about {n} people").format(minutes=_fmt(limit),
                                                                             n=_fmt(round(people))))}))
            entries.append((_sw_line(colour, dash=bool(dash)), _("reached within {minutes} min ({n} people)").format(
                minutes=_fmt(limit), n=_fmt(round(people)))))
        beyond = areas[~(areas["hi"] <= max(travel_minutes))]
        if len(beyond):
            entries.append(("", _("rest: {bands}").format(bands=_joined(
                _("{band} {n} people").format(band=r["band"], n=_fmt(round(r["population"])))
                for _i, r in beyond.iterrows()))))
        group = b.layer(_("Journey time (walk to the road + drive)"), feats[::-1], show=True)
        b.legend_section(_("Journey time to {facility}").format(facility=travel_label), entries, groups=[group])
    elif isochrones is not None and len(isochrones):
        _draw_isochrones(b, isochrones)

    # Gaps: failing townships, then people outside the service area, where they live.
    if failing:
        feats = []
        for _i, town in towns_d[towns_d["code"].astype(str).isin(failing)].iterrows():
            code = str(town["code"])
            extra = "<h5>" + _esc(_("Indicators failed")) + "</h5><table>" + "".join(
                f"<tr><th>{_esc(rt)}</th><td>{_esc(reason)}</td></tr>" for rt, reason in failing[code]
            ) + "</table>"
            feats.append(_feature(town.geometry, {
                "s": {"color": _FAIL, "weight": 3, "dashArray": "6 4", "fillColor": _FAIL, "fillOpacity": 0.12},
                "p": _popup(town["name"], [(labels["name"], town["name"]), (labels["code"], town["code"]),
                                           (_("indicators failed"), len(failing[code]))], extra),
                "t": _esc(ngettext("{name}: {n} indicator failed", "{name}: {n} indicators failed",
                                   len(failing[code])).format(name=_fmt(town["name"]), n=len(failing[code]))),
            }))
        group = b.layer(_("Gaps: failing townships"), feats, show=False)
        b.legend_section(_("Gaps"), [(_sw_fill(_FAIL, 0.3, border=_FAIL, dash=True),
                                      _("Townships failing an indicator"))], groups=[group])
    if uncovered is not None and len(uncovered):
        if "population" not in uncovered.columns:
            raise MapError(_("The 'uncovered' layer needs a 'population' column (persons at each point)."))
        d = b.prepare(uncovered)
        top = max(float(d["population"].max()), 1.0)
        feats = [_feature(r.geometry, {
            # Circle area proportional to people: blocks of a few scattered people stay specks, so the
            # layer shows where the uncovered people are rather than painting the whole county red.
            "s": {"radius": round(max(0.8, 8 * math.sqrt(float(r["population"]) / top)), 1), "color": "#c62828",
                  "weight": 0.5, "fillColor": "#ef5350", "fillOpacity": 0.6},
            "t": _esc(_("not covered: about {n} people").format(n=_fmt(round(float(r["population"]))))),
        }) for _i, r in d.iterrows()]
        when = _("{minutes} min").format(minutes=_fmt(gap_minutes)) if gap_minutes is not None \
            else _("the service area")
        group = b.layer(_("Gaps: people beyond {limit}").format(limit=when), feats, show=True)
        total = float(d["population"].sum())
        b.legend_section(_("People not covered (where they live)"), [
            (_sw_dot("#ef5350"), _("about {n} people beyond {limit} in all; bigger circles, more people").format(
                n=_fmt(round(total)), limit=when))], groups=[group])

    # Facilities: one layer per kind, symbol + colour; planned ones hollow.
    kinds = facility_kinds if facility_kinds is not None else [k for k in FACILITY_STYLES if k in county.layers]
    fac_entries, fac_groups = [], []
    for kind in kinds:
        fac = county[kind]
        if not len(fac):
            continue
        symbol, colour = FACILITY_STYLES.get(kind, ("•", "#333"))
        symbol = _(symbol) if symbol != "•" else symbol
        flabels = _labels(kind)
        d = b.prepare(fac)
        d = d.set_geometry(d.geometry.representative_point())
        feats = [_feature(r.geometry, {
            "i": _sym_html(symbol, colour, planned=(r.get("status") == "规划")),
            "p": _popup(r["name"], _record_pairs(r, flabels)),
            "t": _esc(r["name"]),
            "n": r["name"],
        }) for _i, r in d.iterrows()]
        kind_title = layer_title(kind)
        fac_groups.append(b.layer(kind_title, feats, show=(kind != "children_homes")))
        fac_entries.append((_sym_html(symbol, colour), ngettext("{layer} ({n} site)", "{layer} ({n} sites)",
                                                                len(fac)).format(layer=kind_title, n=len(fac))))
    if fac_entries:
        fac_entries.append((_sym_html(_("P"), "#555", planned=True), _("hollow: planned")))
        b.legend_section(_("Facilities"), fac_entries, groups=fac_groups)

    # Proposed sites from siting.
    if proposed_sites is not None and len(proposed_sites):
        d = b.prepare(proposed_sites)
        d = d.set_geometry(d.geometry.representative_point())
        name_col = next((c for c in ("name", "site_id", "facility_id") if c in d.columns), None)
        slabels = _labels(None)
        feats = []
        for i, (_i, r) in enumerate(d.iterrows()):
            nm = r[name_col] if name_col else _("proposed site {n}").format(n=i + 1)
            proposed = _("Proposed: {name}").format(name=_fmt(nm))
            feats.append(_feature(r.geometry, {
                "i": _sym_html(_("+"), "#d81b60"), "zi": 1000,
                "p": _popup(proposed, _record_pairs(r, slabels)),
                "t": _esc(proposed), "n": _fmt(nm)}))
        group = b.layer(_("Proposed sites (siting result)"), feats, show=True)
        b.legend_section(_("Siting"), [(_sym_html(_("+"), "#d81b60"), _("Proposed site"))], groups=[group])

    # Township names last, so they sit above every fill.
    spots = shapely.transform(towns_d.geometry.representative_point().values, lambda xy: np.round(xy, 5))
    feats = [_feature(pt, {"i": f'<div class="gp-tl">{_esc(name)}</div>', "iz": [0, 0], "ni": 1})
             for pt, name in zip(spots, towns_d["name"])]
    b.layer(_("Township names"), feats, show=True)
    return b.finish()


def _draw_isochrones(b, isochrones: gpd.GeoDataFrame) -> None:
    """Road isochrones (older input), dissolved per kind and minutes; the widest band drawn first."""
    if "minutes" not in isochrones.columns:
        raise MapError(_("The isochrones need a 'minutes' column (travel time of each polygon)."))
    iso = isochrones.copy()
    kind_col = next((c for c in ("kind", "layer") if c in iso.columns), None)
    iso["_kind"] = iso[kind_col].astype(str) if kind_col else ""
    minutes_all = sorted(iso["minutes"].dropna().unique())
    colour_of = {m: _ISO_COLOURS[min(i, len(_ISO_COLOURS) - 1)] for i, m in enumerate(minutes_all)}
    groups = []
    for kind, part in iso.groupby("_kind", sort=False):
        rows = []
        for m in sorted(part["minutes"].dropna().unique(), reverse=True):
            sel = part[part["minutes"] == m]
            geom = shapely.union_all(sel.to_crs(STORAGE_CRS).geometry.values)
            n_fac = sel["facility_id"].nunique() if "facility_id" in sel.columns else len(sel)
            rows.append({"minutes": m, "facilities": n_fac, "geometry": geom})
        d = b.prepare(gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS))
        kind_title = layer_title(kind)
        labels = _labels(None)
        feats = [_feature(r.geometry, {
            "s": {"color": colour_of[r["minutes"]], "weight": 1, "fillColor": colour_of[r["minutes"]],
                  "fillOpacity": 0.18},
            "p": _popup(_("{layer} reached within {minutes} min").format(layer=kind_title,
                                                                        minutes=_fmt(r["minutes"])).strip(),
                        [(labels["minutes"], r["minutes"]), (labels["facilities"], r["facilities"])]),
            "t": _esc(_("{layer}: {minutes} min").format(layer=kind_title, minutes=_fmt(r["minutes"])).strip()),
        }) for _i, r in d.iterrows()]
        groups.append(b.layer(_("{layer} journey-time isochrones").format(layer=kind_title).strip(), feats,
                              show=True))
    b.legend_section(_("Road journey-time isochrones"), [
        (_sw_fill(colour_of[m], 0.4, border=colour_of[m]), _("within {minutes} min").format(minutes=_fmt(m)))
        for m in minutes_all], groups=groups)
