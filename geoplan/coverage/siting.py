"""Facility siting: where the fewest, or the best, new sites should go.

Three classic location models, solved exactly with HiGHS through
:func:`scipy.optimize.milp`:

* :class:`LSCP` — location set covering: the fewest sites so that every
  demand point lies within a service radius (minutes or metres) of one;
  optionally with capacities (demand split between sites, as in spopt).
* :class:`MCLP` — maximal covering: the ``p`` sites that cover the most
  population within the radius.
* :class:`PMedian` — the ``p`` sites with the least total population-weighted
  travel cost; optionally with capacities (each demand served by one site).

Existing facilities can be fixed open. Each model is built either from a
cost matrix (:meth:`~LSCP.from_cost_matrix`: a NumPy array, a wide
DataFrame keyed by IDs, or the long table of
:meth:`geoplan.network.graph.RoadNetwork.cost_matrix`) or from two GeoDataFrames
with straight-line distances in metres (:meth:`~LSCP.from_geodataframes`).
The class interface follows spopt's (``from_cost_matrix``,
``from_geodataframes``, ``solve``) and, for the same data, the models have
the same optimal objective value as spopt's ``LSCP``, ``MCLP`` and
``PMedian``; in particular ``p_facilities`` counts fixed sites as spopt does
(``n_new`` counts only new ones).

:meth:`solve` returns a :class:`SitingResult`: the selected sites (fixed or
new, demand served, population covered and *why* each was chosen), the
assignment of every demand point, the objective, the solver status and —
when no solution exists — an explanation naming the demand points that no
candidate can reach.

Exact reductions used to keep the models small
----------------------------------------------
* Coverage models use sparse coverage matrices; demand already covered by a
  fixed site is dropped (LSCP, MCLP), and MCLP merges demand points covered
  by exactly the same candidates (their weights add up).
* The p-median model does not create all ``n_demand × n_site`` assignment
  variables. Each demand point ``i`` gets variables only for its ``K_i``
  nearest candidates, plus a "farther away" variable ``u_i`` costed at the
  ``(K_i+1)``-th smallest distance, which is a lower bound on any site
  outside that set. Every feasible plan of the full model maps to a plan of
  this reduced model with no larger cost, so the reduced optimum is a lower
  bound. If no ``u_i`` is used the reduced solution is feasible for the full
  model at the same cost, hence optimal. Otherwise ``K_i`` grows for the
  demand points that used ``u_i`` (at least to the rank of the site they
  would really go to) and the model is solved again; in the worst case this
  ends at the full model. Candidates farther than the nearest fixed site are
  never needed, so they are left out without a bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan.errors import GeoplanError

__all__ = [
    "SitingError", "InfeasibleSitingError", "SitingResult", "LSCP", "MCLP", "PMedian",
    "cost_array", "euclidean_cost_matrix", "grid_candidates", "township_seat_candidates",
    "network_node_candidates", "combine_candidates",
]

# Two costs closer than this (relative) count as equal when deciding coverage
# after the solve, so round-off in a cost matrix never flips a covered point.
_REL_EPS = 1e-9
_MAX_PMEDIAN_ROUNDS = 8
_DISP = False


class SitingError(GeoplanError):
    """Bad input to a siting model (shapes, IDs, negative costs, impossible p)."""


class InfeasibleSitingError(SitingError):
    """No plan satisfies the model; the message says which demand points are to blame."""


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
    """
    if isinstance(cost, pd.DataFrame):
        if {"origin_id", "destination_id"} <= set(cost.columns):
            if value is None:
                for name in ("minutes", "cost", "distance", "distance_m", "value"):
                    if name in cost.columns:
                        value = name
                        break
                else:
                    raise SitingError(
                        "The long cost table has no value column (minutes, cost, distance, distance_m "
                        "or value); name it with value=...")
            wide = cost.pivot_table(index="origin_id", columns="destination_id", values=value,
                                    aggfunc="min", dropna=False)
        else:
            wide = cost
        if demand_ids is not None:
            missing = pd.Index(demand_ids).difference(wide.index)
            if len(missing):
                raise SitingError(f"Demand IDs not in the cost table: {_show(missing)}.")
            wide = wide.loc[list(demand_ids)]
        if site_ids is not None:
            missing = pd.Index(site_ids).difference(wide.columns)
            if len(missing):
                raise SitingError(f"Site IDs not in the cost table: {_show(missing)}.")
            wide = wide[list(site_ids)]
        arr = np.array(wide.to_numpy(dtype=float, na_value=np.nan), dtype=float, copy=True)
        d_ids, s_ids = pd.Index(wide.index), pd.Index(wide.columns)
    else:
        arr = np.array(cost, dtype=float)
        if arr.ndim != 2:
            raise SitingError(f"A cost matrix must be 2-D (demand × sites), got shape {arr.shape}.")
        d_ids = pd.Index(range(arr.shape[0]) if demand_ids is None else list(demand_ids))
        s_ids = pd.Index(range(arr.shape[1]) if site_ids is None else list(site_ids))
        if len(d_ids) != arr.shape[0] or len(s_ids) != arr.shape[1]:
            raise SitingError(
                f"The cost matrix is {arr.shape[0]} × {arr.shape[1]} but {len(d_ids)} demand IDs and "
                f"{len(s_ids)} site IDs were given.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise SitingError("The cost matrix is empty: there must be at least one demand point and one candidate.")
    if d_ids.has_duplicates or s_ids.has_duplicates:
        dup = d_ids[d_ids.duplicated()] if d_ids.has_duplicates else s_ids[s_ids.duplicated()]
        raise SitingError(f"IDs must be unique; repeated: {_show(dup.unique())}.")
    arr[np.isnan(arr)] = np.inf
    if (arr < 0).any():
        i, j = np.argwhere(arr < 0)[0]
        raise SitingError(f"Costs must be ≥ 0; demand {d_ids[i]!r} → site {s_ids[j]!r} is {arr[i, j]:g}.")
    return arr, d_ids, s_ids


def _num(x: float) -> str:
    """A population or total for people to read: 2,536 rather than 2535.63 (small values keep 3 digits)."""
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.3g}"


