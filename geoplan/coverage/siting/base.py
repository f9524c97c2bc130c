"""Shared parts of the siting models: errors, the result, input handling and
the model base class with its coverage helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.errors import GeoplanError
from geoplan.i18n import _
from geoplan.layers.values import id_index

# Two costs closer than this (relative) count as equal when deciding coverage
# after the solve, so round-off in a cost matrix never flips a covered point.
_REL_EPS = 1e-9
_MAX_PMEDIAN_ROUNDS = 8
_DISP = False


class SitingError(GeoplanError):
    """Bad input to a siting model (shapes, IDs, negative costs, impossible p).

    Examples
    --------
    Messages are in the reader's language (Chinese unless English is chosen, see :mod:`geoplan.i18n`):

    >>> from geoplan.coverage.siting import MCLP
    >>> MCLP.from_cost_matrix([[1, -2]], [10], 5, p_facilities=1)
    Traceback (most recent call last):
    ...
    geoplan.coverage.siting.base.SitingError: 成本须 ≥ 0；需求点 0 → 候选点 1 为 -2。
    """


class InfeasibleSitingError(SitingError):
    """No plan satisfies the model; the message says which demand points are to blame.

    Examples
    --------
    >>> from geoplan.coverage.siting import LSCP
    >>> r = LSCP.from_cost_matrix([[3, 20], [30, 40]], 10, demand_ids=["甲村", "乙村"]).solve()
    >>> r.status, r.uncoverable
    ('infeasible', ['乙村'])
    >>> r.raise_if_infeasible()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.coverage.siting.base.InfeasibleSitingError: 1 demand point(s) have no candidate site within 10: 乙村 (nearest candidate 0 at 30). Add candidate sites near them, raise the service radius, or leave them out.
    """


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

@dataclass
class SitingResult:
    """Outcome of one siting model.

    Attributes
    ----------
    model : str
        ``"lscp"``, ``"mclp"`` or ``"pmedian"``.
    status : str
        ``"optimal"``, ``"infeasible"``, ``"time_limit"`` (best plan found
        when the time ran out, possibly not optimal) or ``"error"``.
    objective : float or None
        LSCP: number of open sites, fixed ones included (as spopt counts).
        MCLP: population covered, by fixed and new sites.
        PMedian: sum of population × cost to the assigned site.
    sites : pandas.DataFrame
        One row per open site: ``site_id``, ``status`` (``"fixed"`` or
        ``"new"``), ``n_demand`` and ``population`` (demand points and
        population assigned to it), ``unique_demand`` and
        ``unique_population`` (covered by this site and no other open one;
        coverage models), ``reason`` (why it was chosen, in words).
    assignment : pandas.DataFrame
        One row per demand point, indexed by demand ID: ``site_id`` (the
        site serving it — the nearest open one within reach — or missing),
        ``cost``, ``weight``, ``covered`` (within the service radius; for
        PMedian: assigned to a reachable site).
    message : str
        One-paragraph summary, or the explanation of an infeasible model.
    uncoverable : list
        Demand IDs that no candidate reaches within the radius (coverage
        models) or at all (PMedian).
    flows : pandas.DataFrame or None
        Capacitated LSCP only: ``demand_id``, ``site_id``, ``share`` — how
        each demand point's quantity is split between sites.
    details : dict
        Model size, solver rounds, MIP gap, solve time in seconds.

    Examples
    --------
    >>> from geoplan.coverage.siting import LSCP
    >>> r = LSCP.from_cost_matrix([[2, 9], [8, 3], [4, 12]], 5, demand_ids=["甲村", "乙村", "丙村"],
    ...                           site_ids=["S1", "S2"]).solve()
    >>> r.model, r.status, r.objective, r.selected, r.ok
    ('lscp', 'optimal', 2.0, ['S1', 'S2'], True)
    >>> r.sites[["site_id", "status", "n_demand"]].values.tolist()
    [['S1', 'new', 2], ['S2', 'new', 1]]
    >>> r.assignment["site_id"].to_dict()
    {'甲村': 'S1', '乙村': 'S2', '丙村': 'S1'}
    """

    model: str
    status: str
    objective: float | None
    sites: pd.DataFrame
    assignment: pd.DataFrame
    message: str = ""
    uncoverable: list = field(default_factory=list)
    flows: pd.DataFrame | None = None
    details: dict = field(default_factory=dict)

    @property
    def selected(self) -> list:
        """IDs of all open sites (fixed first, then new)."""
        return list(self.sites["site_id"])

    @property
    def new_sites(self) -> list:
        """IDs of the new sites the model opened."""
        return list(self.sites.loc[self.sites["status"] == "new", "site_id"])

    @property
    def fixed_sites(self) -> list:
        """IDs of the existing sites that were fixed open."""
        return list(self.sites.loc[self.sites["status"] == "fixed", "site_id"])

    @property
    def ok(self) -> bool:
        """True when the plan is optimal."""
        return self.status == "optimal"

    def raise_if_infeasible(self) -> SitingResult:
        """Raise :class:`InfeasibleSitingError` unless a plan was found; return self."""
        if self.status in ("infeasible", "error"):
            raise InfeasibleSitingError(self.message)
        return self

    def summary(self) -> str:
        """A few lines for a planner: status, objective, and each open site with its reason."""
        lines = [self.message]
        for row in self.sites.itertuples(index=False):
            lines.append(f"  {row.site_id} ({'existing' if row.status == 'fixed' else 'new'}): {row.reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------

def cost_array(cost, demand_ids=None, site_ids=None, value: str | None = None):
    """Turn any supported cost table into ``(array, demand_ids, site_ids)``.

    Parameters
    ----------
    cost : array-like or pandas.DataFrame
        * 2-D array, demand points × candidate sites;
        * wide DataFrame: index = demand IDs, columns = site IDs;
        * long DataFrame with ``origin_id`` and ``destination_id`` columns
          and a value column (``minutes``, ``cost``, ``distance``,
          ``distance_m`` or ``value``), as returned by
          :meth:`geoplan.network.graph.RoadNetwork.cost_matrix`; missing pairs
          are unreachable.
    demand_ids, site_ids : sequence, optional
        IDs in the order wanted. For a DataFrame they select and order rows
        and columns; for an array they label them (default ``0..n-1``).
    value : str, optional
        Value column of a long table.

    Returns
    -------
    tuple
        ``(costs, demand_ids, site_ids)``: a float array where NaN (not
        reachable) has become ``inf``, and two :class:`pandas.Index`.

    Raises
    ------
    SitingError
        Wrong shape, unknown IDs, negative costs.

    Examples
    --------
    >>> long = pd.DataFrame({"origin_id": ["a", "a", "b"], "destination_id": ["S1", "S2", "S1"],
    ...                      "minutes": [3.0, 7.0, 4.0]})
    >>> cost_array(long)
    (array([[ 3.,  7.],
           [ 4., inf]]), Index(['a', 'b'], dtype='str', name='origin_id'), Index(['S1', 'S2'], dtype='str', name='destination_id'))
    """
    if isinstance(cost, pd.DataFrame):
        if {"origin_id", "destination_id"} <= set(cost.columns):
            if value is None:
                for name in ("minutes", "cost", "distance", "distance_m", "value"):
                    if name in cost.columns:
                        value = name
                        break
                else:
                    raise SitingError(_(
                        "The long cost table has no value column (minutes, cost, distance, distance_m "
                        "or value); name it with value=..."))
            wide = cost.pivot_table(index="origin_id", columns="destination_id", values=value,
                                    aggfunc="min", dropna=False)
        else:
            wide = cost
        if demand_ids is not None:
            missing = pd.Index(demand_ids).difference(wide.index)
            if len(missing):
                raise SitingError(_("Demand IDs not in the cost table: {ids}.").format(ids=_show(missing)))
            wide = wide.loc[list(demand_ids)]
        if site_ids is not None:
            missing = pd.Index(site_ids).difference(wide.columns)
            if len(missing):
                raise SitingError(_("Site IDs not in the cost table: {ids}.").format(ids=_show(missing)))
            wide = wide[list(site_ids)]
        arr = np.array(wide.to_numpy(dtype=float, na_value=np.nan), dtype=float, copy=True)
        d_ids, s_ids = pd.Index(wide.index), pd.Index(wide.columns)
    else:
        arr = np.array(cost, dtype=float)
        if arr.ndim != 2:
            raise SitingError(_("A cost matrix must be 2-D (demand × sites), got shape {shape}.").format(
                shape=arr.shape))
        d_ids = pd.Index(range(arr.shape[0]) if demand_ids is None else list(demand_ids))
        s_ids = pd.Index(range(arr.shape[1]) if site_ids is None else list(site_ids))
        if len(d_ids) != arr.shape[0] or len(s_ids) != arr.shape[1]:
            raise SitingError(_(
                "The cost matrix is {rows} × {cols} but {n_demand} demand IDs and {n_sites} site IDs were "
                "given.").format(rows=arr.shape[0], cols=arr.shape[1], n_demand=len(d_ids), n_sites=len(s_ids)))
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise SitingError(_("The cost matrix is empty: there must be at least one demand point and one candidate."))
    if d_ids.has_duplicates or s_ids.has_duplicates:
        dup = d_ids[d_ids.duplicated()] if d_ids.has_duplicates else s_ids[s_ids.duplicated()]
        raise SitingError(_("IDs must be unique; repeated: {ids}.").format(ids=_show(dup.unique())))
    arr[np.isnan(arr)] = np.inf
    if (arr < 0).any():
        i, j = np.argwhere(arr < 0)[0]
        raise SitingError(_("Costs must be ≥ 0; demand {demand!r} → site {site!r} is {cost:g}.").format(
            demand=d_ids[i], site=s_ids[j], cost=arr[i, j]))
    return arr, d_ids, s_ids


def _num(x: float) -> str:
    """A population or total for people to read: 2,536 rather than 2535.63 (small values keep 3 digits)."""
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.3g}"


def _show(ids, limit: int = 20) -> str:
    ids = list(ids)
    text = ", ".join(str(i) for i in ids[:limit])
    if len(ids) > limit:
        text += _(" … and {n} more").format(n=len(ids) - limit)
    return text


def _vector(values, n: int, what: str, default=None) -> np.ndarray | None:
    if values is None:
        return None if default is None else np.full(n, default, dtype=float)
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.shape[0] != n:
        raise SitingError(_("{what} has {n_values} values for {n} rows.").format(what=what, n_values=arr.shape[0], n=n))
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise SitingError(_("{what} must be finite numbers ≥ 0.").format(what=what))
    return arr


def _fixed_mask(fixed, site_ids: pd.Index) -> np.ndarray:
    n = len(site_ids)
    if fixed is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(fixed)
    if arr.dtype == bool and arr.shape == (n,):
        return arr.copy()
    mask = np.zeros(n, dtype=bool)
    for f in arr.reshape(-1).tolist():
        if f in site_ids:
            mask[site_ids.get_loc(f)] = True
        elif isinstance(f, (int, np.integer)) and 0 <= f < n:
            mask[int(f)] = True
        else:
            raise SitingError(_("Fixed site {site!r} is not among the candidate sites.").format(site=f))
    return mask


def euclidean_cost_matrix(demand, candidates, crs=None) -> np.ndarray:
    """Straight-line distances in metres, demand × candidates.

    Both layers are put in the same metric CRS (``crs`` or the Gauss–Krüger
    zone of the demand layer, see :func:`geoplan.layers.crs.to_metric`); polygons
    are represented by their centroids.

    Parameters
    ----------
    demand, candidates : geopandas.GeoDataFrame
        Points or polygons with a CRS.
    crs : optional
        Metric CRS to measure in.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(demand), len(candidates))``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> d = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(300, 400)], crs=4549)
    >>> s = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(0, 1000)], crs=4549)
    >>> euclidean_cost_matrix(d, s)
    array([[  0.        , 997.25256581],
           [498.626901  , 668.97818763]])
    """
    from scipy.spatial.distance import cdist

    from geoplan.layers import crs as _crs

    d = _crs.to_metric(demand, crs)
    c = _crs.to_metric(candidates, d.crs)
    return cdist(_xy(d), _xy(c))


def _xy(gdf) -> np.ndarray:
    geoms = gdf.geometry
    if (geoms.is_empty | geoms.isna()).any():
        raise SitingError(_("Every demand point and candidate needs a geometry; some are empty."))
    if not (geoms.geom_type == "Point").all():
        geoms = geoms.centroid
    return np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])


def _column_or_values(gdf, spec, what: str):
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec not in gdf.columns:
            raise SitingError(_("The {what} column {column!r} is not in the layer (columns: {columns}).").format(
                what=what, column=spec, columns=", ".join(map(str, gdf.columns))))
        return gdf[spec].to_numpy()
    return spec


def _ids(gdf, id_col):
    return id_index(gdf, id_col, SitingError)



def _binary_open(x: np.ndarray) -> np.ndarray:
    return x > 0.5


class _Model:
    """Shared state of the three models: costs, IDs, weights, fixed sites."""

    name = ""

    def __init__(self, cost, demand_ids, site_ids, weights, fixed, capacity, value=None):
        self.cost, self.demand_ids, self.site_ids = cost_array(cost, demand_ids, site_ids, value)
        m, n = self.cost.shape
        self.weights = _vector(weights, m, "weights", default=1.0)
        self.fixed = _fixed_mask(fixed, self.site_ids)
        self.capacity = _vector(capacity, n, "capacity")
        self.result: SitingResult | None = None

    @property
    def n_demand(self) -> int:
        return self.cost.shape[0]

    @property
    def n_sites(self) -> int:
        return self.cost.shape[1]

    def _resolve_p(self, p_facilities, n_new) -> int:
        if (p_facilities is None) == (n_new is None):
            raise SitingError(_("Give exactly one of p_facilities (all open sites, fixed included) or n_new (new sites)."))
        p = int(p_facilities) if p_facilities is not None else int(n_new) + int(self.fixed.sum())
        if p < 0:
            raise SitingError(_("The number of sites must be ≥ 0, got {p}.").format(p=p))
        return p

    @classmethod
    def _geo_args(cls, demand, candidates, demand_id, site_id, weights, fixed, capacity, crs):
        cost = euclidean_cost_matrix(demand, candidates, crs)
        d_ids, s_ids = _ids(demand, demand_id), _ids(candidates, site_id)
        w = _column_or_values(demand, weights, "weight")
        f = _column_or_values(candidates, fixed, "fixed")
        if f is not None and isinstance(fixed, str):
            f = np.asarray(pd.Series(f).fillna(False).astype(bool))
        cap = _column_or_values(candidates, capacity, "capacity")
        return cost, d_ids, s_ids, w, f, cap

    # -- result building ------------------------------------------------

    def _empty_result(self, status: str, message: str, uncoverable=(), details=None) -> SitingResult:
        sites = pd.DataFrame(columns=["site_id", "status", "n_demand", "population", "unique_demand",
                                      "unique_population", "reason"])
        assignment = pd.DataFrame({"site_id": pd.Series([None] * self.n_demand, dtype=object),
                                   "cost": np.nan, "weight": self.weights, "covered": False},
                                  index=pd.Index(self.demand_ids, name="demand_id"))
        self.result = SitingResult(self.name, status, None, sites, assignment, message, list(uncoverable),
                                   details=details or {})
        return self.result

    def _nearest_open(self, open_mask: np.ndarray, limit: float = np.inf):
        """Index of the nearest open site for each demand (−1 if none within ``limit``) and its cost."""
        idx = np.flatnonzero(open_mask)
        if idx.size == 0:
            return np.full(self.n_demand, -1), np.full(self.n_demand, np.inf)
        sub = self.cost[:, idx]
        k = np.argmin(sub, axis=1)
        best = sub[np.arange(self.n_demand), k]
        site = idx[k]
        site[~(best <= limit)] = -1
        return site, best

    def _assignment_frame(self, site_idx: np.ndarray, covered: np.ndarray) -> pd.DataFrame:
        has = site_idx >= 0
        ids = np.empty(self.n_demand, dtype=object)
        ids[has] = self.site_ids.to_numpy()[site_idx[has]]
        costs = np.full(self.n_demand, np.nan)
        costs[has] = self.cost[np.flatnonzero(has), site_idx[has]]
        return pd.DataFrame({"site_id": ids, "cost": costs, "weight": self.weights, "covered": covered},
                            index=pd.Index(self.demand_ids, name="demand_id"))

    def _site_frame(self, open_mask, site_idx, reasons, unique_n=None, unique_w=None) -> pd.DataFrame:
        idx = np.flatnonzero(open_mask)
        # Fixed sites first: planners read "what exists" before "what to build".
        idx = idx[np.argsort(~self.fixed[idx], kind="stable")]
        served = pd.Series(site_idx).value_counts()
        pop = pd.Series(self.weights).groupby(site_idx).sum()
        frame = pd.DataFrame({
            "site_id": self.site_ids.to_numpy()[idx],
            "status": np.where(self.fixed[idx], "fixed", "new"),
            "n_demand": [int(served.get(j, 0)) for j in idx],
            "population": [float(pop.get(j, 0.0)) for j in idx],
        })
        frame["unique_demand"] = [int(unique_n[j]) for j in idx] if unique_n is not None else pd.NA
        frame["unique_population"] = [float(unique_w[j]) for j in idx] if unique_w is not None else np.nan
        frame["reason"] = [reasons[j] for j in idx]
        return frame

    def _coverage(self, radius: float) -> sp.csr_array:
        tol = radius * _REL_EPS if np.isfinite(radius) else 0.0
        return sp.csr_array((self.cost <= radius + tol).astype(np.float64))

    def _uncoverable(self, cover: sp.csr_array) -> np.ndarray:
        return np.flatnonzero(np.diff(cover.indptr) == 0)

    def _explain_uncoverable(self, bad: np.ndarray, radius: float, unit: str) -> str:
        sub = self.cost[bad]
        near = np.argmin(sub, axis=1)
        parts = []
        for r, i in enumerate(bad[:20]):
            c = sub[r, near[r]]
            if np.isfinite(c):
                parts.append(f"{self.demand_ids[i]} (nearest candidate {self.site_ids[near[r]]} at {c:g}{unit})")
            else:
                parts.append(f"{self.demand_ids[i]} (no candidate reachable at all)")
        more = f" … and {len(bad) - 20} more" if len(bad) > 20 else ""
        return (f"{len(bad)} demand point(s) have no candidate site within {radius:g}{unit}: "
                + "; ".join(parts) + more
                + ". Add candidate sites near them, raise the service radius, or leave them out.")


def _reduce_set_cover(a: sp.csr_array):
    """Classical exact reductions of a unit-cost set-covering matrix (rows must be covered).

    Repeats until nothing changes: a column whose rows are a subset of another
    column's is dropped (the other one is never worse); a row whose columns
    include all of another row's is dropped (covering the other covers it); a
    row with a single column forces that column open. The optimal number of
    columns is unchanged, and a cover of the reduced matrix plus the forced
    columns covers the original.

    Returns
    -------
    tuple
        ``(rows kept, columns kept, forced columns)`` as index arrays into ``a``.
    """
    rows = np.arange(a.shape[0])
    cols = np.arange(a.shape[1])
    forced: list[int] = []
    m = sp.csr_array(a, dtype=np.float64)
    while m.shape[0] and m.shape[1]:
        n_rows, n_cols = m.shape
        # Single-column rows: that column is in every cover.
        deg = np.diff(m.indptr)
        single = np.unique(m.indices[m.indptr[:-1][deg == 1]])
        if len(single):
            forced.extend(cols[single].tolist())
            hit = np.asarray(m[:, single].sum(axis=1)).reshape(-1) > 0
            m = sp.csr_array(m[~hit])
            rows = rows[~hit]
            keep = np.ones(m.shape[1], dtype=bool)
            keep[single] = False
            m = sp.csr_array(m[:, keep])
            cols = cols[keep]
            continue
        # Column dominance.
        size = np.asarray(m.sum(axis=0)).reshape(-1)
        g = sp.coo_array(m.T @ m)
        j, l, v = g.row, g.col, g.data
        dom = (j != l) & (v == size[j]) & ((size[l] > size[j]) | ((size[l] == size[j]) & (l < j)))
        drop_c = np.zeros(m.shape[1], dtype=bool)
        drop_c[j[dom]] = True
        drop_c |= size == 0
        if drop_c.any():
            m = sp.csr_array(m[:, ~drop_c])
            cols = cols[~drop_c]
        # Row dominance (a superset row is implied by its subset row).
        rsize = np.diff(m.indptr).astype(float)
        h = sp.coo_array(m @ m.T)
        i, k, v = h.row, h.col, h.data
        red = (i != k) & (v == rsize[k]) & ((rsize[k] < rsize[i]) | ((rsize[k] == rsize[i]) & (k < i)))
        drop_r = np.zeros(m.shape[0], dtype=bool)
        drop_r[i[red]] = True
        if drop_r.any():
            m = sp.csr_array(m[~drop_r])
            rows = rows[~drop_r]
        if m.shape == (n_rows, n_cols):
            break
    if m.shape[0] == 0:
        cols = cols[:0]
    return rows, cols, np.asarray(forced, dtype=int)


def _unique_cover(cover: sp.csr_array, open_mask: np.ndarray, weights: np.ndarray):
    """Per site: demand points and weight covered by it and by no other open site."""
    sub = cover[:, np.flatnonzero(open_mask)]
    count = np.asarray(sub.sum(axis=1)).reshape(-1)
    only = count == 1
    rows = sp.csr_array(sub[only])
    who = np.flatnonzero(open_mask)[rows.indices] if rows.nnz else np.array([], dtype=int)
    n = len(open_mask)
    uniq_n = np.bincount(who, minlength=n)
    uniq_w = np.bincount(who, weights=weights[only][np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))]
                         if rows.nnz else None, minlength=n).astype(float)
    return uniq_n, uniq_w, count

