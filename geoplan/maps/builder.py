"""The map builder shared by the HTML maps: page assets, data blocks, title, legend, layer control, search."""

from __future__ import annotations

import html
import json

import folium
import geopandas as gpd
from branca.element import Element, MacroElement
from jinja2 import Template

from geoplan.i18n import _
from geoplan.maps.common import MapError, _fmt, _js_json, _prepare
from geoplan.maps.tiles import _LEAFLET_CDN_CSS, _LEAFLET_CDN_JS, BASEMAPS, _is_gcj02, basemap_tiles, leaflet_assets

# --------------------------------------------------------------------------
# Page script and style (geoplan's own; small enough to inline always)
# --------------------------------------------------------------------------

_GEOPLAN_CSS = """
.leaflet-container{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Source Han Sans SC",sans-serif;background:#f4f3ef}
.leaflet-control-layers{font-size:12px;line-height:1.25}
.leaflet-control-layers-list{max-height:calc(100vh - 330px);overflow-y:auto;max-width:260px}
.leaflet-control-layers label{margin:0}
.gp-box{background:rgba(255,255,255,.95);padding:5px 8px;border-radius:5px;box-shadow:0 1px 4px rgba(0,0,0,.35);font-size:12px;line-height:1.35}
.gp-titlebox{max-width:300px}
.gp-title{font-size:15px;font-weight:bold}.gp-sub{font-size:12px;color:#333}.gp-date{color:#555;font-size:12px;font-weight:normal}
.gp-legend{max-height:calc(100vh - 250px);overflow:auto;max-width:250px}.gp-legend h4{margin:4px 0 1px;font-size:12px}
.gp-legend .gp-row{display:flex;align-items:center;gap:6px;margin:0;line-height:1.3}
.gp-choice{max-width:260px}.gp-choice h4{margin:0 0 2px;font-size:12px}
.gp-choice label{display:flex;gap:4px;align-items:flex-start;margin:1px 0;cursor:pointer}
.gp-choice input{margin:2px 0 0}
.gp-sw{display:inline-block;width:16px;height:12px;border:1px solid #555;flex:none}
.gp-line{display:inline-block;width:18px;height:0;border-top:3px solid;flex:none}
.gp-dot{display:inline-block;width:11px;height:11px;border-radius:50%;border:1px solid #333;flex:none}
.gp-icon{background:none;border:none}
.gp-sym{width:20px;height:20px;border-radius:50%;color:#fff;font-size:12px;line-height:18px;text-align:center;
 border:1px solid #fff;box-shadow:0 0 2px #000;font-weight:bold;box-sizing:border-box}
.gp-legend .gp-sym{width:18px;height:18px;line-height:16px;font-size:11px;flex:none}
.gp-sym.gp-planned{background:#fff!important;border:2px dashed}
.gp-num{min-width:18px;height:18px;padding:0 3px;border-radius:9px;color:#fff;font-size:11px;line-height:16px;
 text-align:center;border:1px solid #fff;box-shadow:0 0 2px #000;font-weight:bold;box-sizing:border-box;display:inline-block}
.gp-tl{position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);white-space:nowrap;font-size:13px;font-weight:bold;color:#222;
 text-shadow:-1px -1px 0 #fff,1px -1px 0 #fff,-1px 1px 0 #fff,1px 1px 0 #fff,0 0 3px #fff;pointer-events:none}
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
.gp-print-only{display:none}.gp-north{padding:3px 5px}
.leaflet-control-attribution{max-width:calc(100vw - 190px)}
@media print{
 @page{size:A4 landscape;margin:8mm}
 html,body{width:281mm;height:194mm;margin:0;padding:0;overflow:hidden}
 .folium-map{position:absolute!important;left:0;top:0;width:281mm!important;height:194mm!important;border:0.3mm solid #333;box-sizing:border-box}
 .leaflet-control-zoom,.gp-search,.leaflet-control-layers,.gp-choice{display:none!important}
 .gp-box{box-shadow:none;border:0.2mm solid #555;background:#fff}
 .gp-legend{max-height:none;overflow:visible}
 .gp-print-only{display:block}
 .leaflet-control-attribution{font-size:8px;max-width:70%}
 .leaflet-container{background:#fff}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

# geoplan's page script: reads the JSON data blocks, draws them into their
# layer groups, and adds the title, legend, indicator choice and search
# controls. All HTML it receives was escaped in Python; names it writes
# itself use textContent.
_GEOPLAN_JS = r"""
var geoplan = (function () {
  var index = [];
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  function box(map, pos, cls, html, first) {
    var C = L.Control.extend({ onAdd: function () {
      var d = L.DomUtil.create('div', 'gp-box ' + cls);
      d.innerHTML = html;
      L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
      return d; } });
    var c = new C({ position: pos }); c.addTo(map);
    if (first) { var el = c.getContainer(); el.parentNode.insertBefore(el, el.parentNode.firstChild); }
    return c;
  }
  function add(map, group, id, label) {
    var fc = data(id);
    function st(f) { var k = f.properties.sk; return k === undefined ? {} : fc.styles[k]; }
    L.geoJSON(fc, {
      style: st,
      pointToLayer: function (f, ll) {
        var p = f.properties;
        if (p.ik !== undefined) {
          var sz = p.iz || [20, 20];
          return L.marker(ll, { icon: L.divIcon({ className: 'gp-icon', html: fc.icons[p.ik], iconSize: sz }),
                                keyboard: false, zIndexOffset: p.zi || 0, interactive: !p.ni });
        }
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
  // Legend sections tied to a layer are shown only while that layer is on the map.
  function legend(map, html, tied) {
    var c = box(map, 'bottomleft', 'gp-legend', html);
    var secs = c.getContainer().querySelectorAll('.gp-sec');
    function sync() {
      tied.forEach(function (t) {
        var on = t[1].some(function (g) { return map.hasLayer(g); });
        secs[t[0]].style.display = on ? '' : 'none';
      });
    }
    map.on('layeradd layerremove', sync); sync();
    return c;
  }
  // One question at a time: radio buttons, each showing one layer group.
  function choice(map, heading, items) {
    var c = box(map, 'topright', 'gp-choice', '');
    var d = c.getContainer();
    var h = L.DomUtil.create('h4', '', d); h.textContent = heading;
    var name = 'gp-choice-' + L.Util.stamp(c);
    items.forEach(function (it, k) {
      var lab = L.DomUtil.create('label', '', d);
      var r = L.DomUtil.create('input', '', lab);
      r.type = 'radio'; r.name = name; r.value = String(k); r.checked = map.hasLayer(it[1]);
      var s = document.createElement('span'); s.textContent = it[0]; lab.appendChild(s);
      L.DomEvent.on(r, 'change', function () {
        items.forEach(function (o) { if (map.hasLayer(o[1])) map.removeLayer(o[1]); });
        map.addLayer(it[1]);
        items.forEach(function (o) { o[1].eachLayer(function (g) { if (g.bringToBack) g.bringToBack(); }); });
      });
    });
    return c;
  }
  function furniture(map, attribution) {
    L.control.scale({ imperial: false, metric: true, position: 'bottomleft', maxWidth: 160 }).addTo(map);
    // A plain "Leaflet" credit: Leaflet 1.9's default prefix carries a national flag.
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    if (attribution) map.attributionControl.addAttribution(attribution);
    function refit() {
      map.invalidateSize({ pan: false });
      var fit = map._gpFit;
      if (!fit) return;
      // On paper the controls are hidden and the legend sits at the lower left: less padding.
      var printing = window.matchMedia && window.matchMedia('print').matches;
      map.fitBounds(fit[0], printing ? { paddingTopLeft: [270, 70], paddingBottomRight: [40, 30] } : fit[1]);
    }
    window.addEventListener('beforeprint', refit);
    window.addEventListener('afterprint', refit);
    if (window.matchMedia) {
      var mq = window.matchMedia('print');
      if (mq.addEventListener) mq.addEventListener('change', refit);
    }
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
  return { add: add, box: box, search: search, legend: legend, choice: choice, furniture: furniture, index: index };
})();
"""


def _north() -> str:
    """The printed page's north arrow, its letter in the reader's language."""
    n = html.escape(_("N"))
    return (f'<svg width="22" height="34" viewBox="0 0 22 34" aria-label="{n}"><polygon points="11,0 21,24 11,18 1,24" '
            f'fill="#222"/><text x="11" y="33" font-size="10" text-anchor="middle">{n}</text></svg>')


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
                 simplify_m: float, bounds_gdf: gpd.GeoDataFrame | None, search_placeholder: str | None = None,
                 subtitle: str | None = None, sources: str | None = None):
        # Offline means a PC without internet, where tiles could not load anyway.
        basemap = basemap or ("none" if offline else "osm")
        if basemap not in BASEMAPS:
            raise MapError(_("Unknown basemap {name!r}. Choose one of: {names}.").format(
                name=basemap, names=", ".join(BASEMAPS)))
        self.gcj02 = _is_gcj02(basemap)
        self.simplify_m = simplify_m
        self.offline = offline
        self.map = folium.Map(tiles=None, control_scale=False, zoom_start=10, zoom_snap=0.25, zoom_delta=0.5, prefer_canvas=False,
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
        self.subtitle = subtitle
        self.sources = sources
        self.legend: list[tuple[str, list[tuple[str, str]], list]] = []
        self.choices: list[tuple[str, list]] = []
        self.scripts: list[str] = []
        self.n_data = 0
        self.bounds = None
        if bounds_gdf is not None and len(bounds_gdf):
            self.bounds = _prepare(bounds_gdf, self.gcj02, self.simplify_m).total_bounds
        self.search_placeholder = search_placeholder if search_placeholder is not None else _("Search names…")

    # -- layers -----------------------------------------------------------
    def prepare(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return _prepare(gdf, self.gcj02, self.simplify_m)

    def layer(self, name: str, features: list[dict], show: bool = True, search_label: str | None = None,
              control: bool = True):
        """Add a named overlay holding ``features``; ``control=False`` keeps it out of the layer control."""
        group = folium.FeatureGroup(name=html.escape(name), show=show, control=control)
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

    def choice(self, heading: str, items: list[tuple[str, object]]):
        """Radio buttons showing one of ``items`` (label, layer group from :meth:`layer` with ``control=False``)."""
        self.choices.append((heading, items))

    def legend_section(self, heading: str, entries: list[tuple[str, str]], groups=()):
        """``entries`` are (swatch HTML made by this module, label text to escape).

        With ``groups`` (layer groups from :meth:`layer`) the section is shown
        only while one of them is on the map.
        """
        self.legend.append((heading, entries, list(groups)))

    # -- finishing --------------------------------------------------------
    def finish(self) -> folium.Map:
        m = self.map
        date_text = _fmt(self.data_date) if self.data_date is not None else _("not stated")
        extra = _(" (data shifted to GCJ-02 to line up with the Gaode basemap)") if self.gcj02 else ""
        title_html = (f'<div class="gp-title">{html.escape(self.title)}</div>'
                      + (f'<div class="gp-sub">{html.escape(self.subtitle)}</div>' if self.subtitle else "")
                      + '<div class="gp-date">' + html.escape(_("Data date: {date}").format(date=date_text) + extra)
                      + "</div>")
        legend_html = "<b>" + html.escape(_("Legend")) + "</b>" + "".join(
            f'<div class="gp-sec"><h4>{html.escape(h)}</h4>' + "".join(
                f'<div class="gp-row">{sw}<span>{html.escape(label)}</span></div>' for sw, label in rows) + "</div>"
            for h, rows, _g in self.legend)
        tied = ", ".join(f"[{i}, [{', '.join(g.get_name() for g in groups)}]]"
                         for i, (_h, _r, groups) in enumerate(self.legend) if groups)
        name = m.get_name()
        code = list(self.scripts)
        for heading, items in self.choices:
            code.append(f"geoplan.choice({name}, {_js_json(heading)}, ["
                        + ", ".join(f"[{_js_json(label)}, {g.get_name()}]" for label, g in items) + "]);")
        if self.bounds is not None:
            x0, y0, x1, y1 = (float(v) for v in self.bounds)
            # Keep the data clear of the left column (title, search, legend) and the right one (controls).
            fit = _js_json([[[y0, x0], [y1, x1]], {"paddingTopLeft": [265, 10], "paddingBottomRight": [270, 10]}])
            code.append(f"{name}._gpFit = {fit}; {name}.fitBounds({name}._gpFit[0], {name}._gpFit[1]);")
        attribution = html.escape(self.sources) if self.sources else ""
        code += [
            f"geoplan.furniture({name}, {_js_json(attribution)});",
            f"geoplan.legend({name}, {_js_json(legend_html)}, [{tied}]);",
            f"geoplan.search({name}, {_js_json(self.search_placeholder)});",
            f"geoplan.box({name}, 'topleft', 'gp-titlebox', {_js_json(title_html)}, true);",
            # On paper a north arrow (the screen map is always north-up and needs none).
            f"geoplan.box({name}, 'topright', 'gp-north gp-print-only', {_js_json(_north())});",
        ]
        m.add_child(_Script("\n".join(code)))
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
        return m


