"""Basemaps (tile layers) and Leaflet's own assets for the HTML maps."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from geoplan.i18n import N_, _
from geoplan.maps.common import MapError

# --------------------------------------------------------------------------
# Basemaps
# --------------------------------------------------------------------------

#: Basemap keys and their names (English msgids, translated where shown). ``none`` draws data on a
#: plain background: the one choice that works on a PC without internet.
BASEMAPS: dict[str, str] = {
    "none": N_("No basemap"),
    "osm": "OpenStreetMap",
    "tianditu-vec": N_("Tianditu vector"),
    "tianditu-img": N_("Tianditu imagery"),
    "gaode": N_("Gaode map"),
    "gaode-img": N_("Gaode imagery"),
}

_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
             "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
_TIANDITU_ATTR = N_("&copy; Tianditu, National Platform for Common Geospatial Information Services")
_GAODE_ATTR = N_("&copy; Gaode Map AutoNavi")


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

    Examples
    --------
    >>> t = basemap_tiles("osm")[0]
    >>> t.name, t.max_zoom, t.overlay
    ('OpenStreetMap', 19, False)
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

    Examples
    --------
    >>> [t.name for t in basemap_tiles("tianditu-vec", tianditu_key="KEY")], basemap_tiles("none")
    (['天地图 矢量', '天地图 注记'], [])
    """
    if basemap not in BASEMAPS:
        raise MapError(_("Unknown basemap {name!r}. Choose one of: {names}.").format(
            name=basemap, names=", ".join(BASEMAPS)))
    if basemap == "none":
        return []
    if basemap == "osm":
        return [TileSpec("https://tile.openstreetmap.org/{z}/{x}/{y}.png", _(BASEMAPS[basemap]),
                         '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
                         subdomains="abc", max_zoom=19)]
    if basemap.startswith("tianditu"):
        key = tianditu_key or os.environ.get("TIANDITU_KEY", "")
        if not key.strip():
            raise MapError(_("The Tianditu basemap needs a key (天地图 key): pass --tianditu-key KEY or set the "
                             "TIANDITU_KEY environment variable. Get a browser key at the Tianditu developer site, "
                             "or choose --basemap none/osm/gaode."))
        # The key is the user's text going into a URL: percent-encode it so it cannot break the template.
        key = quote(key.strip(), safe="")
        base, note = ("vec", "cva") if basemap == "tianditu-vec" else ("img", "cia")
        return [
            TileSpec(_TIANDITU.format(s="{s}", layer=base, z="{z}", x="{x}", y="{y}", key=key),
                     _(BASEMAPS[basemap]), _(_TIANDITU_ATTR), subdomains="01234567"),
            TileSpec(_TIANDITU.format(s="{s}", layer=note, z="{z}", x="{x}", y="{y}", key=key),
                     _("Tianditu labels"), _(_TIANDITU_ATTR), subdomains="01234567", overlay=True),
        ]
    if basemap == "gaode":
        return [TileSpec("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
                         "&x={x}&y={y}&z={z}", _(BASEMAPS[basemap]), _(_GAODE_ATTR), subdomains="1234")]
    return [
        TileSpec("https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
                 _(BASEMAPS[basemap]), _(_GAODE_ATTR), subdomains="1234"),
        TileSpec("https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
                 _("Gaode labels"), _(_GAODE_ATTR), subdomains="1234", overlay=True),
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

    Examples
    --------
    >>> js, css = leaflet_assets()
    >>> "L.map" in js or "Leaflet" in js, ".leaflet-container" in css
    (True, True)
    """
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is None or not spec.submodule_search_locations:
        raise MapError(_("An offline map needs Leaflet from the Python package 'django-js-lib-leaflet'; "
                         "install it with: pip install django-js-lib-leaflet"))
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


