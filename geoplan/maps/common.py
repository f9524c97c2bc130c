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
    geoplan.maps.common.MapError: Unknown basemap 'google'. Choose one of: none, osm, tianditu-vec, tianditu-img, gaode, gaode-img.
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


