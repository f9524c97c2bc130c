"""Vehicle routing on a travel-time matrix: PyVRP for the assignment, LKH-3 for the order.

This module is pure: it knows nothing about markers or maps. It takes a
square matrix of travel times between *locations* (depots first, then
clients), a service time per client, the depots vehicles start and end at,
how many vehicles each depot has and the longest route allowed, and returns
routes. It is used by :mod:`geoplan.inspection.planning` (team-days visiting boundary
markers) and by ``scripts/bench/routing.py``.

Three methods are offered:

``"pyvrp"``
    PyVRP's iterated local search alone.
``"lkh"``
    Route first, cluster second: one LKH-3 tour (through the ``elkai``
    package) over all clients, cut optimally into duration-feasible routes
    (Prins' split), each route's order then re-optimised by LKH-3.
``"combined"`` (default)
    The ``"lkh"`` solution is handed to PyVRP as its starting solution, PyVRP
    improves the assignment of clients to routes for the rest of the time
    limit, and LKH-3 (or an exact DP on short routes) polishes the order of
    every route. PyVRP never returns a worse solution than the one it
    started from and polishing only accepts improvements, so the result is
    never worse than the ``"lkh"`` one; in the benchmark it is also better
    than PyVRP alone.

Matrices may be asymmetric (one-way roads): LKH-3 then solves an ATSP. All
solvers work in integers: times are rounded to ``resolution`` (e.g. pass
minutes with ``resolution=1/60`` to route in whole seconds).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from geoplan.i18n import _
from geoplan.inspection.tours import (  # noqa: F401  (public names kept importable from here)
    EXACT_MAX_CLIENTS, RoutingError, _check_matrix, _elkai_solve, _int_matrix, exact_tsp, lkh_tour,
    order_route, tour_length)

METHODS = ("combined", "pyvrp", "lkh")


@dataclass
class Route:
    """One route: a vehicle leaves ``depot``, visits ``clients`` in order and returns.

    Attributes
    ----------
    vehicle_type : int
        Index into the ``depots`` / ``vehicles`` arguments of :func:`solve_vrp`.
    depot : int
        Location index of the depot (start and end).
    clients : list of int
        Client indices (0-based among clients, *not* location indices), in visit order.
    travel : float
        Travel time of the route, in the matrix's units.
    service : float
        Sum of the clients' service times.

    Examples
    --------
    A depot and two places 10 and 20 minutes out, half an hour's work at each:

    >>> sol = solve_vrp([[0, 10, 20], [10, 0, 10], [20, 10, 0]], [0, 30, 30], [0], [2], time_limit=1)
    >>> [(r.depot, sorted(r.clients), r.travel, r.service) for r in sol.routes]  # clients numbered from 0
    [(0, [0, 1], 40.0, 60.0)]
    """

    vehicle_type: int
    depot: int
    clients: list[int]
    travel: float
    service: float

    @property
    def duration(self) -> float:
        """Travel plus service time."""
        return self.travel + self.service


@dataclass
class RoutingSolution:
    """Routes found by :func:`solve_vrp`.

    Attributes
    ----------
    routes : list of Route
    method : str
    runtime_s : float
        Wall-clock seconds spent.
    feasible : bool
        Every client visited once, no route over ``max_duration`` and no
        depot using more vehicles than it has.
    stats : dict
        Costs after each stage (``lkh_split``, ``pyvrp``, ``polished``),
        for the benchmark.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[0, 5, 9], [5, 0, 6], [9, 6, 0]], float)
    >>> sol = solve_vrp(m, [0, 10, 10], [0], [1], time_limit=1)
    >>> sol.feasible, len(sol.routes), sol.routes[0].travel
    (True, 1, 20.0)
    """

    routes: list[Route]
    method: str
    runtime_s: float
    feasible: bool
    stats: dict = field(default_factory=dict)

    @property
    def travel(self) -> float:
        """Total travel time of all routes."""
        return float(sum(r.travel for r in self.routes))

    @property
    def n_routes(self) -> int:
        return len(self.routes)


# --------------------------------------------------------------------------
# Route first, cluster second
# --------------------------------------------------------------------------

def split_tour(matrix, order, service, depots, max_duration: float = math.inf,
               fixed_cost: float = 0.0, cost=None) -> list[tuple[int, list[int]]]:
    """Cut a giant tour into routes optimally (Prins' split, several depots).

    Parameters
    ----------
    matrix : ndarray (n_loc, n_loc)
    order : sequence of int
        Client *location* indices in giant-tour order.
    service : ndarray
        Service time per location (0 for depots).
    depots : sequence of int
        Location indices of the depots; each segment goes to its cheapest depot.
    max_duration : float
        Longest route (travel + service).
    fixed_cost : float
        Cost added per route, so fewer routes are preferred.
    cost : ndarray (n_loc, n_loc), optional
        What a leg costs, if not its travel time (``matrix`` still bounds
        the duration).

    Returns
    -------
    list of (depot, clients)
        Routes in tour order; clients as location indices.

    Raises
    ------
    RoutingError
        If a single client cannot be served within ``max_duration`` from any depot.

    Examples
    --------
    Five places on a line, 10 minutes apart (a depot at 0):

    >>> import numpy as np
    >>> x = np.arange(5) * 10.0
    >>> m = np.abs(x[:, None] - x[None, :])

    >>> split_tour(m, [1, 2, 3, 4], np.array([0, 30, 30, 30, 30.]), [0], max_duration=120)
    [(0, [1]), (0, [2, 3]), (0, [4])]
    """
    m = np.asarray(matrix, dtype=float)
    order = list(order)
    n = len(order)
    depots = np.asarray(list(depots))
    if not math.isfinite(max_duration) and len(depots) == 1 and cost is None:
        # no limit and one depot: by the triangle inequality one route is optimal
        return [(int(depots[0]), order)] if order else []
    c_m = m if cost is None else np.asarray(cost, dtype=float)
    # plain Python floats in the O(n·L) loop: numpy scalars would be ~10× slower
    out_leg = m[np.ix_(depots, order)].T.tolist()   # depot → client, per client
    in_leg = m[np.ix_(order, depots)].tolist()      # client → depot
    step = [0.0] + [float(m[order[j - 1], order[j]]) for j in range(1, n)]
    c_out = c_m[np.ix_(depots, order)].T.tolist()
    c_in = c_m[np.ix_(order, depots)].tolist()
    c_step = [0.0] + [float(c_m[order[j - 1], order[j]]) for j in range(1, n)]
    serv_of = [float(service[c]) for c in order]
    nd = len(depots)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    pred = np.zeros(n + 1, dtype=np.int64)
    pick = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        if not np.isfinite(best[i]):
            continue
        inner = 0.0
        c_inner = 0.0
        serv = 0.0
        first = out_leg[i]
        c_first = c_out[i]
        for j in range(i, n):
            c = order[j]
            if j > i:
                inner += step[j]
                c_inner += c_step[j]
            serv += serv_of[j]
            back = in_leg[j]
            c_back = c_in[j]
            d = min(range(nd), key=lambda k: c_first[k] + c_back[k]) if nd > 1 else 0
            dur = first[d] + back[d] + inner + serv
            if dur > max_duration + 1e-9:
                if j == i:
                    raise RoutingError(
                        _("Location {location} cannot be served within the route limit ({limit:g}) from any "
                          "depot.").format(location=c, limit=max_duration))
                break
            val = best[i] + c_first[d] + c_back[d] + c_inner + fixed_cost
            if val < best[j + 1]:
                best[j + 1], pred[j + 1], pick[j + 1] = val, i, depots[d]
    routes = []
    j = n
    while j > 0:
        i = int(pred[j])
        routes.append((int(pick[j]), order[i:j]))
        j = i
    return routes[::-1]


# --------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------

def solve_vrp(matrix, service, depots, vehicles, *, max_duration: float | None = None,
              fixed_cost: float = 0.0, time_limit: float = 10.0, method: str = "combined",
              resolution: float = 1.0, seed: int = 0, progress=None, cost_matrix=None) -> RoutingSolution:
    """Routes from depots visiting every client once, each within ``max_duration``.

    Parameters
    ----------
    matrix : array-like, shape (n_loc, n_loc)
        Travel times between locations. Locations named in ``depots`` are
        depots; every other location is a client (clients are numbered in
        location order in the result).
    service : array-like, shape (n_loc,)
        Service time at each location (ignored at depots).
    depots : sequence of int
        Location index of each vehicle type's depot (start and end).
    vehicles : sequence of int
        Vehicles available at each entry of ``depots`` (e.g. team × days).
    max_duration : float, optional
        Longest route, travel plus service.
    fixed_cost : float
        Cost per route used, in the matrix's units; makes the solver prefer
        fewer routes (team-days).
    time_limit : float
        Seconds for the whole solve.
    method : {"combined", "pyvrp", "lkh"}
        See the module docstring.
    resolution : float
        Integer unit the solvers round times to.
    seed : int
    progress : callable, optional
        Called with a short stage name as each stage starts (for progress bars).
    cost_matrix : array-like, shape (n_loc, n_loc), optional
        What the solvers minimise, if not the travel time (e.g. travel time
        plus a penalty for changing lines); ``matrix`` still bounds every
        route's duration and gives :attr:`Route.travel`.

    Returns
    -------
    RoutingSolution

    Raises
    ------
    RoutingError
        Bad inputs, a client that no depot can serve within ``max_duration``,
        or more routes needed than the vehicles allow (``routes_needed`` on
        the exception says how many the plan found needs). A time limit
        never causes an error: the best feasible plan found is returned.

    Examples
    --------
    A depot and four places 10, 20, 30 and 40 minutes out along one road, 30 minutes of work at
    each, at most 3 hours a route: two team-days are needed, the nearest place alone and the rest.

    >>> m = 10.0 * abs(np.subtract.outer(range(5), range(5)))

    >>> sol = solve_vrp(m, [0, 30, 30, 30, 30], [0], [3], max_duration=180, time_limit=1)
    >>> sol.feasible, sorted(len(r.clients) for r in sol.routes), max(r.travel + r.service for r in sol.routes) <= 180
    (True, [1, 3], True)
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise RoutingError(_("method must be one of {choices}, got {value!r}.").format(choices=METHODS, value=method))
    m = _check_matrix(matrix)
    n_loc = len(m)
    cm = m if cost_matrix is None else _check_matrix(cost_matrix)
    if cm.shape != m.shape:
        raise RoutingError(_("cost_matrix must have the shape of matrix {shape}, got {got}.").format(
            shape=m.shape, got=cm.shape))
    service = np.asarray(service, dtype=float).copy()
    if service.shape != (n_loc,):
        raise RoutingError(_("service must have one value per location ({n}), got {shape}.").format(
            n=n_loc, shape=service.shape))
    depots = [int(d) for d in depots]
    vehicles = [int(v) for v in vehicles]
    if not depots or len(depots) != len(vehicles):
        raise RoutingError(_("Give one vehicle count per depot entry (at least one)."))
    if any(v < 1 for v in vehicles):
        raise RoutingError(_("Every depot entry needs at least one vehicle."))
    service[depots] = 0.0
    clients = [i for i in range(n_loc) if i not in set(depots)]
    limit = math.inf if max_duration is None else float(max_duration)
    stats: dict = {}
    say = progress or (lambda stage: None)
    if not clients:
        return RoutingSolution([], method, time.perf_counter() - t0, True, stats)

    udep = sorted(set(depots))
    single = np.array([[m[d, c] + service[c] + m[c, d] for d in udep] for c in clients]).min(axis=1)
    if (single > limit + 1e-9).any():
        bad = [clients[i] for i in np.flatnonzero(single > limit + 1e-9)]
        raise RoutingError(
            _("{n} client(s) (locations {locations}) cannot be served within the route limit ({limit:g}) even "
              "alone from the nearest depot. Leave them out or raise the limit.").format(
                n=len(bad), locations=bad[:10], limit=limit))

    deadline = t0 + time_limit
    # The LKH split is always computed for "lkh" and "combined": it is a
    # feasible plan in a fraction of the time (one giant tour, cut optimally),
    # PyVRP starts from it, and it is the answer if PyVRP finds nothing
    # better within the limit. A giant tour is nearly the whole answer when
    # routes are few and long (TSP-like); with many short routes it is only a
    # start, so it gets less of the time.
    few_routes = _routes_lower_bound(m, clients, service, udep, limit) <= 3
    initial = None
    if method in ("lkh", "combined"):
        say("LKH-3 giant tour")
        budget = time_limit * (0.8 if method == "lkh" else 0.35 if few_routes else 0.12)
        initial = _route_first(m, clients, service, udep, limit, fixed_cost, resolution, budget, seed, cm)
        stats["lkh_split"] = _cost(cm, initial, fixed_cost)
    routes: list[tuple[int, list[int]]]
    if method == "lkh":
        routes = initial
    else:
        say("PyVRP assignment")
        remaining = max(0.2, (deadline - time.perf_counter()) * (0.9 if method == "combined" else 1.0))
        routes = _pyvrp(m, clients, service, depots, vehicles, limit, fixed_cost, resolution,
                        remaining, seed, initial, cm)
        if routes is None:
            # PyVRP found no feasible plan in its time: fall back on the split,
            # computed now if it was not the start
            if initial is None:
                say("LKH-3 giant tour")
                initial = _route_first(m, clients, service, udep, limit, fixed_cost, resolution,
                                       max(0.5, 0.1 * time_limit), seed, cm)
                stats["lkh_split"] = _cost(cm, initial, fixed_cost)
            routes = initial
            stats["pyvrp"] = None
        else:
            stats["pyvrp"] = _cost(cm, routes, fixed_cost)
    if method in ("combined", "lkh"):
        say("LKH-3 route order")
        routes = _polish(m, routes, deadline, cm, service, limit)
        stats["polished"] = _cost(cm, routes, fixed_cost)

    out = _assign_types(routes, depots, vehicles)
    built = [Route(vt, d, [clients.index(c) for c in cl], tour_length(m, [d] + cl), float(service[cl].sum()))
             for vt, d, cl in out]
    visited = sorted(c for r in built for c in r.clients)
    counts = {}
    for vt, _depot, _clients in out:
        counts[vt] = counts.get(vt, 0) + 1
    over = {i: counts.get(i, 0) - vehicles[i] for i in range(len(depots)) if counts.get(i, 0) > vehicles[i]}
    feasible = (visited == list(range(len(clients)))
                and all(r.duration <= limit + 1e-6 for r in built) and not over)
    if not feasible and not over:  # pragma: no cover - would be a bug in the solvers' glue
        raise RoutingError(_("The routing produced an invalid plan (a stop missed or a route over the limit); "
                             "please report this with the input."))
    if not feasible:
        # Every route of the plan is within the limit (the split guarantees
        # it), so the only way to get here is a plan needing more routes at
        # some depot than it has vehicles: say how many it needs.
        exc = RoutingError(
            f"{len(clients)} stops need {len(built)} routes within the limit of {limit:g} each, but only "
            f"{sum(vehicles)} are available. Allow more days or teams, or a longer working day.")
        exc.routes_needed = len(built)
        exc.routes_by_depot = {d: sum(1 for _, dd, _ in out if dd == d) for d in udep}
        raise exc
    return RoutingSolution(built, method, time.perf_counter() - t0, feasible, stats)


def _routes_lower_bound(m, clients, service, udep, limit) -> int:
    """Fewest routes the clients could need: total service plus cheapest arrival legs over the limit."""
    if not math.isfinite(limit):
        return 1
    arrive = m[:, clients].copy()
    arrive[clients, np.arange(len(clients))] = np.inf
    work = float(service[clients].sum() + arrive.min(axis=0).sum())
    return max(1, math.ceil(work / limit))


def _cost(m, routes, fixed_cost) -> float:
    return float(sum(tour_length(m, [d] + list(cl)) + fixed_cost for d, cl in routes))


def _route_first(m, clients, service, udep, limit, fixed_cost, resolution, budget, seed, cm=None):
    """Giant LKH tour through the clients (and the depot, if only one), split into routes."""
    nodes = ([udep[0]] if len(udep) == 1 else []) + clients
    cm = m if cm is None else cm
    sub = _int_matrix(cm[np.ix_(nodes, nodes)], resolution)
    n = len(nodes)
    trials = None if n <= 300 else max(50, int(60_000 / n))
    tour = lkh_tour(sub, time_limit=max(0.05, budget * 0.5), max_trials=trials, seed=seed + 1)
    order = [nodes[i] for i in tour]
    if len(udep) == 1:
        order = order[1:]
    best = None
    # The cut point of a closed giant tour matters; try a few rotations.
    k = 3 if len(order) <= 300 else 2
    rotations = sorted({i * len(order) // k for i in range(k)}) if len(order) > 2 and math.isfinite(limit) else [0]
    for r in rotations:
        rot = order[r:] + order[:r]
        for seq in (rot, rot[::-1]):
            routes = split_tour(m, seq, service, udep, limit, fixed_cost, cost=None if cm is m else cm)
            c = _cost(cm, routes, fixed_cost)
            if best is None or c < best[0]:
                best = (c, routes)
    return best[1]


def _polish(m, routes, deadline, cm=None, service=None, limit=math.inf):
    cm = m if cm is None else cm
    out = []
    for d, cl in routes:
        left = max(0.05, deadline - time.perf_counter())
        new = order_route(cm, d, cl, time_limit=min(left, 0.5 + 0.01 * len(cl)))
        better = tour_length(cm, [d] + new) < tour_length(cm, [d] + list(cl)) - 1e-9
        # a cheaper order under a cost matrix may take longer: keep it only within the limit
        fits = cm is m or tour_length(m, [d] + new) + (float(service[new].sum()) if service is not None else 0.0) \
            <= limit + 1e-9
        if better and fits:
            cl = new
        out.append((d, list(cl)))
    return out


def _assign_types(routes, depots, vehicles):
    """Give each (depot, clients) route a vehicle type with that depot and a free vehicle."""
    left = list(vehicles)
    out = []
    for d, cl in routes:
        choices = [i for i, dep in enumerate(depots) if dep == d and left[i] > 0]
        if not choices:
            choices = [i for i, dep in enumerate(depots) if dep == d]
        vt = choices[0]
        left[vt] -= 1
        out.append((vt, d, list(cl)))
    return out


def _pyvrp(m, clients, service, depots, vehicles, limit, fixed_cost, resolution, seconds, seed, initial, cm=None):
    import pyvrp
    from pyvrp.stop import MaxRuntime

    udep = sorted(set(depots))
    loc_of = udep + clients  # PyVRP wants depots before clients
    # rounded up, so a plan within the shift in PyVRP's integers is within it in real minutes
    mi = np.ceil(m[np.ix_(loc_of, loc_of)] / resolution - 1e-9).astype(np.int64)
    np.fill_diagonal(mi, 0)
    ci = mi if cm is None or cm is m else _int_matrix(cm[np.ix_(loc_of, loc_of)], resolution)
    if ci is not mi:
        np.fill_diagonal(ci, 0)
    pdepots = [pyvrp.Depot(location=i) for i in range(len(udep))]
    pclients = [pyvrp.Client(location=len(udep) + k,
                             service_duration=int(math.ceil(service[c] / resolution - 1e-9)))
                for k, c in enumerate(clients)]
    shift = np.iinfo(np.int64).max if not math.isfinite(limit) else int(math.floor(limit / resolution + 1e-9))
    vtypes = [pyvrp.VehicleType(num_available=v, start_depot=udep.index(d), end_depot=udep.index(d),
                                fixed_cost=int(round(fixed_cost / resolution)), shift_duration=shift)
              for d, v in zip(depots, vehicles)]
    locations = [pyvrp.Location(x=float(i), y=0.0) for i in range(len(loc_of))]
    data = pyvrp.ProblemData(locations, pclients, pdepots, vtypes, [ci], [mi])
    client_pos = {c: k for k, c in enumerate(clients)}
    init = None
    if initial is not None:
        try:
            assigned = _assign_types(initial, depots, vehicles)
            counts = np.bincount([vt for vt, _, _ in assigned], minlength=len(depots))
            if (counts <= np.asarray(vehicles)).all():
                init = pyvrp.Solution(data, [
                    pyvrp.Route(data, [pyvrp.Activity(pyvrp.ActivityType.CLIENT, client_pos[c]) for c in cl], vt)
                    for vt, _, cl in assigned])
        except (RuntimeError, ValueError, TypeError):
            init = None  # a start PyVRP cannot take is only a lost head start
    res = pyvrp.solve(data, MaxRuntime(seconds), seed=seed, collect_stats=False, display=False,
                      initial_solution=init)
    best = res.best
    routes = []
    for r in best.routes():
        vt = r.vehicle_type()
        cl = [clients[a.idx] for a in r.schedule() if a.type == pyvrp.ActivityType.CLIENT]
        if cl:
            routes.append((depots[vt], cl))
    if not best.is_feasible():
        return initial
    return routes
