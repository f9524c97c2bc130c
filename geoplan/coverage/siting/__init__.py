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

A good plan first, then proof
-----------------------------
MCLP and the uncapacitated p-median first build a plan with a heuristic
(greedy, then swaps of one open site for one closed one until none helps)
and a bound from a Lagrangian relaxation (see
:mod:`geoplan.coverage.siting.solver`). When the gap between them is
already within ``mip_gap`` the MIP is skipped. Otherwise MCLP runs a branch
and bound whose nodes are bounded by the Lagrangian at the duals of an
interior-point LP — valid whatever the LP's accuracy — and which fixes
sites by those bounds (:mod:`geoplan.coverage.siting.branch`); what it has
not closed, and the p-median, go to HiGHS's MIP starting from the best
plan. With a ``time_limit`` the result is always a plan:
``details["gap"]`` is its proven relative distance from the best possible
objective (``details["bound"]``) and the message says so when the plan is
not proven optimal.

Exact reductions used to keep the models small
----------------------------------------------
* MCLP leaves out candidate sites whose covered demand is a subset of
  another candidate's (that one is never worse).
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

from geoplan.coverage.siting.base import (
    InfeasibleSitingError, SitingError, SitingResult, cost_array, euclidean_cost_matrix,
)
from geoplan.coverage.siting.candidates import (
    combine_candidates, grid_candidates, network_node_candidates, township_seat_candidates,
)
from geoplan.coverage.siting.lscp import LSCP
from geoplan.coverage.siting.mclp import MCLP
from geoplan.coverage.siting.pmedian import PMedian

__all__ = [
    "SitingError", "InfeasibleSitingError", "SitingResult", "LSCP", "MCLP", "PMedian",
    "cost_array", "euclidean_cost_matrix", "grid_candidates", "township_seat_candidates",
    "network_node_candidates", "combine_candidates",
]

