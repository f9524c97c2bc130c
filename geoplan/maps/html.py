"""Interactive HTML maps: plan coverage, boundary inspection, the gazetteer.

Three map builders return a :class:`folium.Map`; :func:`save_map` writes it.

- :func:`coverage_map` — one plan indicator at a time (radio choice) colouring
  the townships, township names, facilities by kind, travel-time areas from
  the evaluation's per-cell result, the people outside them where they live,
  failing townships, proposed new sites and population.
- :func:`inspection_map` — boundary lines, markers by condition, and one
  coloured route per team and day with the visit order.
- :func:`gazetteer_map` — place names by category, their history in the popup.

Every map has a layer control, a legend (sections shown with their layers),
a metric scale bar, a plain "Leaflet" credit with the data sources, a search
box over the names of its features, Chinese popups (column labels from
:mod:`geoplan.layers.schema`), a title box with the data date, and a print
stylesheet (one landscape A4 sheet with a north arrow).

The code is split by job: :mod:`~geoplan.maps.tiles` (basemaps, Leaflet
assets), :mod:`~geoplan.maps.common` (escaping, labels, geometry),
:mod:`~geoplan.maps.builder` (the shared map builder and page script),
:mod:`~geoplan.maps.content` (what the coverage maps show, shared with the
static maps of :mod:`~geoplan.maps.static`), and one module per map
(``coverage_html``, ``inspection_html``, ``gazetteer_html``). This module
keeps the public names.

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

Examples in this module use ``county = gp.load_sample("330624")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from pathlib import Path

import folium

from geoplan.maps.builder import _Builder  # noqa: F401  (the shared builder, for new maps)
from geoplan.maps.common import (EXTRA_LABELS, PALETTE, MapError, _esc, _fmt, _js_json,  # noqa: F401
                                 _labels, _popup, _prepare)
from geoplan.maps.coverage_html import FACILITY_STYLES, coverage_map, people_beyond  # noqa: F401
from geoplan.maps.gazetteer_html import DEFAULT_CATEGORY_LABELS, gazetteer_map  # noqa: F401
from geoplan.maps.inspection_html import CONDITION_COLOURS, inspection_map  # noqa: F401
from geoplan.maps.tiles import BASEMAPS, TileSpec, basemap_tiles, leaflet_assets  # noqa: F401
from geoplan.output import write_text

__all__ = [
    "BASEMAPS", "FACILITY_STYLES", "CONDITION_COLOURS", "DEFAULT_CATEGORY_LABELS",
    "basemap_tiles", "coverage_map", "inspection_map", "gazetteer_map", "save_map",
    "leaflet_assets", "people_beyond", "MapError",
]


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def save_map(m: folium.Map, path, *, overwrite: bool = False) -> Path:
    """Write a map to an HTML file (UTF-8) and return its path.

    Parameters
    ----------
    m : folium.Map
        From one of the map functions; whether it is self-contained was
        chosen there (``offline=True``).
    path : str or Path
    overwrite : bool
        Replace an existing file; without it an existing file is refused
        (:class:`geoplan.output.OutputExistsError`) and left as it was.

    Returns
    -------
    Path

    Examples
    --------
    >>> from geoplan.maps.inspection_html import inspection_map
    >>> p = save_map(inspection_map(county["boundary_lines"], county["boundary_markers"]), tmp / "map.html")
    >>> p.read_text(encoding="utf-8").count("3140003A") > 0
    True
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    # the package's one output path: written beside the target and renamed, never half a map
    return write_text(m.get_root().render(), p, overwrite=overwrite)
