"""p-median: the p sites with the least population-weighted travel cost."""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from geoplan.coverage.siting.base import (
    _MAX_PMEDIAN_ROUNDS, _REL_EPS, _binary_open, _Model, _num, _show, SitingError, SitingResult,
)
from geoplan.coverage.siting.solver import _run_milp, pmedian_heuristic, pmedian_lagrangian_bound, relative_gap
from geoplan.i18n import _


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

    Examples
    --------
    Four villages of 300, 200, 100 and 400 people, three candidate sites (an array: IDs are positions):

    >>> cost = np.array([[0, 5, 9], [4, 0, 7], [9, 6, 0], [12, 3, 8]])  # minutes
    >>> r = PMedian.from_cost_matrix(cost, [300, 200, 100, 400], p_facilities=1).solve()
    >>> r.objective, r.selected  # 300·5 + 200·0 + 100·6 + 400·3
    (3300.0, [1])
    >>> PMedian.from_cost_matrix(cost, [300, 200, 100, 400], p_facilities=2).solve().selected
    [0, 1]
    """

    name = "pmedian"

    def __init__(self, cost, weights, p_facilities: int | None = None, *, n_new: int | None = None, fixed=None,
                 capacity=None, demand_ids=None, site_ids=None, value: str | None = None, unit: str = "",
                 initial_k: int | None = None):
        if weights is None:
            raise SitingError(_("PMedian needs the population (weight) of each demand point."))
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
        # A good plan and a lower bound before any MIP (uncapacitated): the
        # MIP starts from the plan and is skipped when the gap is already small enough.
        heur_open, heur_val, lower = None, np.inf, None
        if not capacitated:
            budget = 10.0 if time_limit is None else max(0.0, min(10.0, 0.2 * time_limit))
            heur_open, heur_val = pmedian_heuristic(cost, self.weights[dem], self.p, self.fixed.copy(), budget)
            # An exact solve without a time limit leaves the proof to the MIP: a short run of the
            # bound still gives a gap should the MIP fail.
            exact = time_limit is None and mip_gap == 0
            lower = pmedian_lagrangian_bound(cost, self.weights[dem], self.p, self.fixed, heur_val,
                                             iters=300 if exact else 2000, seconds=2 * budget)
        heur_seconds = time.perf_counter() - t0
        rounds = 0
        total_rows = total_cols = 0
        res, x_open, status = None, None, "optimal"
        gap = relative_gap(heur_val, lower) if heur_open is not None else None
        if gap is None or gap > mip_gap:
            while True:
                rounds += 1
                if rounds > _MAX_PMEDIAN_ROUNDS:
                    k = cap_k.copy()
                remaining = None if time_limit is None else max(0.01, time_limit - (time.perf_counter() - t0))
                res, status, x_open, assigned, dummy_used, size = self._solve_reduced(
                    dem, order, sorted_cost, k, cap_k, capacitated, remaining, mip_gap, heur_open)
                total_rows, total_cols = size
                if res is not None and res.bound is not None:
                    # The reduced model's bound is a bound of the full model (see the module notes).
                    lower = res.bound if lower is None else max(lower, res.bound)
                if res is None or res.x is None:
                    if heur_open is not None:
                        status = "time_limit"
                        break
                    details = {"rounds": rounds, "rows": total_rows, "columns": total_cols}
                    msg = (f"HiGHS found no plan ({status})." if status != "infeasible" else
                           "The capacities cannot be arranged so that every demand point is served whole by one "
                           "open site. Open more sites or raise capacities.")
                    return self._empty_result(status, msg, details=details)
                if status != "optimal":
                    status = "time_limit"
                    break
                if not dummy_used.any() or (k >= cap_k).all():
                    break
                # Grow the candidate lists of the demand that fell outside them, at least far enough to
                # reach the site the current plan would really send it to.
                rows = np.flatnonzero(dummy_used)
                open_sorted = x_open[order[rows]] & np.isfinite(sorted_cost[rows])
                rank = np.where(open_sorted.any(axis=1), np.argmax(open_sorted, axis=1) + 1, cap_k[rows])
                k[rows] = np.minimum(cap_k[rows], np.maximum(2 * k[rows], rank))
        open_mask = x_open
        if heur_open is not None and (x_open is None or _plan_cost(cost, self.weights[dem], x_open) > heur_val):
            open_mask = heur_open
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
        if status == "optimal" and rounds and lower is not None:
            lower = max(lower, min(objective, res.fun if res.fun is not None else objective))
        gap = relative_gap(objective, lower)
        if status != "optimal" and gap is not None and gap <= mip_gap:
            status = "optimal"
        reasons = self._reasons(open_mask, site_idx, objective, capacitated)
        details = {"rounds": rounds, "rows": total_rows, "columns": total_cols,
                   "assignment_variables": int(k.sum()), "full_assignment_variables": int(reach.sum()),
                   "mip_gap": getattr(res, "mip_gap", None), "seconds": time.perf_counter() - t0,
                   "heuristic_objective": None if heur_open is None else heur_val,
                   "heuristic_seconds": heur_seconds, "bound": lower, "gap": gap}
        mean = objective / self.weights.sum() if self.weights.sum() > 0 else 0.0
        msg = (f"p-median ({status}): {int(open_mask.sum())} open site(s) ({int((open_mask & ~self.fixed).sum())} "
               f"new); total weighted cost {_num(objective)}, mean {mean:.4g}{self.unit} per person.")
        if status != "optimal" and gap is not None:
            msg += (f" Best plan found in the time allowed: at most {gap:.2%} above the least possible cost "
                    f"(proven bound {_num(lower)}).")
        self.result = SitingResult(self.name, status, objective,
                                   self._site_frame(open_mask, site_idx, reasons),
                                   self._assignment_frame(site_idx, has), msg, [], None, details)
        return self.result

    def _solve_reduced(self, dem, order, sorted_cost, k, cap_k, capacitated, time_limit, mip_gap, start=None):
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
        x0 = None
        if start is not None:
            # The starting plan in this model: each demand point to its nearest open site, through the
            # "farther away" variable when that site is not among its k nearest.
            open_sorted = start[order] & np.isfinite(sorted_cost)
            rank = np.argmax(open_sorted, axis=1)
            listed = rank < k
            x0 = np.zeros(nv)
            x0[:n] = start
            x0[n + (np.cumsum(k) - k)[listed] + rank[listed]] = 1.0
            x0[n + npair + np.searchsorted(dum_rows, np.flatnonzero(~listed))] = 1.0
        res, status = _run_milp(c, integrality, lb, ub, rows, time_limit, mip_gap, x0=x0)
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


def _plan_cost(cost, w, open_mask) -> float:
    """Weighted cost of serving every demand row from its nearest open site."""
    return float((w * cost[:, open_mask].min(axis=1)).sum())
