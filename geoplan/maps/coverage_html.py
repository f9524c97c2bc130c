"""The coverage map of a county plan."""

from __future__ import annotations

import math
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.layers.crs import STORAGE_CRS, metric_crs
from geoplan.layers.schema import SCHEMAS
from geoplan.maps.builder import _Builder
from geoplan.maps.common import (MapError, _esc, _feature, _fmt, _labels, _missing, _popup,
                                 _record_pairs, _sw_dot, _sw_fill, _sw_line, _sym_html)

# --------------------------------------------------------------------------
# Coverage map
# --------------------------------------------------------------------------

#: Symbol and colour of each facility kind (layer) on the coverage map.
FACILITY_STYLES: dict[str, tuple[str, str]] = {
    "elderly_care": ("养", "#1565c0"),
    "cemeteries": ("墓", "#5d4037"),
    "social_work_stations": ("社", "#00897b"),
    "disability_homes": ("残", "#7b1fa2"),
    "children_homes": ("童", "#ef6c00"),
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


def coverage_map(county, evaluation=None, *, isochrones: gpd.GeoDataFrame | None = None,
                 proposed_sites: gpd.GeoDataFrame | None = None,
                 uncovered: gpd.GeoDataFrame | None = None, gap_minutes: float | None = None,
                 facility_kinds: Sequence[str] | None = None, population: bool = True,
                 basemap: str | None = None, tianditu_key: str | None = None, offline: bool = False,
                 title: str | None = None, data_date=None, simplify_m: float = 10.0) -> folium.Map:
    """Map of a county plan's coverage: results, facilities, gaps, isochrones, proposed sites.

    Parameters
    ----------
    county : geoplan.layers.sample.County
        Validated layers (``townships`` required), outline and population raster.
    evaluation : geoplan.coverage.evaluation.Evaluation, optional
        From :func:`geoplan.coverage.evaluation.evaluate`. Each township-level rule
        (``evaluation.townships``: ``rule_id``, ``title``, ``code``,
        ``value``, ``target``, ``passed``, ``reason``) becomes one overlay
        of townships coloured 达标 / 未达标 / 不要求; the first is shown. The
        gap layer holds townships failing any rule.
    isochrones : GeoDataFrame, optional
        Polygons with ``minutes`` (and optionally ``facility_id`` and
        ``kind``/``layer`` to split by facility kind), as from
        :meth:`geoplan.network.graph.RoadNetwork.isochrones`. Drawn dissolved per
        kind and minutes.
    proposed_sites : GeoDataFrame, optional
        Points of proposed new sites (from siting). Every column is shown in
        the popup; ``name`` or ``site_id`` is the searchable name.
    uncovered : GeoDataFrame, optional
        People not covered, as points with ``population`` — e.g.
        :func:`people_beyond` of a routing result. Isochrones are not used
        for this: they are road bands for display, and people off the band
        may still be within reach on foot.
    gap_minutes : float, optional
        The threshold ``uncovered`` was computed for, for the layer name.
    facility_kinds : sequence of str, optional
        Facility layers to draw (default all of :data:`FACILITY_STYLES` present).
    population : bool
        Add population per square kilometre as a light choropleth (hidden
        until switched on in the layer control).
    basemap : str, optional
        One of :data:`BASEMAPS`; ``gaode``/``gaode-img`` shift data to GCJ-02.
        Default: ``none`` for an offline map, else ``osm``.
    tianditu_key : str, optional
        Tianditu key (default ``$TIANDITU_KEY``).
    offline : bool
        Inline Leaflet so the file works without a network.
    title : str, optional
        Default: county name, plan name and year.
    data_date : str or date, optional
        Date of the data, shown under the title.
    simplify_m : float
        Simplification tolerance for lines and polygons, in metres.

    Returns
    -------
    folium.Map
        Write it with :func:`save_map`.
    """
    towns = county["townships"]
    year = getattr(evaluation, "year", None)
    if title is None:
        plan_name = getattr(getattr(evaluation, "plan", None), "name", None)
        title = f"{county.name or county.code} 民政设施覆盖" + (f" · {plan_name}" if plan_name else "")
    if data_date is None and year is not None:
        data_date = f"{year} 年评估"
    outline = county.outline if county.outline is not None and len(county.outline) else towns
    b = _Builder(title, data_date, basemap, tianditu_key, offline, simplify_m, outline)
    labels = _labels("townships")
    towns_d = b.prepare(towns)

    # County outline, not in the layer control: it frames every other layer.
    if county.outline is not None and len(county.outline):
        o = b.prepare(county.outline)
        folium_outline = [_feature(g, {"s": {"color": "#333", "weight": 2.5, "fill": False, "interactive": False}})
                          for g in o.geometry]
        b.layer("县界", folium_outline, show=True)
    b.legend_section("边界", [(_sw_line("#333"), "县界"), (_sw_line("#777"), "乡镇(街道)界")])

    # Rule results: one overlay per township rule.
    failing: dict[str, list[tuple[str, str]]] = {}
    if evaluation is not None and len(evaluation.townships):
        t = evaluation.townships
        for i, (rule_id, rows) in enumerate(t.groupby("rule_id", sort=False)):
            rule_title = str(rows["title"].iloc[0])
            by_code = rows.set_index("code")
            feats = []
            for _, town in towns_d.iterrows():
                if town["code"] not in by_code.index:
                    continue
                r = by_code.loc[town["code"]]
                passed = r["passed"]
                if _missing(passed):
                    colour, result = _EXEMPT, "不要求"
                elif bool(passed):
                    colour, result = _PASS, "达标"
                else:
                    colour, result = _FAIL, "未达标"
                    failing.setdefault(town["code"], []).append((rule_title, str(r["reason"])))
                pairs = [(labels["name"], town["name"]), (labels["code"], town["code"]),
                         ("指标", rule_title), ("结果", result), ("数值", r["value"]), ("目标", r["target"]),
                         ("说明", r["reason"])]
                feats.append(_feature(town.geometry, {
                    "s": {"color": "#666", "weight": 1, "fillColor": colour, "fillOpacity": 0.45},
                    "p": _popup(town["name"], pairs),
                    "t": f"{_esc(town['name'])}：{result}",
                }))
            b.layer(f"达标：{rule_title}", feats, show=(i == 0))
        b.legend_section("乡镇(街道)达标情况（每项指标一个图层）",
                         [(_sw_fill(_PASS), "达标"), (_sw_fill(_FAIL), "未达标"), (_sw_fill(_EXEMPT), "不要求")])

    # Townships with their own fields (always there, also the search target for township names).
    feats = [_feature(r.geometry, {
        "s": {"color": "#777", "weight": 1, "fill": True, "fillOpacity": 0.0},
        "p": _popup(r["name"], _record_pairs(r, labels)),
        "n": r["name"],
    }) for _, r in towns_d.iterrows()]
    b.layer("乡镇(街道)", feats, show=True)

    # Population as a light choropleth of 1 km squares.
    if population and county.population is not None:
        grid = _population_grid(county.population)
        breaks = _classes(grid["population"].to_numpy(), len(_POP_COLOURS))
        grid_d = b.prepare(grid)
        feats = []
        for _, r in grid_d.iterrows():
            k = int(np.searchsorted(breaks, r["population"], side="right"))
            feats.append(_feature(r.geometry, {
                "s": {"stroke": False, "fillColor": _POP_COLOURS[min(k, len(_POP_COLOURS) - 1)],
                      "fillOpacity": 0.55},
                "t": f"约 {_fmt(round(r['population']))} 人/km²"}))
        b.layer("人口分布（每平方公里）", feats, show=False)
        edges = [0.0] + [float(x) for x in breaks]
        entries = []
        for k, colour in enumerate(_POP_COLOURS[:len(edges)]):
            lo = edges[k]
            hi = edges[k + 1] if k + 1 < len(edges) else None
            entries.append((_sw_fill(colour, 0.8, border="#bbb"),
                            f"{_fmt(round(lo))}–{_fmt(round(hi))} 人" if hi is not None else f"≥ {_fmt(round(lo))} 人"))
        b.legend_section("人口（每平方公里）", entries)

    # Isochrones, dissolved per kind and minutes; the widest band drawn first.
    if isochrones is not None and len(isochrones):
        if "minutes" not in isochrones.columns:
            raise MapError("The isochrones need a 'minutes' column (travel time of each polygon).")
        iso = isochrones.copy()
        kind_col = next((c for c in ("kind", "layer") if c in iso.columns), None)
        iso["_kind"] = iso[kind_col].astype(str) if kind_col else ""
        minutes_all = sorted(iso["minutes"].dropna().unique())
        colour_of = {m: _ISO_COLOURS[min(i, len(_ISO_COLOURS) - 1)] for i, m in enumerate(minutes_all)}
        for kind, part in iso.groupby("_kind", sort=False):
            rows = []
            for m in sorted(part["minutes"].dropna().unique(), reverse=True):
                sel = part[part["minutes"] == m]
                geom = shapely.union_all(sel.to_crs(STORAGE_CRS).geometry.values)
                n_fac = sel["facility_id"].nunique() if "facility_id" in sel.columns else len(sel)
                rows.append({"minutes": m, "facilities": n_fac, "geometry": geom})
            d = b.prepare(gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS))
            kind_zh = SCHEMAS[kind].title_zh if kind in SCHEMAS else kind
            feats = [_feature(r.geometry, {
                "s": {"color": colour_of[r["minutes"]], "weight": 1, "fillColor": colour_of[r["minutes"]],
                      "fillOpacity": 0.18},
                "p": _popup(f"{kind_zh} {_fmt(r['minutes'])} 分钟可达范围".strip(),
                            [("通行时间(分钟)", r["minutes"]), ("设施数", r["facilities"])]),
                "t": f"{_esc(kind_zh)} {_esc(r['minutes'])} 分钟可达".strip(),
            }) for _, r in d.iterrows()]
            b.layer(f"{kind_zh} 通行时间等时圈".strip(), feats, show=True)
        b.legend_section("道路通行时间等时圈",
                         [(_sw_fill(colour_of[m], 0.4, border=colour_of[m]), f"{_fmt(m)} 分钟内")
                          for m in minutes_all])

    # Gaps: failing townships, then people outside the service circle.
    gap_entries = []
    if failing:
        feats = []
        for _, town in towns_d[towns_d["code"].isin(failing)].iterrows():
            extra = "<h5>未达标指标</h5><table>" + "".join(
                f"<tr><th>{_esc(rt)}</th><td>{_esc(reason)}</td></tr>" for rt, reason in failing[town["code"]]
            ) + "</table>"
            feats.append(_feature(town.geometry, {
                "s": {"color": _FAIL, "weight": 3, "dashArray": "6 4", "fillColor": _FAIL, "fillOpacity": 0.12},
                "p": _popup(town["name"], [(labels["name"], town["name"]), (labels["code"], town["code"]),
                                           ("未达标指标数", len(failing[town["code"]]))], extra),
                "t": f"{_esc(town['name'])}：{len(failing[town['code']])} 项未达标",
            }))
        b.layer("缺口：未达标乡镇(街道)", feats, show=False)
        gap_entries.append((_sw_fill(_FAIL, 0.3, border=_FAIL, dash=True), "有未达标指标的乡镇(街道)"))
    if uncovered is not None and len(uncovered):
        if "population" not in uncovered.columns:
            raise MapError("The 'uncovered' layer needs a 'population' column (persons at each point).")
        d = b.prepare(uncovered)
        top = max(float(d["population"].max()), 1.0)
        feats = [_feature(r.geometry, {
            # Circle area proportional to people: blocks of a few scattered people stay specks, so the
            # layer shows where the uncovered people are rather than painting the whole county red.
            "s": {"radius": round(max(0.8, 8 * math.sqrt(float(r["population"]) / top)), 1), "color": "#c62828",
                  "weight": 0.5, "fillColor": "#ef5350", "fillOpacity": 0.6},
            "t": f"未覆盖约 {_fmt(round(float(r['population'])))} 人",
        }) for _, r in d.iterrows()]
        when = f"{_fmt(gap_minutes)} 分钟" if gap_minutes is not None else "服务范围"
        b.layer(f"缺口：{when}外人口", feats, show=True)
        gap_entries.append((_sw_dot("#ef5350"), f"{when}外人口（圈越大人越多，每平方公里合计）"))
    if gap_entries:
        b.legend_section("缺口", gap_entries)

    # Facilities: one layer per kind, symbol + colour; planned ones hollow.
    kinds = facility_kinds if facility_kinds is not None else [k for k in FACILITY_STYLES if k in county.layers]
    fac_entries = []
    for kind in kinds:
        fac = county[kind]
        if not len(fac):
            continue
        symbol, colour = FACILITY_STYLES.get(kind, ("•", "#333"))
        flabels = _labels(kind)
        d = b.prepare(fac)
        d = d.set_geometry(d.geometry.representative_point())
        feats = [_feature(r.geometry, {
            "i": _sym_html(symbol, colour, planned=(r.get("status") == "规划")),
            "p": _popup(r["name"], _record_pairs(r, flabels)),
            "t": _esc(r["name"]),
            "n": r["name"],
        }) for _, r in d.iterrows()]
        title_zh = SCHEMAS[kind].title_zh if kind in SCHEMAS else kind
        b.layer(title_zh, feats, show=(kind != "children_homes"))
        fac_entries.append((_sym_html(symbol, colour), title_zh))
    if fac_entries:
        fac_entries.append((_sym_html("规", "#555", planned=True), "空心：规划中"))
        b.legend_section("设施", fac_entries)

    # Proposed sites from siting.
    if proposed_sites is not None and len(proposed_sites):
        d = b.prepare(proposed_sites)
        d = d.set_geometry(d.geometry.representative_point())
        name_col = next((c for c in ("name", "site_id", "facility_id") if c in d.columns), None)
        slabels = _labels(None)
        feats = []
        for i, (_, r) in enumerate(d.iterrows()):
            nm = r[name_col] if name_col else f"拟新建站点 {i + 1}"
            feats.append(_feature(r.geometry, {
                "i": _sym_html("新", "#d81b60"), "zi": 1000,
                "p": _popup(f"拟新建：{_fmt(nm)}", _record_pairs(r, slabels)),
                "t": f"拟新建：{_esc(nm)}", "n": _fmt(nm)}))
        b.layer("拟新建站点（选址结果）", feats, show=True)
        b.legend_section("选址", [(_sym_html("新", "#d81b60"), "拟新建站点")])
    return b.finish()


