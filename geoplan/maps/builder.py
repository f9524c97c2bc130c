"""The map builder shared by the HTML maps: page assets, data blocks, title, legend, layer control, search."""

from __future__ import annotations

import html
import json

import folium
import geopandas as gpd
from branca.element import Element, MacroElement
from jinja2 import Template

from geoplan.maps.common import MapError, _fmt, _js_json, _prepare
from geoplan.maps.tiles import _LEAFLET_CDN_CSS, _LEAFLET_CDN_JS, BASEMAPS, _is_gcj02, basemap_tiles, leaflet_assets

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

