"""Single tours: exact (Held–Karp) for small instances, LKH-3 (through ``elkai``) above.

Used by :mod:`geoplan.inspection.routing` for the giant tour of route-first
cluster-second and for the visiting order of each route.
"""

from __future__ import annotations

import itertools

import numpy as np

from geoplan.errors import GeoplanError
from geoplan.i18n import _

#: LKH-3 works on C ints; matrices are scaled down if they would overflow.
_LKH_MAX_WEIGHT = 10_000_000
#: Routes with at most this many clients are ordered exactly (Held–Karp DP).
EXACT_MAX_CLIENTS = 9


class RoutingError(GeoplanError):
    """A routing problem cannot be solved as posed (bad matrix, too few vehicles).

    Examples
    --------
    Two places of an hour's work each, one team-day of 100 minutes:

    >>> from geoplan.inspection.routing import solve_vrp
    >>> m = [[0, 10, 20], [10, 0, 10], [20, 10, 0]]
    >>> solve_vrp(m, [0, 60, 60], [0], [1], max_duration=100, time_limit=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.inspection.tours.RoutingError: 2 stops need 2 routes within the limit of 100 each, but only 1 are available. Allow more days or teams, or a longer working day.
    """


def tour_length(matrix, tour, closed: bool = True) -> float:
    """Length of a tour (sequence of location indices) on ``matrix``.

    Examples
    --------
    >>> m = [[0, 2, 9], [2, 0, 4], [9, 4, 0]]
    >>> tour_length(m, [0, 1, 2]), tour_length(m, [0, 1, 2], closed=False)
    (15.0, 6.0)
    """
    m = np.asarray(matrix)
    t = list(tour)
    if len(t) < 2:
        return 0.0
    legs = list(zip(t[:-1], t[1:]))
    if closed:
        legs.append((t[-1], t[0]))
    return float(sum(m[a, b] for a, b in legs))


def _check_matrix(matrix) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise RoutingError(_("The travel-time matrix must be square, got shape {shape}.").format(shape=m.shape))
    if not np.isfinite(m).all():
        raise RoutingError(_(
            "The travel-time matrix has missing (NaN) or infinite entries: some places cannot be "
            "reached from others. Leave unreachable places out before routing."))
    if (m < 0).any():
        raise RoutingError(_("The travel-time matrix has negative entries."))
    return m


def exact_tsp(matrix, start: int = 0) -> list[int]:
    """Optimal closed tour by Held–Karp dynamic programming (for small instances).

    Parameters
    ----------
    matrix : array-like, shape (n, n)
        Travel times; may be asymmetric.
    start : int
        Location the tour starts (and ends) at.

    Returns
    -------
    list of int
        Location indices starting with ``start`` (the return leg is implied).

    Examples
    --------
    Four corners of a 3 × 4 rectangle, listed crosswise; the best tour goes round it (length 14):

    >>> import numpy as np
    >>> pts = np.array([[0, 0], [3, 4], [3, 0], [0, 4]])
    >>> m = np.linalg.norm(pts[:, None] - pts[None, :], axis=2)
    >>> t = exact_tsp(m)
    >>> t, tour_length(m, t)
    ([0, 3, 1, 2], 14.0)
    """
    m = _check_matrix(matrix)
    n = len(m)
    if n <= 3:
        rest = [i for i in range(n) if i != start]
        best = min(itertools.permutations(rest), key=lambda p: tour_length(m, (start,) + p), default=())
        return [start] + list(best)
    if n > 16:
        raise RoutingError(_("exact_tsp is for at most 16 locations, got {n}.").format(n=n))
    others = [i for i in range(n) if i != start]
    k = len(others)
    sub = m[np.ix_(others, others)]
    full = 1 << k
    cost = np.full((full, k), np.inf)
    parent = np.full((full, k), -1, dtype=np.int64)
    for j in range(k):
        cost[1 << j, j] = m[start, others[j]]
    bits = 1 << np.arange(k)
    for mask in range(1, full):
        row = cost[mask]
        if not np.isfinite(row).any():
            continue
        # extend every end j in the mask by every city l outside it
        outside = np.flatnonzero((mask & bits) == 0)
        if len(outside) == 0:
            continue
        cand = row[:, None] + sub[:, outside]          # (k ends, outside)
        best_end = np.argmin(cand, axis=0)
        best_val = cand[best_end, np.arange(len(outside))]
        for l, j, v in zip(outside, best_end, best_val):
            nm = mask | (1 << l)
            if v < cost[nm, l]:
                cost[nm, l] = v
                parent[nm, l] = j
    last = cost[full - 1] + m[others, start]
    j = int(np.argmin(last))
    mask = full - 1
    order = []
    while j >= 0:
        order.append(others[j])
        pj = parent[mask, j]
        mask ^= 1 << j
        j = int(pj)
    return [start] + order[::-1]