def _show(ids, limit: int = 20) -> str:
    ids = list(ids)
    text = ", ".join(str(i) for i in ids[:limit])
    if len(ids) > limit:
        text += f" … and {len(ids) - limit} more"
    return text


def _vector(values, n: int, what: str, default=None) -> np.ndarray | None:
    if values is None:
        return None if default is None else np.full(n, default, dtype=float)
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.shape[0] != n:
        raise SitingError(f"{what} has {arr.shape[0]} values for {n} rows.")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise SitingError(f"{what} must be finite numbers ≥ 0.")
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
            raise SitingError(f"Fixed site {f!r} is not among the candidate sites.")
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
    """
    from scipy.spatial.distance import cdist

    from geoplan.layers import crs as _crs

    d = _crs.to_metric(demand, crs)
    c = _crs.to_metric(candidates, d.crs)
    return cdist(_xy(d), _xy(c))


def _xy(gdf) -> np.ndarray:
    geoms = gdf.geometry
    if (geoms.is_empty | geoms.isna()).any():
        raise SitingError("Every demand point and candidate needs a geometry; some are empty.")
    if not (geoms.geom_type == "Point").all():
        geoms = geoms.centroid
    return np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])


def _column_or_values(gdf, spec, what: str):
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec not in gdf.columns:
            raise SitingError(f"The {what} column {spec!r} is not in the layer (columns: {', '.join(map(str, gdf.columns))}).")
        return gdf[spec].to_numpy()
    return spec


def _ids(gdf, id_col):
    if id_col is None:
        return pd.Index(gdf.index)
    if id_col not in gdf.columns:
        raise SitingError(f"The ID column {id_col!r} is not in the layer.")
    return pd.Index(gdf[id_col])


# --------------------------------------------------------------------------
# Solver plumbing
# --------------------------------------------------------------------------

def _run_milp(c, integrality, lb, ub, rows, time_limit, mip_gap):
    """Solve with HiGHS; ``rows`` is a list of (sparse matrix, lower, upper)."""
    constraints = [LinearConstraint(sp.csr_array(a), lo, hi) for a, lo, hi in rows if a.shape[0]]
    # Population × metres reaches 1e9; HiGHS works best with objective coefficients near 1.
    scale = float(np.abs(c).max(initial=0.0))
    c = c / scale if scale > 0 else c
    options = {"disp": _DISP, "mip_rel_gap": mip_gap}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(c, integrality=integrality, bounds=Bounds(lb, ub), constraints=constraints, options=options)
    if res.status == 0:
        status = "optimal"
    elif res.status == 1 and res.x is not None:
        status = "time_limit"
    elif res.status == 2:
        status = "infeasible"
    else:
        status = "error"
    return res, status


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
            raise SitingError("Give exactly one of p_facilities (all open sites, fixed included) or n_new (new sites).")
        p = int(p_facilities) if p_facilities is not None else int(n_new) + int(self.fixed.sum())
        if p < 0:
            raise SitingError(f"The number of sites must be ≥ 0, got {p}.")
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


# --------------------------------------------------------------------------
# LSCP
# --------------------------------------------------------------------------

class LSCP(_Model):
    """Location set covering: fewest open sites so every demand point is within reach.

    Parameters
    ----------
    cost : array-like or pandas.DataFrame
        Demand × candidate costs (see :func:`cost_array`); ``inf``/NaN = unreachable.
    service_radius : float
        A demand point is covered by a site with cost ≤ this (same unit).
    fixed : array-like, optional
        Existing sites kept open: boolean mask, site IDs or positions.
    weights : array-like, optional
        Population (or demand quantity) per demand point; reported, and the
        quantity that capacities limit.
    capacity : array-like, optional
        Capacity of each candidate. Then each demand point's quantity may be
        split between the sites covering it (spopt's capacitated LSCP).
    partial : bool
        If True, demand points no candidate can cover are left out (and
        listed in ``uncoverable``) instead of making the model infeasible.
    demand_ids, site_ids : sequence, optional
        Labels of the rows and columns of an array cost matrix.
    unit : str
        Unit of the costs, for messages (``" min"``, ``" m"``).
    """

    name = "lscp"

    def __init__(self, cost, service_radius: float, *, fixed=None, weights=None, capacity=None,
                 partial: bool = False, demand_ids=None, site_ids=None, value: str | None = None,
                 unit: str = ""):
        super().__init__(cost, demand_ids, site_ids, weights, fixed, capacity, value)
        if not (service_radius >= 0):
            raise SitingError(f"The service radius must be a number ≥ 0, got {service_radius!r}.")
        self.service_radius = float(service_radius)
        self.partial = bool(partial)
        self.unit = unit

    @classmethod
    def from_cost_matrix(cls, cost_matrix, service_radius: float, fixed=None, weights=None, capacity=None,
                         **kwargs) -> LSCP:
        """Build the model from a cost matrix (array, wide or long DataFrame); see :class:`LSCP`."""
        return cls(cost_matrix, service_radius, fixed=fixed, weights=weights, capacity=capacity, **kwargs)

    @classmethod
    def from_geodataframes(cls, demand, candidates, service_radius: float, *, demand_id=None, site_id=None,
                           weights=None, fixed=None, capacity=None, crs=None, **kwargs) -> LSCP:
        """Build the model from two layers with straight-line distances in metres.

        Parameters
        ----------
        demand, candidates : geopandas.GeoDataFrame
            Demand points (or polygons: centroids are used) and candidate sites.
        service_radius : float
            Metres.
        demand_id, site_id : str, optional
            ID columns (default: the index).
        weights, fixed, capacity : str or array-like, optional
            Column names (``fixed`` a boolean column) or values.
        crs : optional
            Metric CRS; default the Gauss–Krüger zone of ``demand``.
        """
        cost, d_ids, s_ids, w, f, cap = cls._geo_args(demand, candidates, demand_id, site_id, weights, fixed,
                                                      capacity, crs)
        kwargs.setdefault("unit", " m")
        return cls(cost, service_radius, fixed=f, weights=w, capacity=cap, demand_ids=d_ids, site_ids=s_ids,
                   **kwargs)

    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0) -> SitingResult:
        """Solve with HiGHS and return (and keep in ``.result``) a :class:`SitingResult`.

        Parameters
        ----------
        time_limit : float, optional
            Seconds; on expiry the best plan found is returned with status ``"time_limit"``.
        mip_gap : float
            Relative optimality gap at which HiGHS may stop (0 = proven optimal).
        """
        t0 = time.perf_counter()
        cover = self._coverage(self.service_radius)
        bad = self._uncoverable(cover)
        if len(bad) and not self.partial:
            return self._empty_result("infeasible", self._explain_uncoverable(bad, self.service_radius, self.unit),
                                      self.demand_ids[bad].tolist())
        active = np.ones(self.n_demand, dtype=bool)
        active[bad] = False
        if self.capacity is None:
            open_mask, status, details = self._solve_plain(cover, active, time_limit, mip_gap)
            flows = None
        else:
            out = self._solve_capacitated(cover, active, time_limit, mip_gap)
            if isinstance(out, SitingResult):
                return out
            open_mask, flows, status, details = out
        if open_mask is None:
            return self._empty_result(status, f"HiGHS found no plan ({status}).", self.demand_ids[bad].tolist(),
                                      details)
        details["seconds"] = time.perf_counter() - t0
        return self._finish(cover, open_mask, flows, bad, status, details)

    def _solve_plain(self, cover, active, time_limit, mip_gap):
        m, n = cover.shape
        covered_by_fixed = np.asarray(cover[:, np.flatnonzero(self.fixed)].sum(axis=1)).reshape(-1) > 0
        rows = np.flatnonzero(active & ~covered_by_fixed)
        a = cover[rows]
        if a.shape[0] == 0:
            return self.fixed.copy(), "optimal", {"rows": 0, "columns": n}
        free = np.flatnonzero(~self.fixed)
        keep_rows, keep_cols, forced = _reduce_set_cover(sp.csr_array(a[:, free]))
        open_mask = self.fixed.copy()
        open_mask[free[forced]] = True
        details = {"rows": len(keep_rows), "columns": len(keep_cols), "rows_before": a.shape[0],
                   "columns_before": len(free), "forced": len(forced)}
        if len(keep_rows) == 0:
            details["mip_gap"] = 0.0
            return open_mask, "optimal", details
        a = sp.csr_array(a[keep_rows][:, free[keep_cols]])
        nc = len(keep_cols)
        res, status = _run_milp(np.ones(nc), np.ones(nc), np.zeros(nc), np.ones(nc),
                                [(a, np.ones(a.shape[0]), np.inf)], time_limit, mip_gap)
        details["mip_gap"] = getattr(res, "mip_gap", None)
        if res.x is None:
            return None, status, details
        open_mask[free[keep_cols[_binary_open(res.x)]]] = True
        return open_mask, status, details

    def _solve_capacitated(self, cover, active, time_limit, mip_gap):
        q = self.weights
        cap = self.capacity
        m, n = cover.shape
        act = np.flatnonzero(active)
        total_q, total_cap = q[act].sum(), cap.sum()
        if total_q > total_cap * (1 + _REL_EPS):
            return self._empty_result(
                "infeasible",
                f"Total demand {_num(total_q)} exceeds the capacity of all candidate sites together ({_num(total_cap)}). "
                "Add candidates or raise capacities.")
        a = sp.coo_array(cover[act])
        pi, pj = a.row, a.col  # pair (local demand, site)
        npair = len(pi)
        # Variables: y (n sites), then z (one per covering pair, share of demand).
        nv = n + npair
        c = np.concatenate([np.ones(n), np.zeros(npair)])
        integrality = np.concatenate([np.ones(n), np.zeros(npair)])
        lb = np.concatenate([self.fixed.astype(float), np.zeros(npair)])
        ub = np.ones(nv)
        zi = n + np.arange(npair)
        assign = sp.csr_array((np.ones(npair), (pi, zi)), shape=(len(act), nv))
        capa = sp.csr_array((np.concatenate([q[act][pi], -cap]),
                             (np.concatenate([pj, np.arange(n)]), np.concatenate([zi, np.arange(n)]))),
                            shape=(n, nv))
        # z_ij ≤ y_j is implied by the capacity rows but makes the LP bound much tighter.
        link = sp.csr_array((np.concatenate([np.ones(npair), -np.ones(npair)]),
                             (np.tile(np.arange(npair), 2), np.concatenate([zi, pj]))), shape=(npair, nv))
        res, status = _run_milp(c, integrality, lb, ub,
                                [(assign, 1.0, 1.0), (capa, -np.inf, 0.0), (link, -np.inf, 0.0)],
                                time_limit, mip_gap)
        details = {"rows": assign.shape[0] + n + npair, "columns": nv, "mip_gap": getattr(res, "mip_gap", None)}
        if res.x is None:
            if status == "infeasible":
                return self._empty_result(
                    "infeasible",
                    "Every demand point has a candidate within reach, but the capacities of the candidates "
                    "around some of them are too small to serve all their demand. Raise capacities or add "
                    "candidates.", details=details)
            return None, None, status, details
        open_mask = _binary_open(res.x[:n])
        share = res.x[n:]
        keep = share > 1e-9
        flows = pd.DataFrame({"demand_id": self.demand_ids.to_numpy()[act[pi[keep]]],
                              "site_id": self.site_ids.to_numpy()[pj[keep]],
                              "share": share[keep]})
        return open_mask, flows, status, details

    def _finish(self, cover, open_mask, flows, bad, status, details) -> SitingResult:
        site_idx, _ = self._nearest_open(open_mask, self.service_radius * (1 + _REL_EPS))
        if flows is not None and len(flows):
            # Report the site taking the largest share as the demand's site.
            main = flows.sort_values("share", ascending=False).drop_duplicates("demand_id")
            pos = self.site_ids.get_indexer(main["site_id"])
            site_idx = np.full(self.n_demand, -1)
            site_idx[self.demand_ids.get_indexer(main["demand_id"])] = pos
        uniq_n, uniq_w, _ = _unique_cover(cover, open_mask, self.weights)
        reasons = {}
        for j in np.flatnonzero(open_mask):
            if self.fixed[j]:
                reasons[j] = "existing facility, kept open"
                if uniq_n[j]:
                    reasons[j] += f"; the only open site within reach of {uniq_n[j]} demand point(s)"
            elif uniq_n[j]:
                reasons[j] = (f"covers {uniq_n[j]} demand point(s) (population {_num(uniq_w[j])}) "
                              "no other selected site covers")
            elif self.capacity is not None:
                reasons[j] = "needed for capacity: the other sites covering its demand are full"
            else:
                reasons[j] = ("redundant: everything it covers is covered by another selected site "
                              f"(the plan is {status}, not proven minimal)")
        assignment = self._assignment_frame(site_idx, site_idx >= 0)
        sites = self._site_frame(open_mask, site_idx, reasons, uniq_n, uniq_w)
        n_open, n_new = int(open_mask.sum()), int((open_mask & ~self.fixed).sum())
        msg = (f"LSCP ({status}): {n_open} open site(s), {n_new} new and {n_open - n_new} existing, cover "
               f"every demand point within {self.service_radius:g}{self.unit}")
        if len(bad):
            msg += (f" except {len(bad)} that no candidate can reach ({_show(self.demand_ids[bad], 10)})")
        msg += "."
        self.result = SitingResult(self.name, status, float(n_open), sites, assignment, msg,
                                   self.demand_ids[bad].tolist(), flows, details)
        return self.result


# --------------------------------------------------------------------------
# MCLP
# --------------------------------------------------------------------------

class MCLP(_Model):
    """Maximal covering: the ``p`` open sites that cover the most population.

    Parameters
    ----------
    cost : array-like or pandas.DataFrame
        Demand × candidate costs (see :func:`cost_array`).
    weights : array-like
        Population of each demand point.
    service_radius : float
        Covered means cost ≤ this.
    p_facilities : int, optional
        Number of open sites *including* fixed ones (spopt's convention).
    n_new : int, optional
        Number of new sites; give this or ``p_facilities``.
    fixed : array-like, optional
        Existing sites kept open (mask, IDs or positions).
    """

    name = "mclp"

    def __init__(self, cost, weights, service_radius: float, p_facilities: int | None = None, *,
                 n_new: int | None = None, fixed=None, demand_ids=None, site_ids=None, value: str | None = None,
                 unit: str = ""):
        if weights is None:
            raise SitingError("MCLP needs the population (weight) of each demand point.")
        super().__init__(cost, demand_ids, site_ids, weights, fixed, None, value)
        if not (service_radius >= 0):
            raise SitingError(f"The service radius must be a number ≥ 0, got {service_radius!r}.")
        self.service_radius = float(service_radius)
        self.p = self._resolve_p(p_facilities, n_new)
        self.unit = unit

    @classmethod
    def from_cost_matrix(cls, cost_matrix, weights, service_radius: float, p_facilities: int | None = None,
                         fixed=None, **kwargs) -> MCLP:
        """Build the model from a cost matrix; see :class:`MCLP`."""
        return cls(cost_matrix, weights, service_radius, p_facilities, fixed=fixed, **kwargs)

    @classmethod
    def from_geodataframes(cls, demand, candidates, weights, service_radius: float,
                           p_facilities: int | None = None, *, demand_id=None, site_id=None, fixed=None,
                           crs=None, **kwargs) -> MCLP:
        """Build the model from two layers with straight-line distances in metres.

        ``weights`` is a column of ``demand`` or an array; ``fixed`` a boolean
        column of ``candidates``, IDs or a mask. See :meth:`LSCP.from_geodataframes`.
        """
        cost, d_ids, s_ids, w, f, _ = cls._geo_args(demand, candidates, demand_id, site_id, weights, fixed,
                                                    None, crs)
        kwargs.setdefault("unit", " m")
        return cls(cost, w, service_radius, p_facilities, fixed=f, demand_ids=d_ids, site_ids=s_ids, **kwargs)

    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0) -> SitingResult:
        """Solve with HiGHS; see :meth:`LSCP.solve`."""
        t0 = time.perf_counter()
        n = self.n_sites
        n_fixed = int(self.fixed.sum())
        if self.p < n_fixed or self.p > n:
            why = (f"{n_fixed} existing sites are fixed open" if self.p < n_fixed
                   else f"there are only {n} candidate sites")
            return self._empty_result("infeasible", f"Cannot open exactly {self.p} sites: {why}.")
        cover = self._coverage(self.service_radius)
        bad = self._uncoverable(cover)
        fixed_idx = np.flatnonzero(self.fixed)
        by_fixed = np.asarray(cover[:, fixed_idx].sum(axis=1)).reshape(-1) > 0
        rows = np.flatnonzero(~by_fixed & (self.weights > 0) & (np.diff(cover.indptr) > 0))
        free = np.flatnonzero(~self.fixed)
        a = sp.csr_array(cover[rows][:, free])
        a.sort_indices()
        # Demand points covered by exactly the same candidates act as one.
        keys = {}
        group = np.empty(len(rows), dtype=np.int64)
        for r in range(len(rows)):
            key = a.indices[a.indptr[r]:a.indptr[r + 1]].tobytes()
            group[r] = keys.setdefault(key, len(keys))
        g = len(keys)
        first = np.zeros(g, dtype=np.int64)
        first[group[::-1]] = np.arange(len(rows))[::-1]
        ga = sp.csr_array(a[first]) if g else sp.csr_array((0, len(free)))
        gw = np.bincount(group, weights=self.weights[rows], minlength=g)
        nf = len(free)
        k = self.p - n_fixed
        details = {"rows": g + 1, "columns": nf + g}
        if g == 0 or k == 0:
            chosen = np.zeros(nf, dtype=bool)
            if k:
                # Nothing left to cover: any k free sites reach the same objective.
                chosen[:k] = True
            status = "optimal"
        else:
            c = np.concatenate([np.zeros(nf), -gw])
            integrality = np.concatenate([np.ones(nf), np.zeros(g)])
            link = sp.hstack([-ga, sp.eye_array(g)], format="csr")  # c_g ≤ Σ covering y
            count = sp.csr_array(np.concatenate([np.ones(nf), np.zeros(g)])[None, :])
            res, status = _run_milp(c, integrality, np.zeros(nf + g), np.ones(nf + g),
                                    [(link, -np.inf, 0.0), (count, k, k)], time_limit, mip_gap)
            details["mip_gap"] = getattr(res, "mip_gap", None)
            if res.x is None:
                return self._empty_result(status, f"HiGHS found no plan ({status}).", self.demand_ids[bad].tolist(),
                                          details)
            chosen = _binary_open(res.x[:nf])
        open_mask = self.fixed.copy()
        open_mask[free[chosen]] = True
        details["seconds"] = time.perf_counter() - t0
        site_idx, _ = self._nearest_open(open_mask, self.service_radius * (1 + _REL_EPS))
        covered = site_idx >= 0
        objective = float(self.weights[covered].sum())
        uniq_n, uniq_w, _ = _unique_cover(cover, open_mask, self.weights)
        reasons = {}
        for j in np.flatnonzero(open_mask):
            if self.fixed[j]:
                reasons[j] = "existing facility, kept open"
                if uniq_w[j] > 0:
                    reasons[j] += f"; the only open site covering population {_num(uniq_w[j])}"
            elif uniq_w[j] > 0:
                reasons[j] = (f"adds population {_num(uniq_w[j])} ({uniq_n[j]} demand point(s)) that no other "
                              "selected site covers")
            else:
                reasons[j] = "required to open exactly p sites; adds no population not already covered"
        total = float(self.weights.sum())
        share = objective / total if total > 0 else 1.0
        msg = (f"MCLP ({status}): {int(open_mask.sum())} open site(s) ({int((open_mask & ~self.fixed).sum())} new) "
               f"cover population {_num(objective)} of {_num(total)} ({share:.1%}) within {self.service_radius:g}{self.unit}.")
        if len(bad):
            msg += f" {len(bad)} demand point(s) have no candidate within reach ({_show(self.demand_ids[bad], 10)})."
        self.result = SitingResult(self.name, status, objective,
                                   self._site_frame(open_mask, site_idx, reasons, uniq_n, uniq_w),
                                   self._assignment_frame(site_idx, covered), msg, self.demand_ids[bad].tolist(),
                                   None, details)
        return self.result


# --------------------------------------------------------------------------
# p-median
# --------------------------------------------------------------------------

class PMedian(_Model):
    """p-median: the ``p`` open sites with the least population-weighted total cost.

    Parameters
    ----------
    cost : array-like or pandas.DataFrame
        Demand × candidate costs (see :func:`cost_array`); unreachable pairs
        (``inf``/NaN) are never assigned.
    weights : array-like
        Population of each demand point.
    p_facilities : int, optional
        Number of open sites *including* fixed ones (spopt's convention).
    n_new : int, optional
        Number of new sites; give this or ``p_facilities``.
    fixed : array-like, optional
        Existing sites kept open (mask, IDs or positions).
    capacity : array-like, optional
        Capacity of each candidate, in the unit of ``weights``. Each demand
        point is then served whole by one site (spopt's capacitated
        p-median).
    """

    name = "pmedian"

    def __init__(self, cost, weights, p_facilities: int | None = None, *, n_new: int | None = None, fixed=None,
                 capacity=None, demand_ids=None, site_ids=None, value: str | None = None, unit: str = "",
                 initial_k: int | None = None):
        if weights is None:
            raise SitingError("PMedian needs the population (weight) of each demand point.")
        super().__init__(cost, demand_ids, site_ids, weights, fixed, capacity, value)
        self.p = self._resolve_p(p_facilities, n_new)
        self.unit = unit
        self.initial_k = initial_k

    @classmethod
    def from_cost_matrix(cls, cost_matrix, weights, p_facilities: int | None = None, fixed=None, capacity=None,
                         **kwargs) -> PMedian:
        """Build the model from a cost matrix; see :class:`PMedian`."""
        return cls(cost_matrix, weights, p_facilities, fixed=fixed, capacity=capacity, **kwargs)

    @classmethod
    def from_geodataframes(cls, demand, candidates, weights, p_facilities: int | None = None, *, demand_id=None,
                           site_id=None, fixed=None, capacity=None, crs=None, **kwargs) -> PMedian:
        """Build the model from two layers with straight-line distances in metres.

        See :meth:`LSCP.from_geodataframes` for the column arguments.
        """
        cost, d_ids, s_ids, w, f, cap = cls._geo_args(demand, candidates, demand_id, site_id, weights, fixed,
                                                      capacity, crs)
        kwargs.setdefault("unit", " m")
        return cls(cost, w, p_facilities, fixed=f, capacity=cap, demand_ids=d_ids, site_ids=s_ids, **kwargs)

    def _check(self) -> str | None:
        n, n_fixed = self.n_sites, int(self.fixed.sum())
        if self.p < max(n_fixed, 1) or self.p > n:
            if self.p < 1:
                return "p-median needs at least one open site."
            why = (f"{n_fixed} existing sites are fixed open" if self.p < n_fixed
                   else f"there are only {n} candidate sites")
            return f"Cannot open exactly {self.p} sites: {why}."
        reach = np.isfinite(self.cost)
        bad = np.flatnonzero(~reach.any(axis=1))
        if len(bad):
            return None
        if self.capacity is not None:
            top = np.sort(self.capacity)[::-1][: self.p].sum()
            need = self.weights.sum()
            if top < need * (1 - _REL_EPS):
                return (f"Total demand {_num(need)} exceeds the capacity of the {self.p} largest candidate sites "
                        f"({_num(top)}). Open more sites or raise capacities.")
            biggest = np.where(reach, self.capacity[None, :], -np.inf).max(axis=1)
            over = np.flatnonzero(self.weights > biggest * (1 + _REL_EPS))
            if len(over):
                return (f"{len(over)} demand point(s) need more than any reachable site can hold (served whole "
                        f"by one site): {_show(self.demand_ids[over], 10)}.")
        return None

    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0) -> SitingResult:
        """Solve with HiGHS; see :meth:`LSCP.solve` and the module notes on the reduction."""
        t0 = time.perf_counter()
        reach = np.isfinite(self.cost)
        bad = np.flatnonzero(~reach.any(axis=1))
        if len(bad):
            return self._empty_result(
                "infeasible", self._explain_uncoverable(bad, np.inf, self.unit).replace(
                    "within inf", "reachable"), self.demand_ids[bad].tolist())
        problem = self._check()
        if problem:
            return self._empty_result("infeasible", problem)
        m, n = self.cost.shape
        capacitated = self.capacity is not None
        # Zero-weight demand costs nothing and (uncapacitated) can take its nearest open site afterwards.
        dem = np.flatnonzero(self.weights > 0)
        cost = self.cost[dem]
        order = np.argsort(cost, axis=1, kind="stable")
        sorted_cost = np.take_along_axis(cost, order, axis=1)
        n_reach = np.isfinite(sorted_cost).sum(axis=1)
        # Sites beyond the nearest fixed one are never needed (uncapacitated only: with capacities a
        # fixed site may be full).
        cap_k = n_reach.copy()
        if self.fixed.any() and not capacitated:
            fixed_sorted = self.fixed[order]
            first_fixed = np.argmax(fixed_sorted & np.isfinite(sorted_cost), axis=1)
            has = (fixed_sorted & np.isfinite(sorted_cost)).any(axis=1)
            cap_k = np.where(has, np.minimum(cap_k, first_fixed + 1), cap_k)
        k0 = self.initial_k or max(4, math.ceil(2.0 * n / max(self.p, 1)))
        k = np.minimum(cap_k, k0)
        rounds = 0
        total_rows = total_cols = 0
        while True:
            rounds += 1
            if rounds > _MAX_PMEDIAN_ROUNDS:
                k = cap_k.copy()
            res, status, x_open, assigned, dummy_used, size = self._solve_reduced(
                dem, order, sorted_cost, k, cap_k, capacitated, time_limit, mip_gap)
            total_rows, total_cols = size
            if res is None or res.x is None:
                details = {"rounds": rounds, "rows": total_rows, "columns": total_cols}
                msg = (f"HiGHS found no plan ({status})." if status != "infeasible" else
                       "The capacities cannot be arranged so that every demand point is served whole by one "
                       "open site. Open more sites or raise capacities.")
                return self._empty_result(status, msg, details=details)
            if not dummy_used.any() or (k >= cap_k).all():
                break
            # Grow the candidate lists of the demand that fell outside them, at least far enough to reach
            # the site the current plan would really send it to.
            rows = np.flatnonzero(dummy_used)
            open_sorted = x_open[order[rows]] & np.isfinite(sorted_cost[rows])
            rank = np.where(open_sorted.any(axis=1), np.argmax(open_sorted, axis=1) + 1, cap_k[rows])
            k[rows] = np.minimum(cap_k[rows], np.maximum(2 * k[rows], rank))
        open_mask = x_open
        if capacitated:
            site_idx = np.full(m, -1)
            site_idx[dem] = assigned
            # Zero-weight demand consumes no capacity: its nearest open site is as good as any.
            zero = np.setdiff1d(np.arange(m), dem)
            if len(zero):
                near, _ = self._nearest_open(open_mask)
                site_idx[zero] = near[zero]
        else:
            site_idx, _ = self._nearest_open(open_mask)
        has = site_idx >= 0
        objective = float((self.weights[has] * self.cost[np.flatnonzero(has), site_idx[has]]).sum())
        reasons = self._reasons(open_mask, site_idx, objective, capacitated)
        details = {"rounds": rounds, "rows": total_rows, "columns": total_cols,
                   "assignment_variables": int(k.sum()), "full_assignment_variables": int(reach.sum()),
                   "mip_gap": getattr(res, "mip_gap", None), "seconds": time.perf_counter() - t0}
        mean = objective / self.weights.sum() if self.weights.sum() > 0 else 0.0
        msg = (f"p-median ({status}): {int(open_mask.sum())} open site(s) ({int((open_mask & ~self.fixed).sum())} "
               f"new); total weighted cost {_num(objective)}, mean {mean:.4g}{self.unit} per person.")
        self.result = SitingResult(self.name, status, objective,
                                   self._site_frame(open_mask, site_idx, reasons),
                                   self._assignment_frame(site_idx, has), msg, [], None, details)
        return self.result

    def _solve_reduced(self, dem, order, sorted_cost, k, cap_k, capacitated, time_limit, mip_gap):
        """One solve with ``k[i]`` nearest candidates per demand point and a lower-bound dummy."""
        n = self.n_sites
        md = len(dem)
        w = self.weights[dem]
        rows_i = np.repeat(np.arange(md), k)
        pos = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
        pair_site = order[rows_i, pos]
        pair_cost = sorted_cost[rows_i, pos]
        npair = len(rows_i)
        truncated = k < cap_k
        dum_rows = np.flatnonzero(truncated)
        nd = len(dum_rows)
        # Cost of the dummy: the (k+1)-th smallest cost, a lower bound on every site left out.
        dum_cost = sorted_cost[dum_rows, k[dum_rows]]
        nv = n + npair + nd
        c = np.concatenate([np.zeros(n), w[rows_i] * pair_cost, w[dum_rows] * dum_cost])
        integrality = np.concatenate([np.ones(n), np.full(npair, 1.0 if capacitated else 0.0), np.zeros(nd)])
        lb = np.concatenate([self.fixed.astype(float), np.zeros(npair + nd)])
        ub = np.ones(nv)
        xi = n + np.arange(npair)
        ui = n + npair + np.arange(nd)
        assign = sp.csr_array((np.ones(npair + nd), (np.concatenate([rows_i, dum_rows]), np.concatenate([xi, ui]))),
                              shape=(md, nv))
        link = sp.csr_array((np.concatenate([np.ones(npair), -np.ones(npair)]),
                             (np.tile(np.arange(npair), 2), np.concatenate([xi, pair_site]))), shape=(npair, nv))
        count = sp.csr_array((np.ones(n), (np.zeros(n, dtype=int), np.arange(n))), shape=(1, nv))
        rows = [(assign, 1.0, 1.0), (link, -np.inf, 0.0), (count, self.p, self.p)]
        if capacitated:
            capa = sp.csr_array((np.concatenate([w[rows_i], -self.capacity]),
                                 (np.concatenate([pair_site, np.arange(n)]), np.concatenate([xi, np.arange(n)]))),
                                shape=(n, nv))
            rows.append((capa, -np.inf, 0.0))
        res, status = _run_milp(c, integrality, lb, ub, rows, time_limit, mip_gap)
        size = (sum(r[0].shape[0] for r in rows), nv)
        if res.x is None:
            return res, status, None, None, None, size
        x_open = _binary_open(res.x[:n])
        xs = res.x[xi]
        dummy_used = np.zeros(md, dtype=bool)
        dummy_used[dum_rows] = res.x[ui] > 1e-6
        assigned = np.full(md, -1)
        if capacitated:
            take = xs > 0.5
            assigned[rows_i[take]] = pair_site[take]
        return res, status, x_open, assigned, dummy_used, size

    def _reasons(self, open_mask, site_idx, objective, capacitated) -> dict:
        reasons = {}
        open_idx = np.flatnonzero(open_mask)
        for j in open_idx:
            mine = site_idx == j
            n_j, w_j = int(mine.sum()), float(self.weights[mine].sum())
            text = f"serves {n_j} demand point(s), population {_num(w_j)}"
            if not capacitated and len(open_idx) > 1 and n_j:
                others = open_idx[open_idx != j]
                fallback = self.cost[np.ix_(np.flatnonzero(mine), others)].min(axis=1)
                rise = float((self.weights[mine] * (fallback - self.cost[mine, j])).sum())
                if np.isfinite(rise):
                    share = rise / objective if objective > 0 else 0.0
                    text += f"; without it the total weighted cost would rise by {_num(rise)} ({share:.1%})"
                else:
                    text += "; some of its demand can reach no other open site"
            reasons[j] = ("existing facility, kept open; " if self.fixed[j] else "") + text
        return reasons


# --------------------------------------------------------------------------
# Candidate sites
# --------------------------------------------------------------------------

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
    """
    import geopandas as gpd
    import shapely

    from geoplan.layers import crs as _crs

    if not spacing_m > 0:
        raise SitingError(f"Grid spacing must be > 0 metres, got {spacing_m!r}.")
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
    """
    import geopandas as gpd

    if id_col not in townships.columns:
        raise SitingError(f"The township layer has no {id_col!r} column.")
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
    """
    import geopandas as gpd
    import shapely

    from geoplan.layers import crs as _crs

    xy = np.asarray(coords, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise SitingError(f"Node coordinates must be an (n, 2) array, got shape {xy.shape}.")
    site_ids = np.asarray([f"{prefix}{i + 1:05d}" for i in range(len(xy))] if ids is None else list(ids), dtype=object)
    out = gpd.GeoDataFrame({"site_id": site_ids}, geometry=shapely.points(xy), crs=crs)
    if min_spacing_m:
        metric = _crs.to_metric(out)
        cells = np.floor(np.column_stack([metric.geometry.x, metric.geometry.y]) / float(min_spacing_m))
        _, keep = np.unique(cells, axis=0, return_index=True)
        out = out.iloc[np.sort(keep)].reset_index(drop=True)
    return out


def combine_candidates(*layers, crs=None):
    """Stack candidate layers (existing facilities, seats, grid …) into one.

    Each input needs a ``site_id`` column; the result keeps ``site_id``, an
    ``origin`` column (position of the input layer) and every other column
    present, in ``crs`` or the CRS of the first layer.
    """
    import geopandas as gpd

    if not layers:
        raise SitingError("No candidate layers given.")
    target = crs or layers[0].crs
    parts = []
    for i, layer in enumerate(layers):
        if "site_id" not in layer.columns:
            raise SitingError(f"Candidate layer {i + 1} has no 'site_id' column.")
        part = layer.to_crs(target).copy()
        part["origin"] = i
        parts.append(part)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=target)
    if out["site_id"].duplicated().any():
        raise SitingError(f"Candidate site IDs repeat across layers: {_show(out.loc[out['site_id'].duplicated(), 'site_id'])}.")
    return out
