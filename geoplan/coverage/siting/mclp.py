"""Maximal covering (MCLP): the p sites covering the most population."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from geoplan.coverage.siting.base import (
    _REL_EPS, _binary_open, _Model, _num, _show, _unique_cover, SitingError, SitingResult,
)
from geoplan.coverage.siting.branch import mclp_branch_and_bound
from geoplan.coverage.siting.solver import _run_milp, dominated_columns, mclp_heuristic, relative_gap
from geoplan.i18n import _


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

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> cost = pd.DataFrame([[0, 5, 9], [4, 0, 7], [9, 6, 0], [12, 3, 8]],  # minutes, villages × sites
    ...                     index=["甲村", "乙村", "丙村", "丁村"], columns=["S1", "S2", "S3"])
    >>> people = [300, 200, 100, 400]

    >>> r = MCLP.from_cost_matrix(cost, people, 5, p_facilities=1).solve()
    >>> r.objective, r.selected  # S2 reaches 甲, 乙, 丁 in 5 minutes; S1 only 甲, 乙
    (900.0, ['S2'])
    >>> MCLP.from_cost_matrix(cost, people, 5, n_new=1, fixed=[True, False, False]).solve().new_sites
    ['S2']
    """

    name = "mclp"

    def __init__(self, cost, weights, service_radius: float, p_facilities: int | None = None, *,
                 n_new: int | None = None, fixed=None, demand_ids=None, site_ids=None, value: str | None = None,
                 unit: str = ""):
        if weights is None:
            raise SitingError(_("MCLP needs the population (weight) of each demand point."))
        super().__init__(cost, demand_ids, site_ids, weights, fixed, None, value)
        if not (service_radius >= 0):
            raise SitingError(_("The service radius must be a number ≥ 0, got {radius!r}.").format(
                radius=service_radius))
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
        bound_gap = 0.0
        if g == 0 or k == 0:
            chosen = np.zeros(nf, dtype=bool)
            if k:
                # Nothing left to cover: any k free sites reach the same objective.
                chosen[:k] = True
            status = "optimal"
        else:
            chosen, status, bound_gap = self._solve_groups(ga, gw, k, nf, time_limit, mip_gap, t0, details)
            if chosen is None:
                return self._empty_result(status, f"HiGHS found no plan ({status}).", self.demand_ids[bad].tolist(),
                                          details)
        open_mask = self.fixed.copy()
        open_mask[free[chosen]] = True
        details["seconds"] = time.perf_counter() - t0
        site_idx, _ = self._nearest_open(open_mask, self.service_radius * (1 + _REL_EPS))
        covered = site_idx >= 0
        objective = float(self.weights[covered].sum())
        # The gap was measured on the grouped demand; relative to the whole objective here.
        details["gap"] = None if bound_gap is None else (bound_gap / objective if objective > 0 else 0.0)
        details["bound"] = None if bound_gap is None else objective + bound_gap
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
        if status != "optimal" and details["gap"] is not None:
            msg += (f" Best plan found in the time allowed: at most {details['gap']:.2%} below the best possible "
                    f"(proven bound: population {_num(details['bound'])}).")
        if len(bad):
            msg += f" {len(bad)} demand point(s) have no candidate within reach ({_show(self.demand_ids[bad], 10)})."
        self.result = SitingResult(self.name, status, objective,
                                   self._site_frame(open_mask, site_idx, reasons, uniq_n, uniq_w),
                                   self._assignment_frame(site_idx, covered), msg, self.demand_ids[bad].tolist(),
                                   None, details)
        return self.result

    def _solve_groups(self, ga, gw, k, nf, time_limit, mip_gap, t0, details):
        """Open ``k`` of the ``nf`` free sites to cover the most group weight ``gw``.

        A heuristic plan and the Lagrangian bound first; when their gap
        exceeds ``mip_gap``, the Lagrangian branch and bound (three quarters
        of the time left), then the MIP warm started from the best plan.
        Returns the chosen mask over the free sites (None if nothing was
        found), the status, and the proven gap in population (None if unknown).
        """
        drop = dominated_columns(ga)
        keep = np.flatnonzero(~drop)
        if len(keep) < k:
            keep = np.arange(nf)
        details["dominated_sites"] = int(nf - len(keep))
        a = sp.csr_array(ga[:, keep])
        # Heuristic time: a quarter of the limit, at most 15 s (it stops early once the plan meets the bound).
        budget = 15.0 if time_limit is None else max(0.0, min(15.0, 0.25 * time_limit))
        h_chosen, h_val, bound = mclp_heuristic(a, gw, k, seconds=budget)
        details["heuristic_objective"] = h_val
        details["heuristic_seconds"] = time.perf_counter() - t0
        gap = relative_gap(h_val, bound)
        chosen_k, best_val, status = h_chosen, h_val, "optimal"
        if gap is None or gap > mip_gap:
            # Lagrangian branch and bound first (it proves hard instances far sooner than HiGHS's
            # root alone); HiGHS's MIP with what time is left if it has not closed the gap.
            left = 120.0 if time_limit is None else 0.75 * (time_limit - (time.perf_counter() - t0))
            chosen_k, best_val, bb_bound, details["nodes"] = mclp_branch_and_bound(
                a, gw, k, chosen_k, best_val, mip_gap, time.perf_counter() + max(left, 0.0))
            if bb_bound is not None:
                bound = min(bound, bb_bound)
            details["branch_seconds"] = time.perf_counter() - t0
            gap = relative_gap(best_val, bound)
        # (The branch and bound prunes with a relative tolerance of 1e-9.)
        if gap is None or gap > mip_gap + 1e-9:
            g, nk = len(gw), len(keep)
            remaining = None if time_limit is None else max(0.01, time_limit - (time.perf_counter() - t0))
            c = np.concatenate([np.zeros(nk), -gw])
            integrality = np.concatenate([np.ones(nk), np.zeros(g)])
            link = sp.hstack([-a, sp.eye_array(g)], format="csr")  # c_g ≤ Σ covering y
            count = sp.csr_array(np.concatenate([np.ones(nk), np.zeros(g)])[None, :])
            x0 = np.concatenate([chosen_k.astype(float), ((a @ chosen_k.astype(float)) > 0).astype(float)])
            res, status = _run_milp(c, integrality, np.zeros(nk + g), np.ones(nk + g),
                                    [(link, -np.inf, 0.0), (count, k, k)], remaining, mip_gap, x0=x0)
            details["mip_gap"] = res.mip_gap
            if res.x is not None:
                mip_chosen = _binary_open(res.x[:nk])
                v = _mclp_value(a, gw, mip_chosen)
                if v >= best_val:
                    chosen_k, best_val = mip_chosen, v
            if res.bound is not None:
                bound = min(bound, -res.bound)
            if status != "optimal":
                # Time limit, or a solver failure: the heuristic plan stands, with its gap.
                status = "time_limit"
        bound = max(bound, best_val)
        gap_abs = bound - best_val
        if status != "optimal" and gap_abs <= mip_gap * max(best_val, 1e-300):
            status = "optimal"
        chosen = np.zeros(nf, dtype=bool)
        chosen[keep[chosen_k]] = True
        return chosen, status, gap_abs


def _mclp_value(a, w, chosen):
    return float(w[(a @ chosen.astype(float)) > 0].sum())
