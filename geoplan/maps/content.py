"""What the coverage maps show, computed once for the HTML map and the static (print) map.

The travel-time areas are the evaluation's own per-cell routing result
(walk to the nearest road at the access speed, then drive on the road
graph: :func:`geoplan.coverage.evaluation.road_travel`,
:meth:`geoplan.network.graph.RoadNetwork.nearest_facility`), classed into
bands and dissolved into polygons cell by cell. So a cell inside the
"15 分钟内" area is exactly a cell the evaluation counted as within 15
minutes, and the people outside it are the people the evaluation counted
as not covered.

Examples in this module use ``county = gp.load_sample("330624")``, ``ev =
gp.evaluate_plan(gp.load_plan("plans/330624_2022.toml"), county.layers)`` (``import geoplan as
gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.i18n import N_, _
from geoplan.maps.common import MapError, _missing

__all__ = ["travel_time_areas", "indicator_results", "Indicator", "default_sources", "TRAVEL_NO_ROUTE"]

#: Band label of people with no road route (too far from any road, or no path); English msgid.
_NO_ROUTE = N_("no road access")

#: The township outcomes as the evaluation stores them (data; shown with :func:`result_text`).
PASS, FAIL, EXEMPT = "达标", "未达标", "不要求"


def __getattr__(name):
    # TRAVEL_NO_ROUTE: the no-route band's label in the language in force when it is looked up.
    if name == "TRAVEL_NO_ROUTE":
        return _(_NO_ROUTE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def result_text(result: str) -> str:
    """A township outcome (达标 / 未达标 / 不要求, stored data) in the reader's language.

    Examples
    --------
    >>> from geoplan.i18n import set_language
    >>> set_language("en"); result_text(FAIL), result_text("其他")
    ('fail', '其他')
    >>> set_language(None)
    """
    from geoplan.coverage.report import status_text

    return status_text(result)


def travel_time_areas(per_cell: gpd.GeoDataFrame, raster, minutes=(15, 30)) -> gpd.GeoDataFrame:
    """Travel-time bands as polygons of the population raster's cells.

    Parameters
    ----------
    per_cell : GeoDataFrame
        Per-cell routing result at the raster's cell centres, with
        ``population``, ``minutes`` and ``status`` (``ok`` when routed) —
        ``township_access_table(...).attrs["per_cell"]``, the table the
        evaluation's travel rule sums.
    raster : geoplan.layers.io.PopulationRaster
        The raster the cells come from (its grid gives the cell squares).
    minutes : sequence of float
        Band limits, ascending.

    Returns
    -------
    GeoDataFrame
        One row per band, in the raster's CRS: ``band`` (label such as
        ``15 分钟内``, ``15–30 分钟``, ``30 分钟以上``, ``无道路可达``),
        ``lo``/``hi`` minutes (NaN for no route), ``population`` and
        ``cells``. Bands without cells are left out.

    >>> # areas = travel_time_areas(access.attrs["per_cell"], county.population, (15, 30))
    """
    from rasterio import features
    from rasterio.transform import rowcol

    for col in ("minutes", "status", "population"):
        if col not in per_cell.columns:
            raise MapError(_("The per-cell travel result needs a {column!r} column (from township_access_table).")
                           .format(column=col))
    limits = sorted(float(m) for m in minutes)
    if not limits:
        raise MapError(_("Give at least one travel-time limit in minutes."))
    cells = per_cell.to_crs(raster.crs) if per_cell.crs is not None and per_cell.crs != raster.crs else per_cell
    rows, cols = rowcol(raster.transform, cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy())
    rows, cols = np.asarray(rows), np.asarray(cols)
    h, w = raster.data.shape
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    ok = cells["status"].eq("ok").to_numpy()
    mins = cells["minutes"].to_numpy(float)
    # Band k: limits[k-1] < minutes <= limits[k]; len(limits) = beyond the last; len+1 = no route.
    band = np.where(ok & np.isfinite(mins), np.searchsorted(limits, mins, side="left"), len(limits) + 1)
    grid = np.zeros((h, w), dtype=np.int32)
    grid[rows[inside], cols[inside]] = band[inside] + 1
    pop = cells["population"].to_numpy(float)
    labels, los, his = [], [], []
    for k in range(len(limits) + 2):
        if k == 0:
            labels.append(_("within {minutes} min").format(minutes=f"{limits[0]:g}"))
            los.append(0.0), his.append(limits[0])
        elif k < len(limits):
            labels.append(_("{low}–{high} min").format(low=f"{limits[k - 1]:g}", high=f"{limits[k]:g}"))
            los.append(limits[k - 1]), his.append(limits[k])
        elif k == len(limits):
            labels.append(_("over {minutes} min").format(minutes=f"{limits[-1]:g}"))
            los.append(limits[-1]), his.append(np.inf)
        else:
            labels.append(_(_NO_ROUTE)), los.append(np.nan), his.append(np.nan)
    from shapely.geometry import shape
    from shapely import union_all

    geoms: dict[int, list] = {}
    for geom, value in features.shapes(grid, mask=grid > 0, transform=raster.transform, connectivity=4):
        geoms.setdefault(int(value) - 1, []).append(shape(geom))
    out = []
    for k, label in enumerate(labels):
        if k not in geoms:
            continue
        sel = band == k
        out.append({"band": label, "lo": los[k], "hi": his[k], "population": float(pop[sel].sum()),
                    "cells": int(sel.sum()), "geometry": union_all(geoms[k])})
    return gpd.GeoDataFrame(out, geometry="geometry", crs=raster.crs) if out else \
        gpd.GeoDataFrame({"band": [], "lo": [], "hi": [], "population": [], "cells": []}, geometry=[], crs=raster.crs)


@dataclass
class Indicator:
    """One township-level plan rule as the map shows it.

    Attributes
    ----------
    rule_id, title : str
    results : DataFrame
        One row per township code (index): ``result`` (达标/未达标/不要求),
        ``value``, ``target``, ``reason``.

    Examples
    --------
    ``ev = gp.evaluate_plan(gp.load_plan("plans/330624_2022.toml"), county.layers)``:

    >>> i = indicator_results(ev)[0]
    >>> i.rule_id, i.title, len(i.results)
    ('home_care_centre', '每个乡镇(街道)建有居家养老服务中心', 12)
    """

    rule_id: str
    title: str
    results: pd.DataFrame

    @property
    def n_fail(self) -> int:
        return int((self.results["result"] == FAIL).sum())

    @property
    def label(self) -> str:
        """Title with the number of failing townships, as offered in the indicator choice."""
        if not self.n_fail:
            return _("{title} (all pass)").format(title=self.title)
        return _("{title} ({n} not met)").format(title=self.title, n=self.n_fail)


def indicator_results(evaluation) -> list[Indicator]:
    """Township results of each township-level rule of an evaluation, in plan order.

    Examples
    --------
    ``ev`` as in :class:`Indicator`:

    >>> [i.rule_id for i in indicator_results(ev)]
    ['home_care_centre', 'eco_cemetery', 'eco_burial_site', 'disability_home', 'social_work_station']
    """
    if evaluation is None or not len(evaluation.townships):
        return []
    out = []
    for rule_id, rows in evaluation.townships.groupby("rule_id", sort=False):
        result = [EXEMPT if _missing(p) else (PASS if bool(p) else FAIL) for p in rows["passed"]]
        res = pd.DataFrame({"result": result, "value": rows["value"].to_numpy(), "target": rows["target"].to_numpy(),
                            "reason": rows["reason"].astype(str).to_numpy()}, index=rows["code"].astype(str))
        out.append(Indicator(str(rule_id), str(rows["title"].iloc[0]), res))
    return out


def default_sources(county) -> str:
    """A one-line source note from a county's provenance table (real sources named, the rest marked).

    Examples
    --------
    >>> default_sources(county)
    '数据来源：区划代码：国家统计局；县界：阿里云 DataV；人口总数：第七次全国人口普查公报。乡镇界线、人口分布、设施与道路为样例示意数据'
    """
    prov = getattr(county, "provenance", None)
    if prov is None or not len(prov) or "status" not in prov.columns:
        return _("Sources: the user's layers")
    status = prov["status"].astype(str)
    illustrative = status.str.contains("illustrative").any()
    sources = " ".join(prov.loc[status.eq("real"), "source"].astype(str))
    known = [("NBS", N_("division codes: National Bureau of Statistics")),
             ("DataV", N_("county boundary: Alibaba Cloud DataV")),
             ("人口普查", N_("population totals: Seventh National Population Census communiqué"))]
    parts = [_(text) for key, text in known if key in sources]
    note = _("Sources: {sources}").format(sources=_("; ").join(parts) if parts else _("see the layers' notes"))
    if illustrative:
        note += _(". Township boundaries, population distribution, facilities and roads are illustrative sample data")
    return note
