"""Maximal covering (MCLP): the p sites covering the most population."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from geoplan.coverage.siting.base import (
    _REL_EPS, _binary_open, _Model, _num, _show, _unique_cover, SitingError, SitingResult,
)
from geoplan.coverage.siting.solver import _run_milp


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

