"""A proof for MCLP: branch and bound on Lagrangian bounds from interior-point LPs.

HiGHS's own MIP spends most of its time on hard MCLP instances at the root:
the dual simplex needs many thousand iterations on the degenerate LP, and
the cut rounds after it move the bound little. Here each node's LP is
solved by HiGHS's interior-point method without crossover (several times
faster), and only its coverage duals λ are used: the Lagrangian value

    L(λ) = Σ_i max(w_i − λ_i, 0) + Σ_{j forced open} r_j + (the k − #open largest r_j among the free sites),
    r_j = Σ_i λ_i a_ij,

is an upper bound on what the node's plans can cover for *any* λ ≥ 0, so the
proof never depends on the LP solver's accuracy. The same λ fixes sites
(closed where opening it bounds the node below the target, open where
closing it does), and branching on a fractional site does the rest; on the
5,000 × 500 instance of issue 18 a handful of nodes prove 1 %.
"""

from __future__ import annotations

import heapq
import time

import numpy as np
import scipy.sparse as sp

from geoplan.coverage.siting import solver
from geoplan.coverage.siting.solver import _highs_model, _mclp_swap, _mclp_value


def _lagrangian(at, w, k, lam, lo, hi):
    """``L(λ)`` at a node and, for each free site, the bound with it forced open / closed.

    Returns ``(L, free, up, down)``; ``L`` is −inf when the node has no plan.
    """
    red = at @ lam
    free = np.flatnonzero((lo == 0) & (hi == 1))
    r = k - int(lo.sum())
    if r < 0 or r > len(free):
        return -np.inf, free, None, None
    fr = red[free]
    order = np.argsort(-fr, kind="stable")
    total = float(np.maximum(w - lam, 0.0).sum() + red[lo == 1].sum() + fr[order[:r]].sum())
    kth = fr[order[r - 1]] if r > 0 else np.inf
    nxt = fr[order[r]] if r < len(free) else -np.inf
    top = np.zeros(len(free), dtype=bool)
    top[order[:r]] = True
    up = np.where(top, total, total - kth + fr)        # the site forced open
    down = np.where(top, total - fr + nxt, total)      # the site forced closed
    return total, free, up, down


