"""Location set covering (LSCP): the fewest sites covering every demand point."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.coverage.siting.base import (
    _REL_EPS, _binary_open, _Model, _num, _reduce_set_cover, _show, _unique_cover, SitingError, SitingResult,
)
from geoplan.coverage.siting.solver import _run_milp
from geoplan.i18n import _


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

    Examples
    --------
    Three villages, three candidate sites, minutes by road (a wide table; IDs from its labels):

    >>> cost = pd.DataFrame({"S1": [0, 4, 9], "S2": [5, 0, 6], "S3": [9, 7, 0]}, index=["甲村", "乙村", "丙村"])
    >>> r = LSCP.from_cost_matrix(cost, 5).solve()  # every village within 5 minutes
    >>> r.status, r.objective, r.selected
    ('optimal', 2.0, ['S1', 'S3'])
    >>> LSCP.from_cost_matrix(cost, 5, fixed=[False, True, False]).solve().selected  # S2 exists already
    ['S2', 'S3']
    """

    name = "lscp"

    def __init__(self, cost, service_radius: float, *, fixed=None, weights=None, capacity=None,
                 partial: bool = False, demand_ids=None, site_ids=None, value: str | None = None,
                 unit: str = ""):
        super().__init__(cost, demand_ids, site_ids, weights, fixed, capacity, value)
        if not (service_radius >= 0):
            raise SitingError(_("The service radius must be a number ≥ 0, got {radius!r}.").format(
                radius=service_radius))
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

