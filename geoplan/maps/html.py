"""Interactive HTML maps: plan coverage, boundary inspection, the gazetteer.

Three map builders return a :class:`folium.Map`; :func:`save_map` writes it.

- :func:`coverage_map` — townships coloured by the result of each plan rule,
  facilities by kind, gaps (failing townships, people outside the service
  circle), travel-time isochrones, proposed new sites and population.
- :func:`inspection_map` — boundary lines, markers by condition, and one
  coloured route per team and day with the visit order.
- :func:`gazetteer_map` — place names by category, their history in the popup.

Every map has a layer control, a legend, a scale bar, a search box over the
names of its features, Chinese popups (column labels from
:mod:`geoplan.layers.schema`), a title and the data date.

Design decisions
----------------
*Assets.* Folium's default page pulls Leaflet, jQuery, Bootstrap, Font
Awesome and Leaflet.awesome-markers from five CDNs. These maps need Leaflet
only: controls, legend and search are a few lines of geoplan's own script
(:data:`_GEOPLAN_JS`), icons are CSS ``divIcon``\\ s. So an online map loads
two files from one CDN and an offline map (``offline=True``) inlines exactly
Leaflet's JS and CSS, read from the ``django-js-lib-leaflet`` wheel (Leaflet
1.9.4 with no dependencies; it never imports Django here), with the CSS
images turned into data URIs: the file makes no request at all.

*Safety.* Text from data (names, remarks, categories, team names) never
reaches the page unescaped: popup, tooltip, legend and layer-control HTML is
built in Python with :func:`html.escape`, and all data travels in
``<script type="application/json">`` blocks whose ``<``, ``>`` and ``&``
are JSON-escaped, so no value can close the script element. The search box
writes names with ``textContent``.

*Size.* Geometries are simplified in the metric Gauss–Krüger zone to
``simplify_m`` (10 m: below a screen pixel up to zoom 13) and coordinates
are rounded to 5 decimals (about 1 m).

*Datum.* Gaode/Amap tiles are drawn in GCJ-02; with a Gaode basemap every
data layer is shifted by :func:`geoplan.layers.crs.cgcs2000_to_gcj02` so features
sit on the right street. Tianditu and OpenStreetMap tiles are WGS84-based,
which CGCS2000 matches to centimetres, so their layers are not shifted.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from geoplan.layers.crs import STORAGE_CRS, cgcs2000_to_gcj02, metric_crs, require_crs
from geoplan.errors import GeoplanError
from geoplan.layers.schema import SCHEMAS

__all__ = [
    "BASEMAPS", "FACILITY_STYLES", "CONDITION_COLOURS", "DEFAULT_CATEGORY_LABELS",
    "basemap_tiles", "coverage_map", "inspection_map", "gazetteer_map", "save_map",
    "leaflet_assets", "people_beyond", "MapError",
]


class MapError(GeoplanError):
    """A map cannot be made as asked (unknown basemap, missing key or column)."""


# --------------------------------------------------------------------------
# Basemaps
# --------------------------------------------------------------------------

#: Basemap keys and their Chinese names. ``none`` draws data on a plain
#: background: the one choice that works on a PC without internet.
BASEMAPS: dict[str, str] = {
    "none": "无底图",
    "osm": "OpenStreetMap",
    "tianditu-vec": "天地图 矢量",
    "tianditu-img": "天地图 影像",
    "gaode": "高德地图",
    "gaode-img": "高德 影像",
}

_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
             "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
_TIANDITU_ATTR = "&copy; 天地图 国家地理信息公共服务平台"
_GAODE_ATTR = "&copy; 高德地图 AutoNavi"


@dataclass(frozen=True)
class TileSpec:
    """One tile layer of a basemap.

    Attributes
    ----------
    url : str
        Leaflet URL template (``{z}``, ``{x}``, ``{y}``, ``{s}``).
    name : str
        Name in the layer control.
    attribution : str
        Attribution HTML (a constant of this module, never data).
    subdomains : str
        Characters substituted for ``{s}``.
    overlay : bool
        True for an annotation layer drawn over the base tiles.
    max_zoom : int
    """

    url: str
    name: str
    attribution: str
    subdomains: str = "abc"
    overlay: bool = False
    max_zoom: int = 18


def basemap_tiles(basemap: str, tianditu_key: str | None = None) -> list[TileSpec]:
    """Tile layers of a basemap.

    Parameters
    ----------
    basemap : str
        One of :data:`BASEMAPS`.
    tianditu_key : str, optional
        Tianditu browser key; by default ``$TIANDITU_KEY``.

    Returns
    -------
    list of TileSpec
        Empty for ``none``; Tianditu gives its base layer and its
        annotation (注记) layer.

    Raises
    ------
    MapError
        For an unknown basemap, or Tianditu without a key.
    """
    if basemap not in BASEMAPS:
        raise MapError(f"Unknown basemap {basemap!r}. Choose one of: {', '.join(BASEMAPS)}.")
    if basemap == "none":
        return []
    if basemap == "osm":
        return [TileSpec("https://tile.openstreetmap.org/{z}/{x}/{y}.png", BASEMAPS[basemap],
                         '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
                         subdomains="abc", max_zoom=19)]
    if basemap.startswith("tianditu"):
        key = tianditu_key or os.environ.get("TIANDITU_KEY", "")
        if not key.strip():
            raise MapError(
                "The Tianditu basemap needs a key (天地图 key): pass --tianditu-key KEY or set the "
                "TIANDITU_KEY environment variable. Get a browser key at the Tianditu developer site, "
                "or choose --basemap none/osm/gaode."
            )
        # The key is the user's text going into a URL: percent-encode it so it cannot break the template.
        key = quote(key.strip(), safe="")
        base, note = ("vec", "cva") if basemap == "tianditu-vec" else ("img", "cia")
        return [
            TileSpec(_TIANDITU.format(s="{s}", layer=base, z="{z}", x="{x}", y="{y}", key=key),
                     BASEMAPS[basemap], _TIANDITU_ATTR, subdomains="01234567"),
            TileSpec(_TIANDITU.format(s="{s}", layer=note, z="{z}", x="{x}", y="{y}", key=key),
                     "天地图 注记", _TIANDITU_ATTR, subdomains="01234567", overlay=True),
        ]
    if basemap == "gaode":
        return [TileSpec("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
                         "&x={x}&y={y}&z={z}", BASEMAPS[basemap], _GAODE_ATTR, subdomains="1234")]
    return [
        TileSpec("https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
                 BASEMAPS[basemap], _GAODE_ATTR, subdomains="1234"),
        TileSpec("https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
                 "高德 注记", _GAODE_ATTR, subdomains="1234", overlay=True),
    ]


def _is_gcj02(basemap: str) -> bool:
    return basemap.startswith("gaode")


# --------------------------------------------------------------------------
# Leaflet assets
# --------------------------------------------------------------------------

_LEAFLET_CDN_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"
_LEAFLET_CDN_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css"


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS for inlining, from the installed package.

    The CSS's images (layer-control icon, default marker) become data URIs,
    so the inlined page requests nothing.

    Returns
    -------
    (str, str)
        ``leaflet.js`` and ``leaflet.css`` text.

    Raises
    ------
    MapError
        If ``django-js-lib-leaflet`` is not installed.
    """
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is None or not spec.submodule_search_locations:
        raise MapError(
            "An offline map needs Leaflet from the Python package 'django-js-lib-leaflet'; "
            "install it with: pip install django-js-lib-leaflet"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "static" / "js_lib_leaflet"
    js = (folder / "leaflet.js").read_text(encoding="utf-8")
    css = (folder / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match) -> str:
        img = folder / match.group(1)
        if not img.exists():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(img.read_bytes()).decode("ascii") + ")"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    # Inline text must not end its own <script>/<style> element early.
    js = js.replace("</script", "<\\/script")
    css = css.replace("</style", "<\\/style")
    return js, css


# --------------------------------------------------------------------------
# Escaping, labels, formatting
# --------------------------------------------------------------------------

def _esc(value) -> str:
    """HTML-escape any value shown on the page (quotes too: values also go into attributes)."""
    return html.escape(_fmt(value), quote=True)


def _js_json(obj) -> str:
    """JSON for a ``<script>`` element: no character of it can close the element or start markup."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def _fmt(value) -> str:
    """A value as a planner reads it: 是/否, thousands separators, ISO dates, no ``nan``."""
    if _missing(value):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return _fmt(int(v))
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%d") if (value.hour, value.minute) == (0, 0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "、".join(_fmt(v) for v in value)
    return str(value)


#: Labels of columns that are not in a layer schema but appear on these maps.
EXTRA_LABELS: dict[str, str] = {
    "rule": "指标", "result": "结果", "value": "数值", "target": "目标", "reason": "说明",
    "facility_id": "设施编号", "minutes": "通行时间(分钟)", "road_km": "可达道路(km)",
    "area_km2": "面积(km²)", "facilities": "设施数", "population": "人口",
    "site_id": "站点编号", "rank": "选址顺序", "covered_population": "新增覆盖人口",
    "population_gained": "新增覆盖人口", "score": "评分",
    "team": "检查组", "day": "日期", "order": "顺序", "stop": "检查点", "length_km": "里程(km)",
    "duration_min": "用时(分钟)", "marker_id": "界桩编号", "category_name": "类别名称",
    "pinyin": "汉语拼音", "meaning": "含义", "history": "历史沿革", "remark": "备注", "note": "备注",
    "year": "年份", "event": "变更事项", "old_name": "原名称", "new_name": "新名称",
    "approved_by": "批准机关", "document": "批准文号",
}


def _labels(kind: str | None) -> dict[str, str]:
    labels = dict(EXTRA_LABELS)
    if kind in SCHEMAS:
        labels.update({f.name: f.label_zh for f in SCHEMAS[kind].fields})
    return labels


def _rows_html(pairs: Sequence[tuple[str, object]]) -> str:
    return "".join(f"<tr><th>{html.escape(label)}</th><td>{_esc(v)}</td></tr>" for label, v in pairs)


def _popup(title, pairs: Sequence[tuple[str, object]], extra_html: str = "") -> str:
    """Popup HTML: a caption and a two-column table; every value escaped."""
    return (f'<div class="gp-pop"><div class="gp-pop-title">{_esc(title)}</div>'
            f"<table>{_rows_html(pairs)}</table>{extra_html}</div>")


def _record_pairs(row: pd.Series, labels: Mapping[str, str], skip=()) -> list[tuple[str, object]]:
    out = []
    for col, value in row.items():
        if col in skip or str(col).startswith("_") or isinstance(value, shapely.Geometry):
            continue
        out.append((labels.get(col, str(col)), value))
    return out


# --------------------------------------------------------------------------
# Geometry preparation
# --------------------------------------------------------------------------

def _prepare(gdf: gpd.GeoDataFrame, gcj02: bool, simplify_m: float) -> gpd.GeoDataFrame:
    """To lon/lat for display: simplified, shifted to GCJ-02 if asked, rounded to ~1 m."""
    require_crs(gdf)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if len(gdf) == 0:
        return gdf.to_crs(STORAGE_CRS)
    if simplify_m and not gdf.geom_type.isin(["Point", "MultiPoint"]).all():
        metric = gdf.to_crs(metric_crs(gdf))
        metric = metric.set_geometry(metric.geometry.simplify(simplify_m, preserve_topology=True))
        gdf = metric.to_crs(STORAGE_CRS)
    else:
        gdf = gdf.to_crs(STORAGE_CRS)
    if gcj02:
        gdf = cgcs2000_to_gcj02(gdf)
    rounded = shapely.transform(gdf.geometry.values, lambda xy: np.round(xy, 5))
    return gdf.set_geometry(gpd.GeoSeries(rounded, index=gdf.index, crs=gdf.crs))


def _feature(geom, props: dict) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


# --------------------------------------------------------------------------
# Page script and style (geoplan's own; small enough to inline always)
# --------------------------------------------------------------------------

_GEOPLAN_CSS = """
.leaflet-container{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Source Han Sans SC",sans-serif;background:#f4f3ef}
.leaflet-control-layers{font-size:12px;line-height:1.3}
.leaflet-control-layers-list{max-height:42vh;overflow-y:auto;max-width:300px}
.leaflet-control-layers label{margin:1px 0}
.gp-box{background:rgba(255,255,255,.94);padding:6px 9px;border-radius:5px;box-shadow:0 1px 4px rgba(0,0,0,.35);font-size:12px;line-height:1.45}
.gp-title{font-size:15px;font-weight:bold}.gp-date{color:#555;font-size:12px;font-weight:normal}
.gp-legend{max-height:38vh;overflow:auto;max-width:240px}.gp-legend h4{margin:6px 0 2px;font-size:12px}
.gp-legend .gp-row{display:flex;align-items:center;gap:6px;margin:1px 0}
.gp-sw{display:inline-block;width:16px;height:12px;border:1px solid #555;flex:none}
.gp-line{display:inline-block;width:18px;height:0;border-top:3px solid;flex:none}
.gp-dot{display:inline-block;width:11px;height:11px;border-radius:50%;border:1px solid #333;flex:none}
.gp-icon{background:none;border:none}
.gp-sym{width:20px;height:20px;border-radius:50%;color:#fff;font-size:12px;line-height:18px;text-align:center;
 border:1px solid #fff;box-shadow:0 0 2px #000;font-weight:bold;box-sizing:border-box}
.gp-sym.gp-planned{background:#fff!important;border:2px dashed}
.gp-num{min-width:18px;height:18px;padding:0 3px;border-radius:9px;color:#fff;font-size:11px;line-height:16px;
 text-align:center;border:1px solid #fff;box-shadow:0 0 2px #000;font-weight:bold;box-sizing:border-box;display:inline-block}
.gp-pop{font-size:12px;max-height:300px;overflow:auto}.gp-pop-title{font-weight:bold;font-size:13px;margin-bottom:3px}
.gp-pop table{border-collapse:collapse}.gp-pop th{text-align:left;color:#555;font-weight:normal;padding:1px 8px 1px 0;vertical-align:top;white-space:nowrap}
.gp-pop td{padding:1px 0;vertical-align:top}.gp-pop h5{margin:6px 0 2px;font-size:12px}
.gp-pop table.gp-hist th,.gp-pop table.gp-hist td{border-bottom:1px solid #ddd;padding:2px 6px 2px 0;color:#222}
.gp-pop table.gp-hist tr:first-child th{font-weight:bold}
.leaflet-tooltip.gp-label{background:rgba(255,255,255,.8);border:none;box-shadow:none;padding:0 3px;font-size:12px;color:#222}
.leaflet-tooltip.gp-label:before{display:none}
.gp-search input{width:190px;font-size:13px;padding:3px 5px;border:1px solid #999;border-radius:3px}
.gp-search ul{list-style:none;margin:3px 0 0;padding:0;max-height:240px;overflow:auto}
.gp-search li{padding:2px 4px;cursor:pointer;font-size:12px}.gp-search li:hover,.gp-search li.gp-active{background:#e3f0ff}
.gp-search li small{color:#777}
"""

# geoplan's page script: reads the JSON data blocks, draws them into their
# layer groups, and adds the title, legend and search controls. All HTML it
# receives was escaped in Python; names it writes itself use textContent.
_GEOPLAN_JS = r"""
var geoplan = (function () {
  var index = [];
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  function box(map, pos, cls, html) {
    var C = L.Control.extend({ onAdd: function () {
      var d = L.DomUtil.create('div', 'gp-box ' + cls);
      d.innerHTML = html;
      L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
      return d; } });
    var c = new C({ position: pos }); c.addTo(map); return c;
  }
  function add(map, group, id, label) {
    var fc = data(id);
    function st(f) { var k = f.properties.sk; return k === undefined ? {} : fc.styles[k]; }
    L.geoJSON(fc, {
      style: st,
      pointToLayer: function (f, ll) {
        var p = f.properties;
        if (p.ik !== undefined)
          return L.marker(ll, { icon: L.divIcon({ className: 'gp-icon', html: fc.icons[p.ik], iconSize: p.iz || [20, 20] }),
                                keyboard: false, zIndexOffset: p.zi || 0 });
        return L.circleMarker(ll, st(f));
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        if (p.p) layer.bindPopup(p.p, { maxWidth: 380 });
        if (p.t && p.lb) layer.bindTooltip(p.t, { permanent: true, direction: 'right', offset: [5, 0], className: 'gp-label' });
        else if (p.t) layer.bindTooltip(p.t, { sticky: !(layer instanceof L.Marker) && !(layer instanceof L.CircleMarker) });
        if (p.n) index.push({ name: String(p.n), layer: layer, group: group, map: map, label: label });
      }
    }).addTo(group);
  }
  function show(e) {
    if (!e.map.hasLayer(e.group)) e.map.addLayer(e.group);
    if (e.layer.getLatLng) e.map.setView(e.layer.getLatLng(), Math.max(e.map.getZoom(), 14));
    else e.map.fitBounds(e.layer.getBounds(), { maxZoom: 15 });
    if (e.layer.getPopup()) e.layer.openPopup(e.layer.getLatLng ? undefined : e.layer.getBounds().getCenter());
  }
  function search(map, placeholder) {
    var c = box(map, 'topleft', 'gp-search', '');
    var d = c.getContainer();
    var input = L.DomUtil.create('input', '', d);
    input.type = 'search'; input.placeholder = placeholder; input.setAttribute('aria-label', placeholder);
    var list = L.DomUtil.create('ul', '', d);
    var hits = [];
    function render() {
      var q = input.value.trim().toLowerCase();
      list.innerHTML = ''; hits = [];
      if (!q) return;
      for (var i = 0; i < index.length && hits.length < 12; i++)
        if (index[i].name.toLowerCase().indexOf(q) >= 0) hits.push(index[i]);
      hits.forEach(function (e, k) {
        var li = L.DomUtil.create('li', k === 0 ? 'gp-active' : '', list);
        li.appendChild(document.createTextNode(e.name + ' '));
        var s = document.createElement('small'); s.textContent = e.label; li.appendChild(s);
        L.DomEvent.on(li, 'click', function () { show(e); });
      });
    }
    L.DomEvent.on(input, 'input', render);
    L.DomEvent.on(input, 'keydown', function (ev) { if (ev.key === 'Enter' && hits.length) show(hits[0]); });
  }
  return { add: add, box: box, search: search, index: index };
})();
"""


class _Script(MacroElement):
    """Raw script code in the map's script section, in the order elements are added."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str):
        super().__init__()
        self._name = "GeoplanScript"
        self.code = code


# --------------------------------------------------------------------------
# The map builder shared by the three maps
# --------------------------------------------------------------------------

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
           "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354"]


class _Builder:
    """Collects layers, legend and title; makes the folium map."""

    def __init__(self, title: str, data_date, basemap: str, tianditu_key: str | None, offline: bool,
                 simplify_m: float, bounds_gdf: gpd.GeoDataFrame | None, search_placeholder: str = "搜索名称…"):
        # Offline means a PC without internet, where tiles could not load anyway.
        basemap = basemap or ("none" if offline else "osm")
        if basemap not in BASEMAPS:
            raise MapError(f"Unknown basemap {basemap!r}. Choose one of: {', '.join(BASEMAPS)}.")
        self.gcj02 = _is_gcj02(basemap)
        self.simplify_m = simplify_m
        self.offline = offline
        self.map = folium.Map(tiles=None, control_scale=True, zoom_start=10, prefer_canvas=False,
                              location=[30, 120])
        # Leaflet is the only library used: drop folium's jQuery/Bootstrap/Font Awesome links.
        self.map.default_js = [] if offline else [("leaflet", _LEAFLET_CDN_JS)]
        self.map.default_css = [] if offline else [("leaflet_css", _LEAFLET_CDN_CSS)]
        root = self.map.get_root()
        head = f"<style>{_GEOPLAN_CSS}</style>"
        if offline:
            js, css = leaflet_assets()
            head = f"<style>{css}</style>\n<script>{js}</script>\n" + head
        root.header.add_child(Element(head), name="geoplan_assets")
        root.header.add_child(Element(f"<title>{html.escape(title)}</title>"), name="geoplan_title")
        root.header.add_child(Element(f"<script>{_GEOPLAN_JS}</script>"), name="geoplan_js")
        for i, tile in enumerate(basemap_tiles(basemap, tianditu_key)):
            folium.TileLayer(tiles=tile.url, name=tile.name, attr=tile.attribution, subdomains=tile.subdomains,
                             overlay=tile.overlay, control=True, max_zoom=tile.max_zoom,
                             max_native_zoom=tile.max_zoom).add_to(self.map)
        self.title = title
        self.data_date = data_date
        self.basemap = basemap
        self.legend: list[tuple[str, list[tuple[str, str]]]] = []
        self.scripts: list[str] = []
        self.n_data = 0
        self.bounds = None
        if bounds_gdf is not None and len(bounds_gdf):
            self.bounds = _prepare(bounds_gdf, self.gcj02, self.simplify_m).total_bounds
        self.search_placeholder = search_placeholder

    # -- layers -----------------------------------------------------------
    def prepare(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return _prepare(gdf, self.gcj02, self.simplify_m)

    def layer(self, name: str, features: list[dict], show: bool = True, search_label: str | None = None):
        """Add a named overlay (one entry in the layer control) holding ``features``."""
        group = folium.FeatureGroup(name=html.escape(name), show=show)
        group.add_to(self.map)
        self.n_data += 1
        block_id = f"gp-data-{self.n_data}"
        # Many features share a style or an icon: send each once, features refer to it by number.
        tables: dict[str, dict[str, int]] = {"s": {}, "i": {}}
        for f in features:
            props = f["properties"]
            for key in ("s", "i"):
                if key in props:
                    text = json.dumps(props.pop(key), sort_keys=True, ensure_ascii=False)
                    props[key + "k"] = tables[key].setdefault(text, len(tables[key]))
        fc = {"type": "FeatureCollection", "features": features,
              "styles": [json.loads(t) for t in tables["s"]], "icons": [json.loads(t) for t in tables["i"]]}
        self.map.get_root().html.add_child(Element(
            f'<script type="application/json" class="gp-data" id="{block_id}" '
            f'data-layer="{html.escape(name)}">{_js_json(fc)}</script>'))
        self.scripts.append(f"geoplan.add({self.map.get_name()}, {group.get_name()}, "
                            f"{_js_json(block_id)}, {_js_json(search_label or name)});")
        return group

    def legend_section(self, heading: str, entries: list[tuple[str, str]]):
        """``entries`` are (swatch HTML made by this module, label text to escape)."""
        self.legend.append((heading, entries))

    # -- finishing --------------------------------------------------------
    def finish(self) -> folium.Map:
        m = self.map
        date_text = _fmt(self.data_date) if self.data_date is not None else "未注明"
        extra = "（数据已偏移至 GCJ-02 以对齐高德底图）" if self.gcj02 else ""
        title_html = (f'<div class="gp-title">{html.escape(self.title)}</div>'
                      f'<div class="gp-date">数据日期：{html.escape(date_text)}{html.escape(extra)}</div>')
        legend_html = "".join(
            f"<h4>{html.escape(h)}</h4>" + "".join(
                f'<div class="gp-row">{sw}<span>{html.escape(label)}</span></div>' for sw, label in rows)
            for h, rows in self.legend)
        name = m.get_name()
        code = "\n".join(self.scripts + [
            f"geoplan.box({name}, 'topright', 'gp-titlebox', {_js_json(title_html)});",
            f"geoplan.search({name}, {_js_json(self.search_placeholder)});",
            f"geoplan.box({name}, 'bottomright', 'gp-legend', {_js_json('<b>图例</b>' + legend_html)});",
        ])
        m.add_child(_Script(code))
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
        if self.bounds is not None:
            x0, y0, x1, y1 = (float(v) for v in self.bounds)
            # Keep the data clear of the right-hand column (title, layer control, legend).
            m.fit_bounds([[y0, x0], [y1, x1]], padding_top_left=(10, 10), padding_bottom_right=(290, 10))
        return m


# -- swatches (constant HTML, colours from this module only) ---------------

def _sw_fill(colour: str, opacity: float = 0.5, border: str = "#555", dash: bool = False) -> str:
    style = f"background:{colour};opacity:{max(opacity, .35)};border-color:{border}"
    if dash:
        style += ";border-style:dashed;border-width:2px"
    return f'<span class="gp-sw" style="{style}"></span>'


def _sw_line(colour: str, dash: bool = False) -> str:
    return f'<span class="gp-line" style="border-top-color:{colour}{";border-top-style:dashed" if dash else ""}"></span>'


def _sw_dot(colour: str) -> str:
    return f'<span class="gp-dot" style="background:{colour}"></span>'


def _sym_html(symbol: str, colour: str, planned: bool = False) -> str:
    cls = "gp-sym gp-planned" if planned else "gp-sym"
    text_colour = colour if planned else "#fff"
    return (f'<div class="{cls}" style="background:{colour};border-color:{colour};color:{text_colour}">'
            f"{html.escape(symbol)}</div>")


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


# --------------------------------------------------------------------------
# Inspection map
# --------------------------------------------------------------------------

#: Marker colour per condition (schema ``boundary_markers.condition``).
CONDITION_COLOURS: dict[str, str] = {"完好": "#2e7d32", "损坏": "#f9a825", "移位": "#8e24aa", "丢失": "#d32f2f"}
_LEVEL_WEIGHTS = {"省级": 5, "市级": 4, "县级": 3, "乡级": 2}


def inspection_map(lines: gpd.GeoDataFrame, markers: gpd.GeoDataFrame, routes: gpd.GeoDataFrame | None = None,
                   *, outline: gpd.GeoDataFrame | None = None, basemap: str | None = None,
                   tianditu_key: str | None = None, offline: bool = False, title: str = "界线联合检查",
                   data_date=None, simplify_m: float = 10.0) -> folium.Map:
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
    basemap, tianditu_key, offline, title, data_date, simplify_m
        As in :func:`coverage_map`.

    Returns
    -------
    folium.Map
    """
    for col in ("condition",):
        if col not in markers.columns:
            raise MapError(f"The boundary markers need a {col!r} column.")
    frame = outline if outline is not None and len(outline) else (lines if len(lines) else markers)
    if data_date is None and "last_inspected" in markers.columns and markers["last_inspected"].notna().any():
        data_date = f"界桩上次检查 {_fmt(pd.to_datetime(markers['last_inspected']).max())}"
    b = _Builder(title, data_date, basemap, tianditu_key, offline, simplify_m, frame,
                 search_placeholder="搜索界线、界桩…")
    if outline is not None and len(outline):
        o = b.prepare(outline)
        b.layer("县界", [_feature(g, {"s": {"color": "#999", "weight": 1.5, "fill": False, "dashArray": "4 3",
                                            "interactive": False}}) for g in o.geometry])

    llabels = _labels("boundary_lines")
    d = b.prepare(lines)
    feats = []
    for _, r in d.iterrows():
        nm = r.get("name", r.get("line_code", ""))
        feats.append(_feature(r.geometry, {
            "s": {"color": "#424242", "weight": _LEVEL_WEIGHTS.get(r.get("level"), 3), "opacity": 0.9},
            "p": _popup(nm, _record_pairs(r, llabels)), "t": _esc(nm), "n": _fmt(nm)}))
    b.layer("行政区域界线", feats)
    b.legend_section("界线", [(_sw_line("#424242"), "行政区域界线（越粗级别越高）")])

    mlabels = _labels("boundary_markers")
    d = b.prepare(markers)
    feats = []
    for _, r in d.iterrows():
        colour = CONDITION_COLOURS.get(r["condition"], "#607d8b")
        mid = r.get("marker_id", "")
        feats.append(_feature(r.geometry, {
            "s": {"radius": 6, "color": "#fff", "weight": 1.5, "fillColor": colour, "fillOpacity": 1},
            "p": _popup(f"界桩 {_fmt(mid)}", _record_pairs(r, mlabels)),
            "t": f"{_esc(mid)}（{_esc(r['condition'])}）", "n": _fmt(mid)}))
    b.layer("界桩", feats)
    known = [c for c in CONDITION_COLOURS if c in set(markers["condition"].dropna())] or list(CONDITION_COLOURS)
    other = sorted(set(markers["condition"].dropna().astype(str)) - set(CONDITION_COLOURS))
    b.legend_section("界桩状况", [(_sw_dot(CONDITION_COLOURS[c]), c) for c in known]
                     + [(_sw_dot("#607d8b"), c) for c in other])

    if routes is not None and len(routes):
        missing = [c for c in ("team", "day") if c not in routes.columns]
        if missing:
            raise MapError(f"The routes need the columns team and day; missing: {', '.join(missing)}.")
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
                        "i": f'<span class="gp-num" style="background:{colour}">起</span>', "iz": [22, 18],
                        "zi": 500, "t": f"{_esc(name)} 出发点"}))
            for (_, r), order in zip(part.iterrows(), orders):
                pairs = _record_pairs(r, rlabels, skip=("order",)) + [("顺序", order)]
                feats.append(_feature(r.geometry, {
                    "s": {"color": colour, "weight": 4, "opacity": 0.85},
                    "p": _popup(f"路线 {name} 第 {_fmt(order)} 段", pairs),
                    "t": f"{_esc(name)} 第 {_esc(order)} 段"}))
                end = shapely.get_point(shapely.line_merge(r.geometry) if r.geometry.geom_type == "MultiLineString"
                                        else r.geometry, -1) if r.geometry.geom_type in ("LineString",
                                                                                          "MultiLineString") else None
                if end is None or end.is_empty:
                    end = r.geometry.representative_point()
                stop = r.get("stop", None)
                feats.append(_feature(end, {
                    "i": f'<span class="gp-num" style="background:{colour}">{_esc(order)}</span>', "iz": [22, 18],
                    "zi": 500,
                    "p": _popup(f"{name} 第 {_fmt(order)} 站", [("检查组", team), ("日期", day), ("顺序", order)]
                                + ([("检查点", stop)] if not _missing(stop) else [])),
                    "t": f"{_esc(name)} 第 {_esc(order)} 站" + (f"：{_esc(stop)}" if not _missing(stop) else "")}))
            b.layer(f"路线 {name}", feats, search_label=f"路线 {name}")
            entries.append((_sw_line(colour), f"{name}（{len(part)} 段，数字为到访顺序）"))
        b.legend_section("检查路线（每组每天一色）", entries)
    return b.finish()


# --------------------------------------------------------------------------
# Gazetteer map
# --------------------------------------------------------------------------

#: Labels of the sample's place-name categories. 1120 is the code used in
#: geoplan.layers.schema; 1110, 1210, 1220 are the sample's provisional codes
#: (layers/README.md). Pass ``category_labels`` for a full code table.
DEFAULT_CATEGORY_LABELS: dict[str, str] = {
    "1110": "县级行政区域", "1120": "乡级行政区域（乡、镇、街道）",
    "1210": "社区（居民委员会）", "1220": "行政村（村民委员会）",
}


def gazetteer_map(names: gpd.GeoDataFrame, history: pd.DataFrame | None = None, *,
                  category_labels: Mapping[str, str] | None = None, outline: gpd.GeoDataFrame | None = None,
                  basemap: str | None = None, tianditu_key: str | None = None, offline: bool = False,
                  title: str = "地名分布", data_date=None, simplify_m: float = 10.0,
                  hidden_categories: Sequence[str] = (), label_max: int = 20) -> folium.Map:
    """Map of standard place names by category, with each name's history in its popup.

    Parameters
    ----------
    names : GeoDataFrame
        Place names (schema ``place_names``: ``name_id``, ``name``,
        ``category``, ``parent_code``; any geometry). Other columns
        (``pinyin``, ``meaning`` …) are shown in the popup too.
    history : DataFrame, optional
        Rows ``name_id`` + any columns (e.g. ``year``, ``event``,
        ``old_name``, ``new_name``, ``approved_by``, ``note``), shown as a
        table in the popup of that name, in the given row order.
    category_labels : mapping, optional
        Category code → Chinese label, added to :data:`DEFAULT_CATEGORY_LABELS`;
        a ``category_name`` column wins over both.
    outline : GeoDataFrame, optional
        Area outline for framing.
    hidden_categories : sequence of str
        Categories whose layer starts switched off (e.g. villages on a busy map).
    label_max : int
        Names of categories with at most this many features are written on
        the map; larger ones show their name on hover.
    basemap, tianditu_key, offline, title, data_date, simplify_m
        As in :func:`coverage_map`.

    Returns
    -------
    folium.Map
    """
    for col in ("name", "category"):
        if col not in names.columns:
            raise MapError(f"The place names need a {col!r} column.")
    cats = dict(DEFAULT_CATEGORY_LABELS)
    cats.update({str(k): str(v) for k, v in (category_labels or {}).items()})
    frame = outline if outline is not None and len(outline) else names
    b = _Builder(title, data_date, basemap, tianditu_key, offline, simplify_m, frame,
                 search_placeholder="搜索地名…")
    if outline is not None and len(outline):
        o = b.prepare(outline)
        b.layer("县界", [_feature(g, {"s": {"color": "#555", "weight": 2, "fill": False, "interactive": False}})
                        for g in o.geometry])
    hist_by_id: dict[str, pd.DataFrame] = {}
    if history is not None and len(history):
        if "name_id" not in history.columns:
            raise MapError("The name history needs a 'name_id' column linking it to the place names.")
        hist_by_id = {str(k): g.drop(columns="name_id") for k, g in history.groupby("name_id", sort=False)}
    labels = _labels("place_names")
    d = b.prepare(names)
    d = d.assign(_cat=d["category"].astype(str))
    entries = []
    for i, (cat, part) in enumerate(sorted(d.groupby("_cat"), key=lambda kv: kv[0])):
        colour = PALETTE[i % len(PALETTE)]
        label = (str(part["category_name"].dropna().iloc[0]) if "category_name" in part.columns
                 and part["category_name"].notna().any() else cats.get(cat, f"类别 {cat}"))
        feats = []
        for _, r in part.iterrows():
            extra = ""
            h = hist_by_id.get(str(r.get("name_id")))
            if h is not None and len(h):
                hl = [labels.get(c, str(c)) for c in h.columns]
                extra = ("<h5>历史沿革</h5><table class=\"gp-hist\"><tr>"
                         + "".join(f"<th>{html.escape(x)}</th>" for x in hl) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in row) + "</tr>"
                                   for row in h.itertuples(index=False)) + "</table>")
            elif history is not None:
                extra = "<h5>历史沿革</h5><div>无记录</div>"
            props = {"p": _popup(r["name"], _record_pairs(r, labels) + [("类别名称", label)], extra),
                     "t": _esc(r["name"]), "n": _fmt(r["name"])}
            if len(part) <= label_max:
                props["lb"] = 1
            if r.geometry.geom_type in ("Point", "MultiPoint"):
                props["s"] = {"radius": 5, "color": "#fff", "weight": 1, "fillColor": colour, "fillOpacity": 0.95}
            else:
                props["s"] = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.15}
            feats.append(_feature(r.geometry, props))
        b.layer(f"{label}（{cat}）", feats, show=cat not in set(map(str, hidden_categories)),
                search_label=label)
        entries.append((_sw_dot(colour), f"{label}（{cat}，{len(part)} 处）"))
    b.legend_section("地名类别", entries)
    return b.finish()


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def save_map(m: folium.Map, path) -> Path:
    """Write a map to an HTML file (UTF-8) and return its path.

    Parameters
    ----------
    m : folium.Map
        From one of the map functions; whether it is self-contained was
        chosen there (``offline=True``).
    path : str or Path

    Returns
    -------
    Path
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".part")
    # Write next to the target and rename, so a failure never leaves half a map behind.
    tmp.write_text(m.get_root().render(), encoding="utf-8")
    tmp.replace(p)
    return p
