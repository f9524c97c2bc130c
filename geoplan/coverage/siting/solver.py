"""Solving the siting MIPs with HiGHS."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan.coverage.siting import base

def _run_milp(c, integrality, lb, ub, rows, time_limit, mip_gap):
    """Solve with HiGHS; ``rows`` is a list of (sparse matrix, lower, upper)."""
    constraints = [LinearConstraint(sp.csr_array(a), lo, hi) for a, lo, hi in rows if a.shape[0]]
    # Population × metres reaches 1e9; HiGHS works best with objective coefficients near 1.
    scale = float(np.abs(c).max(initial=0.0))
    c = c / scale if scale > 0 else c
    options = {"disp": base._DISP, "mip_rel_gap": mip_gap}
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

