"""The place-name (gazetteer) map.

Examples in this module use ``county = gp.load_sample("330624")`` (``import geoplan as gp``); pytest
builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import pandas as pd

from geoplan.i18n import N_, _, ngettext
from geoplan.maps.builder import _Builder
from geoplan.maps.common import (PALETTE, MapError, _esc, _feature, _fmt, _labels, _popup, _record_pairs,
                                 _sw_dot)

#: Labels of the sample's place-name categories. 1120 is the code used in
#: geoplan.layers.schema; 1110, 1210, 1220 are the sample's provisional codes
#: (layers/README.md). Pass ``category_labels`` for a full code table. English msgids, translated where shown.
DEFAULT_CATEGORY_LABELS: dict[str, str] = {
    "1110": N_("County-level administrative areas"), "1120": N_("Township-level administrative areas"),
    "1210": N_("Communities (residents' committees)"), "1220": N_("Administrative villages (villagers' committees)"),
}


def gazetteer_map(names: gpd.GeoDataFrame, history: pd.DataFrame | None = None, *,
                  category_labels: Mapping[str, str] | None = None, outline: gpd.GeoDataFrame | None = None,
                  basemap: str | None = None, tianditu_key: str | None = None, offline: bool = False,
                  title: str | None = None, data_date=None, simplify_m: float = 10.0, sources: str | None = None,
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
        Category code → label (shown as given), added to :data:`DEFAULT_CATEGORY_LABELS`;
        a ``category_name`` column wins over both.
    outline : GeoDataFrame, optional
        Area outline for framing.
    hidden_categories : sequence of str
        Categories whose layer starts switched off (e.g. villages on a busy map).
    label_max : int
        Names of categories with at most this many features are written on
        the map; larger ones show their name on hover.
    basemap, tianditu_key, offline, title, data_date, simplify_m, sources
        As in :func:`geoplan.maps.coverage_html.coverage_map` (``sources``: the
        source note in the attribution; none by default).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> m = gazetteer_map(county["place_names"], outline=county.outline)
    >>> html = m.get_root().render()
    >>> type(m).__name__, all(n in html for n in county["place_names"]["name"].head(20))
    ('Map', True)
    """
    for col in ("name", "category"):
        if col not in names.columns:
            raise MapError(_("The place names need a {column!r} column.").format(column=col))
    if title is None:
        title = _("Place names")
    cats = {k: _(v) for k, v in DEFAULT_CATEGORY_LABELS.items()}
    cats.update({str(k): str(v) for k, v in (category_labels or {}).items()})
    frame = outline if outline is not None and len(outline) else names
    b = _Builder(title, data_date, basemap, tianditu_key, offline, simplify_m, frame,
                 search_placeholder=_("Search place names…"), sources=sources)
    if outline is not None and len(outline):
        o = b.prepare(outline)
        b.layer(_("County boundary"), [_feature(g, {"s": {"color": "#555", "weight": 2, "fill": False, "interactive": False}})
                        for g in o.geometry])
    hist_by_id: dict[str, pd.DataFrame] = {}
    if history is not None and len(history):
        if "name_id" not in history.columns:
            raise MapError(_("The name history needs a 'name_id' column linking it to the place names."))
        hist_by_id = {str(k): g.drop(columns="name_id") for k, g in history.groupby("name_id", sort=False)}
    labels = _labels("place_names")
    plain = _labels(None)
    history_h5 = "<h5>" + html.escape(_("History of the name")) + "</h5>"
    d = b.prepare(names)
    d = d.assign(_cat=d["category"].astype(str))
    entries = []
    for i, (cat, part) in enumerate(sorted(d.groupby("_cat"), key=lambda kv: kv[0])):
        colour = PALETTE[i % len(PALETTE)]
        label = (str(part["category_name"].dropna().iloc[0]) if "category_name" in part.columns
                 and part["category_name"].notna().any() else cats.get(cat, _("category {code}").format(code=cat)))
        feats = []
        for _i, r in part.iterrows():
            extra = ""
            h = hist_by_id.get(str(r.get("name_id")))
            if h is not None and len(h):
                hl = [labels.get(c, str(c)) for c in h.columns]
                extra = (history_h5 + "<table class=\"gp-hist\"><tr>"
                         + "".join(f"<th>{html.escape(x)}</th>" for x in hl) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in row) + "</tr>"
                                   for row in h.itertuples(index=False)) + "</table>")
            elif history is not None:
                extra = history_h5 + "<div>" + html.escape(_("no records")) + "</div>"
            props = {"p": _popup(r["name"], _record_pairs(r, labels) + [(plain["category_name"], label)], extra),
                     "t": _esc(r["name"]), "n": _fmt(r["name"])}
            if len(part) <= label_max:
                props["lb"] = 1
            if r.geometry.geom_type in ("Point", "MultiPoint"):
                props["s"] = {"radius": 5, "color": "#fff", "weight": 1, "fillColor": colour, "fillOpacity": 0.95}
            else:
                props["s"] = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.15}
            feats.append(_feature(r.geometry, props))
        b.layer(_("{category} ({code})").format(category=label, code=cat), feats, show=cat not in set(map(str, hidden_categories)),
                search_label=label)
        entries.append((_sw_dot(colour), ngettext("{category} ({code}, {n} place)", "{category} ({code}, {n} places)",
                                                  len(part)).format(category=label, code=cat, n=len(part))))
    b.legend_section(_("Place-name categories"), entries)
    return b.finish()


