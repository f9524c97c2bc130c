"""Which facilities count for a rule: the rule's layer, its ``where`` filter, in service on a date.

The plan's rules name a layer and the facilities that count (``where``);
:func:`in_service` decides which of them were operating on the evaluation
date, and :func:`facilities_by_township` which township each serves. Used by
:mod:`geoplan.coverage.evaluation`, :mod:`~geoplan.coverage.access` and
:mod:`~geoplan.coverage.proposals`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan.coverage.plans import Rule
from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.layers.schema import SCHEMAS

FACILITY_LAYERS = ("elderly_care", "cemeteries", "social_work_stations", "disability_homes", "children_homes")


class CoverageError(GeoplanError):
    """The layers do not allow a rule to be evaluated (missing layer or column)."""


def _layer(layers: Mapping[str, gpd.GeoDataFrame], rule: Rule, name: str | None = None) -> gpd.GeoDataFrame:
    name = name or rule.get("layer")
    if name not in layers:
        raise CoverageError(
            _("Rule {rule!r} ({title}) needs the layer '{layer}' ({layer_title}), which was not given. "
              "Layers given: {layers}.").format(rule=rule.id, title=rule.title, layer=name,
                                                 layer_title=SCHEMAS[name].title,
                                                 layers=", ".join(layers) or _("none"))
        )
    return layers[name]


def _match(gdf: pd.DataFrame, alt: dict) -> np.ndarray:
    mask = np.ones(len(gdf), dtype=bool)
    for col, wanted in alt.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if col not in gdf.columns:
            raise CoverageError(_("The layer has no column '{column}'; cannot filter by {column} = {wanted!r}.").format(
                column=col, wanted=wanted))
        mask &= gdf[col].isin(values).fillna(False).to_numpy(dtype=bool)
    return mask


def _where_mask(gdf: pd.DataFrame, rule: Rule) -> np.ndarray:
    mask = np.zeros(len(gdf), dtype=bool)
    for alt in rule.where_any:
        mask |= _match(gdf, alt)
    return mask


def in_service(gdf: pd.DataFrame, as_of: dt.date | None) -> np.ndarray:
    """Which facilities were operating on ``as_of``: status 运营, opened by then, not closed by then.

    A facility whose opening year is unknown counts as open (the layer says it operates).
    """
    ok = np.ones(len(gdf), dtype=bool)
    if "status" in gdf.columns:
        ok &= (gdf["status"] == "运营").fillna(False).to_numpy(dtype=bool)
    if as_of is not None:
        if "opened" in gdf.columns:
            ok &= ~(gdf["opened"] > as_of.year).fillna(False).to_numpy(dtype=bool)
        if "closed" in gdf.columns:
            ok &= ~(gdf["closed"] <= as_of.year).fillna(False).to_numpy(dtype=bool)
    return ok


def _filtered(layers, rule: Rule, as_of: dt.date | None = None) -> gpd.GeoDataFrame:
    """Features of the rule's layer that pass its ``where`` filter and, unless ``status = "any"``,
    were in service on ``as_of`` (``status = "规划"``: the planned ones)."""
    gdf = _layer(layers, rule)
    mask = _where_mask(gdf, rule)
    status = rule.get("status") or "运营"
    if status == "运营":
        mask &= in_service(gdf, as_of)
    elif status == "规划" and "status" in gdf.columns:
        mask &= (gdf["status"] == "规划").fillna(False).to_numpy(dtype=bool)
    return gdf[mask]


def facilities_by_township(towns: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                           assign: str = "either") -> pd.Series:
    """IDs of the facilities serving each township.

    Parameters
    ----------
    towns : GeoDataFrame
        Townships (``code`` and polygons).
    facilities : GeoDataFrame
        Facility layer with ``facility_id``, ``township_code`` and geometry.
    assign : {"location", "column", "either"}
        Count a facility for the township it stands in, the one its
        ``township_code`` names, or both (a centre just across a township
        line that the bureau assigned to its neighbour counts for both).

    Returns
    -------
    Series
        Index township code, values sorted lists of facility IDs.
    """
    pairs = []
    if assign in ("column", "either") and "township_code" in facilities:
        pairs.append(facilities[["facility_id", "township_code"]].rename(columns={"township_code": "code"}))
    if assign in ("location", "either") and len(facilities):
        pts = facilities[["facility_id", facilities.geometry.name]].copy()
        pts[pts.geometry.name] = pts.geometry.representative_point()
        joined = gpd.sjoin(pts, towns[["code", towns.geometry.name]].to_crs(pts.crs), predicate="within")
        pairs.append(joined[["facility_id", "code"]])
    table = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(columns=["facility_id", "code"])
    table = table.dropna().drop_duplicates()
    grouped = table.groupby("code")["facility_id"].agg(lambda s: sorted(map(str, s)))
    return pd.Series([grouped.get(c, []) for c in towns["code"]], index=towns["code"].to_numpy())


def as_of_layers(layers: Mapping[str, gpd.GeoDataFrame], as_of: dt.date | None) -> dict:
    """The layers with only the facilities in service on ``as_of`` (planned, not yet opened and closed ones dropped)."""
    out = dict(layers)
    for name in FACILITY_LAYERS:
        if name in out:
            out[name] = out[name][in_service(out[name], as_of)]
    return out
