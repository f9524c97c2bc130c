"""Shared parts of the HTML maps: the error, escaping, formatting, Chinese labels, geometry preparation, swatches."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.errors import GeoplanError
from geoplan.i18n import N_, _
from geoplan.layers.crs import STORAGE_CRS, cgcs2000_to_gcj02, metric_crs, require_crs
from geoplan.layers.schema import SCHEMAS


class MapError(GeoplanError):
    """A map cannot be made as asked (unknown basemap, missing key or column).

    Examples
    --------
    >>> from geoplan.maps.tiles import basemap_tiles
    >>> basemap_tiles("google")
    Traceback (most recent call last):
    ...
    geoplan.maps.common.MapError: 未知的底图 'google'。可选：none, osm, tianditu-vec, tianditu-img, gaode, gaode-img。
    """


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
    """A value as a planner reads it: 是/否 (yes/no), thousands separators, ISO dates, no ``nan``."""
    if _missing(value):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return _("yes") if value else _("no")
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
        return _(", ").join(_fmt(v) for v in value)
    return str(value)


#: Labels of columns that are not in a layer schema but appear on these maps (English msgids).
EXTRA_LABELS: dict[str, str] = {
    "rule": N_("indicator"), "result": N_("result"), "value": N_("measured value"), "target": N_("target"),
    "reason": N_("reason"), "facility_id": N_("facility no."), "minutes": N_("journey time (min)"),
    "road_km": N_("roads reached (km)"), "area_km2": N_("area in km²"), "facilities": N_("number of facilities"),
    "population": N_("people"), "site_id": N_("site no."), "rank": N_("siting order"),
    "covered_population": N_("newly covered people"), "population_gained": N_("newly covered people"),
    "score": N_("score"), "team": N_("team"), "day": N_("date"), "order": N_("order"),
    "stop": N_("checkpoint"), "length_km": N_("distance (km)"), "duration_min": N_("time taken (min)"),
    "marker_id": N_("boundary marker no."), "category_name": N_("category name"), "pinyin": N_("Hanyu Pinyin"),
    "meaning": N_("meaning"), "history": N_("history of the name"), "remark": N_("remarks"), "note": N_("remarks"),
    "year": N_("year"), "event": N_("change"), "old_name": N_("old name"), "new_name": N_("new name"),
    "approved_by": N_("approving authority"), "document": N_("approval document no."),
}

#: Coded values of the layers (stored as the schema's Chinese terms) → English msgid, for display only.
VALUE_TEXTS: dict[str, dict[str, str]] = {
    "status": {"运营": N_("in operation"), "规划": N_("planned (not yet built)")},
    "condition": {"完好": N_("intact"), "损坏": N_("damaged"), "移位": N_("displaced"), "丢失": N_("lost"),
                  "字迹不清": N_("lettering illegible"), "被掩埋": N_("buried")},
    "ownership": {"公办": N_("public"), "民办": N_("private")},
}


def value_text(column: str, value):
    """A coded value of ``column`` as the reader's language says it; the stored data is not changed.

    Examples
    --------
    >>> from geoplan.i18n import set_language
    >>> set_language("en"); value_text("condition", "损坏"), value_text("condition", "其他"), value_text("name", "完好")
    ('damaged', '其他', '完好')
    >>> set_language("zh_CN"); value_text("condition", "损坏")
    '损坏'
    >>> set_language(None)
    """
    table = VALUE_TEXTS.get(column)
    if table is None or not isinstance(value, str) or value not in table:
        return value
    return _(table[value])


def layer_title(kind: str) -> str:
    """A layer kind's name as a map's layer control and legend show it (capitalised in English).

    Examples
    --------
    >>> from geoplan.i18n import set_language
    >>> set_language("en"); layer_title("boundary_markers"), layer_title("my_layer")
    ('Boundary markers', 'my_layer')
    >>> set_language("zh_CN"); layer_title("boundary_markers")
    '界桩'
    >>> set_language(None)
    """
    if kind not in SCHEMAS:
        return kind
    title = SCHEMAS[kind].title
    return title[:1].upper() + title[1:]


def _labels(kind: str | None) -> dict[str, str]:
    """Column → label in the reader's language (the schema's labels, then :data:`EXTRA_LABELS`)."""
    labels = {k: _(v) for k, v in EXTRA_LABELS.items()}
    if kind in SCHEMAS:
        labels.update({f.name: f.label for f in SCHEMAS[kind].fields})
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
        out.append((labels.get(col, str(col)), value_text(str(col), value)))
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



PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
           "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354"]


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