def _int_matrix(m: np.ndarray, resolution: float) -> np.ndarray:
    return np.rint(m / resolution).astype(np.int64)


def lkh_tour(matrix, *, time_limit: float | None = None, max_trials: int | None = None,
             runs: int = 1, seed: int = 1) -> list[int]:
    """A short closed tour by LKH-3 (through ``elkai``), starting at location 0.

    Parameters
    ----------
    matrix : array-like of int, shape (n, n)
        Integer weights; asymmetric matrices are solved as ATSP.
    time_limit : float, optional
        Seconds for LKH's search (its preprocessing comes on top).
    max_trials : int, optional
        Trials per run; LKH's default is ``n``. Fewer trials trade a little
        quality for much less time on large instances.
    runs : int
        Independent runs; the best is kept.
    seed : int
        LKH's random seed.

    Returns
    -------
    list of int
        Location indices starting with 0 (return leg implied).

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0, 0], [3, 4], [3, 0], [0, 4]])
    >>> m = np.linalg.norm(pts[:, None] - pts[None, :], axis=2)
    >>> t = lkh_tour(m, max_trials=10)
    >>> t[0], round(tour_length(m, t)) == round(tour_length(m, exact_tsp(m)))
    (0, True)
    """
    m = np.asarray(matrix)
    n = len(m)
    if n <= EXACT_MAX_CLIENTS + 1:
        return exact_tsp(m, 0)
    m = np.rint(m).astype(np.int64)
    top = int(m.max()) if m.size else 0
    if top > _LKH_MAX_WEIGHT:
        # LKH sums weights in C ints; coarser weights lose a little precision only.
        m = np.rint(m * (_LKH_MAX_WEIGHT / top)).astype(np.int64)
    symmetric = bool((m == m.T).all())
    params = f"PROBLEM_FILE = :stdin:\nRUNS = {int(runs)}\nSEED = {int(seed)}\n"
    if max_trials is not None:
        params += f"MAX_TRIALS = {max(1, int(max_trials))}\n"
    if time_limit is not None:
        params += f"TIME_LIMIT = {max(0.01, float(time_limit)):.3f}\n"
    # The subgradient ascent is O(n²) per step on an explicit matrix and
    # dominates the run time for n ≳ 500; its candidate sets help little more
    # than plain alpha-nearness once trials are limited.
    if n > 400 and time_limit is not None:
        params += "INITIAL_PERIOD = 100\n"
    rows = "\n".join(" ".join(map(str, r)) for r in m.tolist())
    problem = (f"TYPE : {'TSP' if symmetric else 'ATSP'}\nDIMENSION : {n}\n"
               "EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : FULL_MATRIX\n"
               f"EDGE_WEIGHT_SECTION\n{rows}\nEOF\n")
    tour = [i - 1 for i in _elkai_solve(params, problem)]
    k = tour.index(0)
    return tour[k:] + tour[:k]


def _elkai_solve(params: str, problem: str) -> list[int]:
    # elkai's public DistanceMatrix.solve_tsp only takes RUNS; its extension
    # function takes a full LKH parameter file, which is how TIME_LIMIT and
    # MAX_TRIALS are passed. elkai>=2.0,<3 keeps this entry point.
    try:
        from elkai import _elkai
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise RoutingError(_("LKH-3 is not available: install the 'elkai' package (pip install elkai).")) from exc
    return list(_elkai.solve_problem(params, problem))


def order_route(matrix, depot: int, clients, *, time_limit: float | None = None) -> list[int]:
    """Best order to visit ``clients`` from and back to ``depot`` (location indices).

    Exact (Held–Karp) up to :data:`EXACT_MAX_CLIENTS` clients, LKH-3 above.
    Returns the clients in visit order.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0, 30, 10, 20.])  # the depot at 0, clients at 30, 10 and 20
    >>> order_route(np.abs(x[:, None] - x[None, :]), 0, [1, 2, 3])
    [2, 3, 1]
    """
    clients = list(clients)
    if len(clients) <= 1:
        return clients
    idx = [depot] + clients
    sub = np.asarray(matrix)[np.ix_(idx, idx)]
    if len(clients) <= EXACT_MAX_CLIENTS:
        tour = exact_tsp(sub, 0)
    else:
        tour = lkh_tour(sub, time_limit=time_limit, max_trials=max(50, 2 * len(idx)), runs=1)
    return [idx[i] for i in tour[1:]]