def mclp_branch_and_bound(a: sp.csr_array, w: np.ndarray, k: int, best: np.ndarray, best_val: float,
                          mip_gap: float, deadline: float, max_nodes: int = 5000):
    """Improve the plan ``best`` and prove an upper bound within ``mip_gap`` of it, until ``deadline``.

    Maximises Σ w_i·[row i covered] with exactly ``k`` open columns of ``a``.
    Returns ``(plan, value, bound, nodes)``: ``bound`` is a proven upper
    bound on every plan (at least ``value``), whether or not the search
    finished; None when highspy is missing.

    Examples
    --------
    >>> a = sp.csr_array(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 0]]))
    >>> w = np.array([300., 200., 100., 400.])
    >>> plan, value, bound, nodes = mclp_branch_and_bound(a, w, 1, np.array([True, False, False]), 500.0,
    ...                                                   0.0, time.perf_counter() + 10)
    >>> np.flatnonzero(plan).tolist(), value, bound
    ([1], 600.0, 600.0)
    """
    if solver.highspy is None:
        return best, best_val, None, 0
    m, n = a.shape
    max_nodes = min(max_nodes, max(50, int(2e8 / max(m, 1))))   # the open nodes' λ stay under ~1 GB
    at = sp.csr_array(a.T)
    scale = float(w.max(initial=0.0)) or 1.0
    # min −w·z/scale with z_i ≤ Σ_j a_ij y_j and Σ y = k, all in [0, 1].
    h = _highs_model(np.concatenate([np.zeros(n), -w / scale]), None, np.zeros(n + m), np.ones(n + m),
                     [(sp.hstack([-a, sp.eye_array(m)], format="csr"), -np.inf, 0.0),
                      (sp.csr_array(np.concatenate([np.ones(n), np.zeros(m)])[None, :]), k, k)])
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    cols = np.arange(n, dtype=np.int32)
    tol = 1e-9 * max(1.0, abs(best_val))
    state = {"best": best.copy(), "val": float(best_val), "closed": -np.inf}

    def target():
        return state["val"] * (1.0 + mip_gap) + tol

    def try_plan(y, lo, hi):
        # Round the LP point (forced sites first) and let the swaps polish it briefly.
        score = np.where(hi == 0, -1.0, y) + 2.0 * lo
        plan = np.zeros(n, dtype=bool)
        plan[np.argsort(-score, kind="stable")[:k]] = True
        plan = _mclp_swap(a, at, w, plan, min(deadline, time.perf_counter() + 0.5))
        v = _mclp_value(a, w, plan)
        if v > state["val"]:
            state["best"], state["val"] = plan, v

    def evaluate(lo, hi, lam):
        """Bound a node, fixing what λ allows; λ from its LP when there is time, else the parent's."""
        y = None
        left = deadline - time.perf_counter()
        if left > 0.05:
            h.changeColsBounds(n, cols, lo.astype(float), hi.astype(float))
            h.setOptionValue("time_limit", float(left))
            h.run()
            sol = h.getSolution()
            dual = np.asarray(sol.row_dual, dtype=float)[:m]
            if len(dual) == m and np.isfinite(dual).all():
                mine = np.clip(-dual * scale, 0.0, w)
                # An LP stopped by the deadline may give poor duals: keep the parent's if they bound better.
                if _lagrangian(at, w, k, mine, lo, hi)[0] <= _lagrangian(at, w, k, lam, lo, hi)[0]:
                    lam = mine
                y = np.asarray(sol.col_value, dtype=float)[:n]
        while True:
            bound, free, up, down = _lagrangian(at, w, k, lam, lo, hi)
            if up is None or bound <= target():
                return bound, lo, hi, y, lam
            shut, keep = up <= target(), down <= target()
            if not (shut.any() or keep.any()):
                return bound, lo, hi, y, lam
            # What the fixing leaves out is bounded by up/down: it joins the closed part.
            state["closed"] = max(state["closed"], up[shut].max(initial=-np.inf), down[keep].max(initial=-np.inf))
            lo, hi = lo.copy(), hi.copy()
            hi[free[shut]] = 0
            lo[free[keep]] = 1

    heap, count, nodes = [], 0, 0

    def push(bound, lo, hi, y, lam):
        nonlocal count
        if y is not None and time.perf_counter() < deadline:
            try_plan(y, lo, hi)
        if bound <= target():
            state["closed"] = max(state["closed"], bound)
            return
        free = np.flatnonzero((lo == 0) & (hi == 1))
        if len(free) == 0:
            # Every site decided: the node is one plan, counted exactly.
            v = _mclp_value(a, w, lo == 1)
            if v > state["val"]:
                state["best"], state["val"] = lo == 1, v
            state["closed"] = max(state["closed"], v)
            return
        # λ kept in single precision: any λ ≥ 0 gives a valid bound, and open nodes hold one each.
        heapq.heappush(heap, (-bound, count, lo, hi, y, lam.astype(np.float32)))
        count += 1

    lam0 = 0.5 * w
    push(*evaluate(np.zeros(n), np.ones(n), lam0))
    nodes = 1
    while heap and nodes < max_nodes and time.perf_counter() < deadline:
        neg, _, lo, hi, y, lam = heapq.heappop(heap)
        lam = lam.astype(float)
        if -neg <= target():
            state["closed"] = max(state["closed"], -neg)
            continue
        free = np.flatnonzero((lo == 0) & (hi == 1))
        # Branch on the most fractional free site (without an LP point: the first free one).
        j = free[np.argmax(np.minimum(y[free], 1.0 - y[free]))] if y is not None else free[0]
        for v in (1, 0):
            lo2, hi2 = lo.copy(), hi.copy()
            lo2[j] = hi2[j] = v
            push(*evaluate(lo2, hi2, lam))
            nodes += 1
    bound = max([state["val"], state["closed"]] + [-e[0] for e in heap])
    return state["best"], state["val"], bound, nodes
