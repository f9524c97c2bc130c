"""Candidate sites for the siting models: grid, township seats, network nodes.

Examples in this module use ``county = gp.load_sample("330624")``, ``net =
gp.RoadNetwork.from_roads(county["roads"])`` (``import geoplan as gp``); pytest builds them once per
session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoplan.coverage.siting.base import SitingError, _show
from geoplan.i18n import _


def grid_candidates(area, spacing_m: float, crs=None, prefix: str = "G"):
    """Candidate sites on a square grid inside polygons.

    Parameters
    ----------
    area : geopandas.GeoDataFrame or GeoSeries
        Polygons (e.g. the county or townships) with a CRS.
    spacing_m : float
        Grid spacing in metres; points are cell centres.
    crs : optional
        Metric CRS for the grid; default the Gauss–Krüger zone of ``area``.
    prefix : str
        Site IDs are ``prefix`` + a running number.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id`` and point geometry, in the CRS of ``area``.

    Examples
    --------
    >>> g = grid_candidates(county["townships"].head(1), 1000)  # 羽林街道 on a 1 km grid
    >>> len(g), g.iloc[0]["site_id"], g.crs.to_epsg()
    (54, 'G00001', 4490)
    """
    import geopandas as gpd
    import shapely

    from geoplan.layers import crs as _crs

    if not spacing_m > 0:
        raise SitingError(_("Grid spacing must be > 0 metres, got {spacing!r}.").format(spacing=spacing_m))
    frame = area if isinstance(area, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=area)
    metric = _crs.to_metric(frame, crs)
    union = shapely.union_all(metric.geometry.values)
    x0, y0, x1, y1 = union.bounds
    xs = np.arange(x0 + spacing_m / 2, x1, spacing_m)
    ys = np.arange(y0 + spacing_m / 2, y1, spacing_m)
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    shapely.prepare(union)
    pts = pts[shapely.contains(union, pts)]
    out = gpd.GeoDataFrame({"site_id": [f"{prefix}{i + 1:05d}" for i in range(len(pts))]}, geometry=pts,
                           crs=metric.crs)
    return out.to_crs(frame.crs)


def township_seat_candidates(townships, id_col: str = "code", name_col: str | None = "name"):
    """Candidate sites at township seats.

    Parameters
    ----------
    townships : geopandas.GeoDataFrame
        Seats as points, or township polygons (a point inside each polygon
        is used where no seat location is known).
    id_col, name_col : str
        Columns copied to ``site_id`` and ``name``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``name`` (if present) and point geometry.

    Examples
    --------
    >>> s = township_seat_candidates(county["townships"])
    >>> len(s), s[["site_id", "name"]].iloc[0].tolist()
    (12, ['330624001', '羽林街道'])
    """
    import geopandas as gpd

    if id_col not in townships.columns:
        raise SitingError(_("The township layer has no {column!r} column.").format(column=id_col))
    geoms = townships.geometry
    if not (geoms.geom_type == "Point").all():
        geoms = geoms.representative_point()
    data = {"site_id": townships[id_col].astype(str).to_numpy()}
    if name_col and name_col in townships.columns:
        data["name"] = townships[name_col].to_numpy()
    return gpd.GeoDataFrame(data, geometry=geoms.to_numpy(), crs=townships.crs)


def network_node_candidates(coords, crs, ids=None, min_spacing_m: float | None = None, prefix: str = "N"):
    """Candidate sites at road-network nodes.

    Parameters
    ----------
    coords : array-like
        ``(n, 2)`` node coordinates in ``crs``.
    crs : CRS-like
        CRS of the coordinates.
    ids : sequence, optional
        Node IDs (default ``prefix`` + running number).
    min_spacing_m : float, optional
        Thin the nodes to at most one per square of this size (metres, in the
        metric CRS), keeping the first node in each — junctions a few metres
        apart are the same site for planning.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id`` and point geometry, in ``crs``.

    Examples
    --------
    ``net = gp.RoadNetwork.from_roads(county["roads"])``; nodes at least 2 km apart:

    >>> n = network_node_candidates(net.node_xy, net.crs, min_spacing_m=2000)
    >>> len(n) < net.n_nodes, n.iloc[0]["site_id"]
    (True, 'N00001')
    """
    import geopandas as gpd
    import shapely

    from geoplan.layers import crs as _crs

    xy = np.asarray(coords, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise SitingError(_("Node coordinates must be an (n, 2) array, got shape {shape}.").format(shape=xy.shape))
    site_ids = np.asarray([f"{prefix}{i + 1:05d}" for i in range(len(xy))] if ids is None else list(ids), dtype=object)
    out = gpd.GeoDataFrame({"site_id": site_ids}, geometry=shapely.points(xy), crs=crs)
    if min_spacing_m:
        metric = _crs.to_metric(out)
        cells = np.floor(np.column_stack([metric.geometry.x, metric.geometry.y]) / float(min_spacing_m))
        keep = np.unique(cells, axis=0, return_index=True)[1]
        out = out.iloc[np.sort(keep)].reset_index(drop=True)
    return out


def combine_candidates(*layers, crs=None):
    """Stack candidate layers (existing facilities, seats, grid …) into one.

    Each input needs a ``site_id`` column; the result keeps ``site_id``, an
    ``origin`` column (position of the input layer) and every other column
    present, in ``crs`` or the CRS of the first layer.

    Examples
    --------
    >>> both = combine_candidates(township_seat_candidates(county["townships"]),
    ...                           grid_candidates(county["townships"].head(1), 1000))
    >>> len(both), both["site_id"].is_unique
    (66, True)
    """
    import geopandas as gpd

    if not layers:
        raise SitingError(_("No candidate layers given."))
    target = crs or layers[0].crs
    parts = []
    for i, layer in enumerate(layers):
        if "site_id" not in layer.columns:
            raise SitingError(_("Candidate layer {n} has no 'site_id' column.").format(n=i + 1))
        part = layer.to_crs(target).copy()
        part["origin"] = i
        parts.append(part)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=target)
    if out["site_id"].duplicated().any():
        raise SitingError(_("Candidate site IDs repeat across layers: {ids}.").format(
            ids=_show(out.loc[out["site_id"].duplicated(), "site_id"])))
    return out
