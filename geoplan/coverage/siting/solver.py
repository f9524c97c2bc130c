"""Solving the siting MIPs: HiGHS with a warm start, and the heuristics and
bounds that give a good plan and a proven gap before (or without) the MIP.

* :func:`_run_milp` solves with HiGHS through ``highspy`` when it is
  installed — the only interface that takes a starting plan — and through
  :func:`scipy.optimize.milp` (the same solver, no warm start) otherwise. It
  returns the solver's best objective and its proven (dual) bound.
* MCLP: greedy then best-improvement swaps (close one site, open another),
  restarted from the plans of a Lagrangian relaxation whose value is also an
  upper bound on the population any ``k`` sites can cover.
* p-median: greedy then swaps (Whitaker's fast interchange, vectorised over
  all pairs), and the Lagrangian lower bound obtained by relaxing "every
  demand point is assigned once".

Both Lagrangian bounds are valid at every multiplier, so a gap can be
reported whatever happens to the MIP (time limit, no incumbent).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan.coverage.siting import base

try:  # HiGHS's own interface: takes a starting plan (scipy's milp does not)
    import highspy
    import highspy._core
except ImportError:  # pragma: no cover - highspy is in install_requires
    highspy = None


def _run_milp(c, integrality, lb, ub, rows, time_limit, mip_gap, x0=None):
    """Solve ``min c·x`` with HiGHS; ``rows`` is a list of (sparse matrix, lower, upper).

    Returns ``(res, status)``: ``res.x`` the best solution or None,
    ``res.fun`` its objective, ``res.bound`` the proven lower bound (None if
    the solver stopped before having one), ``res.mip_gap``; ``status`` one
    of ``optimal``, ``time_limit``, ``infeasible``, ``error``. ``x0`` is a
    feasible starting solution, used when highspy is available.
    """
    # Population × metres reaches 1e9; HiGHS works best with objective coefficients near 1.
    scale = float(np.abs(c).max(initial=0.0))
    scale = scale if scale > 0 else 1.0
    c = c / scale
    rows = [(sp.csr_array(a), lo, hi) for a, lo, hi in rows if a.shape[0]]
    if highspy is None:
        return _run_scipy(c, integrality, lb, ub, rows, time_limit, mip_gap, scale)
    h = _highs_model(c, integrality, lb, ub, rows)
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    if x0 is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, x0))
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    model_status = h.getModelStatus()
    has_x = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_x else None
    ms = highspy.HighsModelStatus
    if model_status == ms.kOptimal and has_x:
        status = "optimal"
    elif model_status == ms.kInfeasible:
        status = "infeasible"
    elif has_x:
        status = "time_limit"
    else:
        status = "error" if model_status not in (ms.kTimeLimit, ms.kInterrupt) else "time_limit"
    bound = info.mip_dual_bound
    bound = float(bound) * scale if np.isfinite(bound) else None
    res = SimpleNamespace(x=x, fun=float(info.objective_function_value) * scale if has_x else None,
                          bound=bound, mip_gap=float(info.mip_gap) if has_x else None)
    return res, status


def _highs_model(c, integrality, lb, ub, rows):
    """A silent ``highspy`` model of ``min c·x`` over ``rows`` (list of (sparse matrix, lower, upper)).

    ``integrality`` None gives the LP.
    """
    n = len(c)
    a = sp.vstack([r[0] for r in rows], format="csr") if rows else sp.csr_array((0, n))
    lo = np.concatenate([np.broadcast_to(np.asarray(r[1], float), (r[0].shape[0],)) for r in rows]) if rows \
        else np.zeros(0)
    hi = np.concatenate([np.broadcast_to(np.asarray(r[2], float), (r[0].shape[0],)) for r in rows]) if rows \
        else np.zeros(0)
    # The bare binding: highspy.Highs() prints a banner on stdout (computation never prints).
    h = getattr(highspy._core, "_Highs", highspy.Highs)()
    h.setOptionValue("output_flag", bool(base._DISP))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, a.shape[0]
    lp.col_cost_ = np.asarray(c, float)
    lp.col_lower_, lp.col_upper_ = np.asarray(lb, float), np.asarray(ub, float)
    lp.row_lower_, lp.row_upper_ = lo, hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, a.shape[0]
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    if integrality is not None:
        kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
        lp.integrality_ = [kinds[int(v)] for v in integrality]
    h.passModel(lp)
    return h


def _run_scipy(c, integrality, lb, ub, rows, time_limit, mip_gap, scale):
    constraints = [LinearConstraint(a, lo, hi) for a, lo, hi in rows]
    options = {"disp": base._DISP, "mip_rel_gap": mip_gap}
    if time_limit is not None:
        options["time_limit"] = float(max(time_limit, 0.01))
    res = milp(c, integrality=integrality, bounds=Bounds(lb, ub), constraints=constraints, options=options)
    if res.status == 0:
        status = "optimal"
    elif res.status == 1 and res.x is not None:
        status = "time_limit"
    elif res.status == 2:
        status = "infeasible"
    else:
        status = "error"
    bound = getattr(res, "mip_dual_bound", None)
    bound = float(bound) * scale if bound is not None and np.isfinite(bound) else None
    return SimpleNamespace(x=res.x, fun=None if res.x is None else float(res.fun) * scale, bound=bound,
                           mip_gap=getattr(res, "mip_gap", None)), status


def relative_gap(objective: float, bound: float | None) -> float | None:
    """``|bound − objective| / |objective|`` (0 when both are 0), None without a bound.

    Examples
    --------
    >>> relative_gap(95.0, 100.0), relative_gap(0.0, 0.0), relative_gap(10.0, None)
    (0.05263157894736842, 0.0, None)
    """
    if bound is None or objective is None or not np.isfinite(bound):
        return None
    diff = max(abs(bound - objective), 0.0)
    return 0.0 if diff == 0 else diff / max(abs(objective), 1e-300)


# --------------------------------------------------------------------------
# MCLP: k sites covering the most weight (rows = demand groups, columns = sites)
# --------------------------------------------------------------------------

def _mclp_value(a: sp.csr_array, w: np.ndarray, chosen: np.ndarray) -> float:
    return float(w[(a @ chosen.astype(float)) > 0].sum())


def _mclp_swap(a: sp.csr_array, at: sp.csr_array, w: np.ndarray, chosen: np.ndarray, deadline: float):
    """Best-improvement swaps until no swap of one open site for one closed one covers more."""
    chosen = chosen.copy()
    while time.perf_counter() < deadline:
        cnt = a @ chosen.astype(float)
        gain = at @ (w * (cnt == 0))        # newly covered by opening a site
        once = w * (cnt == 1)
        loss = at @ once                   # lost by closing an open site
        oi = np.flatnonzero(chosen)
        # Rows covered once by an open site and also by the entering site are not lost.
        keep = at @ sp.csc_array(a.multiply(once[:, None]))[:, oi]
        keep = keep.toarray() if sp.issparse(keep) else np.asarray(keep)
        delta = gain[:, None] - loss[oi][None, :] + keep
        delta[oi, :] = -np.inf
        j, o = np.unravel_index(np.argmax(delta), delta.shape)
        if not delta[j, o] > 1e-9 * max(1.0, float(w.sum())):
            break
        chosen[oi[o]] = False
        chosen[j] = True
    return chosen


def mclp_heuristic(a: sp.csr_array, w: np.ndarray, k: int, seconds: float = 5.0, iters: int = 3000,
                   seed: int = 0):
    """A good plan and an upper bound for max Σ w·covered with ``k`` open columns.

    Returns ``(chosen mask, value, bound)``. The bound is the best value of
    the Lagrangian relaxation of the coverage rows (as strong as the LP).

    Examples
    --------
    Rows are demand points, columns candidate sites, 1 where a site covers a point:

    >>> import scipy.sparse as sp
    >>> a = sp.csr_array(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 0]]))
    >>> chosen, value, bound = mclp_heuristic(a, np.array([300., 200., 100., 400.]), 1)
    >>> np.flatnonzero(chosen).tolist(), value, bound
    ([1], 600.0, 600.0)
    """
    t0 = time.perf_counter()
    deadline = t0 + seconds
    m, n = a.shape
    at = sp.csr_array(a.T)
    # Greedy.
    chosen = np.zeros(n, dtype=bool)
    covered = np.zeros(m, dtype=bool)
    for _ in range(k):
        g = at @ (w * ~covered)
        g[chosen] = -1.0
        j = int(np.argmax(g))
        chosen[j] = True
        covered |= (a[:, [j]].toarray().ravel() > 0)
    best = _mclp_swap(a, at, w, chosen, deadline)
    best_val = _mclp_value(a, w, best)
    # Lagrangian: max Σ (w−λ)·y + Σ_j (Σ_i λ_i a_ij) x_j, y ≤ 1, Σx = k, x ≤ 1.
    # Polyak steps aim a little below the first plan's value (a fixed target
    # converged fastest); every 100th Lagrangian plan seeds the local search below.
    lam = 0.5 * w
    bound = float(w.sum())
    target = 0.97 * best_val
    step, stall = 1.0, 0
    seeds = {}
    for it in range(iters):
        red = at @ lam
        top = np.argpartition(-red, k - 1)[:k] if k < n else np.arange(n)
        val = float(np.maximum(w - lam, 0).sum() + red[top].sum())
        if val < bound - 1e-9:
            bound, stall = val, 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2, 0
        x = np.zeros(n, dtype=bool)
        x[top] = True
        if it % 100 == 0:
            seeds.setdefault(x.tobytes(), x)
        sub = (a @ x.astype(float)) - (w > lam)
        norm = float((sub * sub).sum())
        if norm == 0 or step < 1e-6 or bound - best_val <= 1e-9 * max(1.0, bound):
            break
        lam = np.clip(lam - step * max(bound - target, 1e-9 * bound) / norm * sub, 0.0, w)
    for x in seeds.values():
        if time.perf_counter() >= deadline:
            break
        cand = _mclp_swap(a, at, w, x, deadline)
        v = _mclp_value(a, w, cand)
        if v > best_val:
            best, best_val = cand, v
    # Iterated local search with what time is left: move a few sites of the
    # best plan at random and let the swaps settle again.
    rng = np.random.default_rng(seed)
    idle = 0
    # Until the time is up, the plan meets the bound, or 50 kicks in a row found nothing better
    # (small models with an integrality gap would otherwise spin for the whole budget).
    while k < n and idle < 50 and time.perf_counter() < deadline and bound - best_val > 1e-9 * max(1.0, bound):
        idle += 1
        x = best.copy()
        r = min(3, k, n - k)
        x[rng.choice(np.flatnonzero(x), r, replace=False)] = False
        x[rng.choice(np.flatnonzero(~best), r, replace=False)] = True
        cand = _mclp_swap(a, at, w, x, deadline)
        v = _mclp_value(a, w, cand)
        if v > best_val:
            best, best_val, idle = cand, v, 0
    return best, best_val, max(bound, best_val)


def dominated_columns(a: sp.csr_array) -> np.ndarray:
    """Columns whose covered rows are a subset of another column's (the first of equal ones stays).

    In MCLP such a site can always be replaced by the one dominating it
    without covering less, so leaving it out keeps the optimum.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> dominated_columns(sp.csr_array(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])))
    array([ True, False, False])
    """
    c = sp.csc_array(a)
    n = c.shape[1]
    size = np.diff(c.indptr)
    if n > 5000 or c.nnz == 0:
        return np.zeros(n, dtype=bool)
    inter = (c.T @ c).toarray()
    contains = inter == size[None, :]          # contains[k, j]: rows of j ⊆ rows of k
    np.fill_diagonal(contains, False)
    idx = np.arange(n)
    strict = size[:, None] > size[None, :]
    equal_first = (size[:, None] == size[None, :]) & (idx[:, None] < idx[None, :])
    return (contains & (strict | equal_first)).any(axis=0)


# --------------------------------------------------------------------------
# p-median (uncapacitated)
# --------------------------------------------------------------------------

def _pmedian_value(cost, w, open_mask) -> float:
    near = cost[:, open_mask].min(axis=1)
    return float((w * near).sum())


def pmedian_heuristic(cost: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray, seconds: float = 10.0):
    """Greedy + fast-interchange swaps for the uncapacitated p-median.

    ``cost`` may hold ``inf`` (unreachable). Fixed sites stay open. Returns
    ``(open mask, value)``; value is inf when some demand reaches no open site.

    Examples
    --------
    >>> cost = np.array([[0, 5, 9], [4, 0, 7], [9, 6, 0], [12, 3, 8]], float)
    >>> w = np.array([300., 200., 100., 400.])
    >>> pmedian_heuristic(cost, w, 1, np.zeros(3, bool))
    (array([False,  True, False]), 3300.0)
    """
    deadline = time.perf_counter() + seconds
    m, n = cost.shape
    big = np.where(np.isfinite(cost), cost, np.nan)
    finite_max = np.nanmax(big) if np.isfinite(big).any() else 1.0
    # Unreachable pairs cost far more than any real one, so the search avoids them.
    c = np.where(np.isfinite(cost), cost, 10.0 * (finite_max + 1.0) * max(1, m))
    open_mask = fixed.copy()
    d1 = c[:, open_mask].min(axis=1) if open_mask.any() else np.full(m, np.inf)
    while open_mask.sum() < p:
        gain = (w[:, None] * np.maximum(d1[:, None] - c, 0.0)).sum(axis=0) if np.isfinite(d1).all() \
            else -(w[:, None] * np.minimum(c, d1[:, None])).sum(axis=0)
        gain[open_mask] = -np.inf
        j = int(np.argmax(gain))
        open_mask[j] = True
        d1 = np.minimum(d1, c[:, j])
    while time.perf_counter() < deadline:
        oi = np.flatnonzero(open_mask)
        sub = c[:, oi]
        part = np.argpartition(sub, 1, axis=1)[:, :2] if len(oi) > 1 else np.zeros((m, 2), dtype=int)
        r = np.arange(m)
        first = np.where(sub[r, part[:, 0]] <= sub[r, part[:, 1]], part[:, 0], part[:, 1])
        second = np.where(first == part[:, 0], part[:, 1], part[:, 0])
        d1 = sub[r, first]
        d2 = sub[r, second] if len(oi) > 1 else np.full(m, np.inf)
        # Opening j changes i's cost to min(c_ij, d1) − d1 if its nearest stays
        # open, and to min(c_ij, d2) − d1 if its nearest is the one closed.
        add = (w[:, None] * (np.minimum(c, d1[:, None]) - d1[:, None])).sum(axis=0)       # (n,)
        extra = w[:, None] * (np.minimum(c, d2[:, None]) - np.minimum(c, d1[:, None]))      # (m, n)
        owner = sp.csr_array((np.ones(m), (first, r)), shape=(len(oi), m))
        delta = add[None, :] + owner @ extra                                                # (open, n)
        delta[:, open_mask] = np.inf
        delta[fixed[oi], :] = np.inf
        o, j = np.unravel_index(np.argmin(delta), delta.shape)
        if not delta[o, j] < -1e-9 * max(1.0, float((w * d1).sum())):
            break
        open_mask[oi[o]] = False
        open_mask[j] = True
    value = _pmedian_value(cost, w, open_mask)
    return open_mask, value


def pmedian_lagrangian_bound(cost: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray, upper: float,
                             iters: int = 2000, seconds: float = 10.0, near: int = 64) -> float:
    """Lower bound on the p-median optimum: relax "each demand assigned once" with multipliers λ.

    L(λ) = Σλ_i + Σ_{j open} Σ_i min(0, w_i c_ij − λ_i), the open sites being
    the fixed ones and the ``p − n_fixed`` others with the most negative sums.
    Every λ gives a valid bound; subgradient steps (Polyak's, towards
    ``upper``, the cost of a known plan) push it up towards the LP value.
    λ_i is kept at most ``w_i`` × its ``near + 1``-th smallest cost, so only
    the ``near`` nearest sites of each demand point can have a negative term
    and the rest need not be looked at: each step costs ``m × near``.

    Examples
    --------
    >>> cost = np.array([[0, 5, 9], [4, 0, 7], [9, 6, 0], [12, 3, 8]], float)
    >>> w = np.array([300., 200., 100., 400.])
    >>> bound = pmedian_lagrangian_bound(cost, w, 1, np.zeros(3, bool), upper=3300.0)
    >>> bound <= 3300.0, round(bound)  # the optimum (S2) is 3300
    (True, 3300)
    """
    deadline = time.perf_counter() + seconds
    m, n = cost.shape
    kk = min(near, n)
    wc_all = np.where(np.isfinite(cost), w[:, None] * cost, np.inf)
    if kk < n:
        idx = np.argpartition(wc_all, kk, axis=1)[:, :kk + 1]
        part = np.take_along_axis(wc_all, idx, axis=1)
        o = np.argsort(part, axis=1)
        idx, part = np.take_along_axis(idx, o, axis=1), np.take_along_axis(part, o, axis=1)
        cap = part[:, kk]
        idx, wc = idx[:, :kk], part[:, :kk]
    else:
        o = np.argsort(wc_all, axis=1)
        idx, wc = o, np.take_along_axis(wc_all, o, axis=1)
        cap = np.full(m, np.inf)
    del wc_all
    lam = wc[:, 1] if kk > 1 else wc[:, 0]   # the second-cheapest assignment: a good start
    lam = np.where(np.isfinite(lam), lam, wc[:, 0])
    lam = np.minimum(lam, cap)
    flat = idx.ravel()
    free = np.flatnonzero(~fixed)
    k = p - int(fixed.sum())
    best = -np.inf
    step, stall = 1.0, 0
    for _ in range(iters):
        if time.perf_counter() > deadline:
            break
        red = np.minimum(wc - lam[:, None], 0.0)
        rho = np.bincount(flat, weights=red.ravel(), minlength=n)
        pick = free[np.argpartition(rho[free], k - 1)[:k]] if 0 < k < len(free) else free[:max(k, 0)]
        opened = fixed.copy()
        opened[pick] = True
        val = float(lam.sum() + rho[opened].sum())
        if val > best + 1e-9 * max(1.0, abs(val)):
            best, stall = val, 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2, 0
        # Subgradient: 1 − (number of open sites with a negative term for i).
        sub = 1.0 - ((red < 0) & opened[idx]).sum(axis=1)
        norm = float((sub * sub).sum())
        if norm == 0 or step < 1e-5 or upper - best <= 1e-9 * max(1.0, abs(upper)):
            break
        lam = np.minimum(lam + step * max(upper - val, 0.0) / norm * sub, cap)
        lam = np.maximum(lam, 0.0)
    return best
