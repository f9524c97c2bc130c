"""Pieces every part of the sample builder shares: seeds, rounding, random points."""

from __future__ import annotations

import numpy as np

#: What the provenance tables name as the generator of every part.
GENERATED_BY = "geoplan sample build (geoplan.layers.samplebuild; scripts/build_sample_layers.py)"
#: Kept for the lead's re-applied diffs, which name the old script in messages.
SCRIPT = GENERATED_BY

# Streams keep the parts independent: changing how roads are drawn must not
# change the villages.
S_GRAINS, S_GROW, S_POP, S_VILL, S_ROAD, S_FAC, S_LINE, S_NAME = range(1, 9)


def rng_for(key: str | int, stream: int) -> np.random.Generator:
    """Random generator for one part, seeded by a county or line code.

    Parameters
    ----------
    key : str or int
        The 6-digit county code or the 4-digit line code.
    stream : int
        Which part (one of the ``S_*`` constants).

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> float(rng_for("330624", S_VILL).random()) == float(rng_for(330624, S_VILL).random())
    True
    """
    return np.random.default_rng([int(key), int(stream)])


def largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative ``values`` to integers that sum exactly to ``total``.

    Ties in the remainders are broken by position, so the result is
    deterministic.

    Examples
    --------
    >>> largest_remainder(np.array([1.0, 1.0, 1.0]), 10).tolist()
    [4, 3, 3]
    """
    values = np.asarray(values, dtype=float)
    if values.sum() <= 0:
        out = np.zeros(len(values), dtype=np.int64)
        if len(values):
            out[0] = total
        return out
    scaled = values * (total / values.sum())
    base = np.floor(scaled).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(scaled - base), kind="stable")
        base[order[:short]] += 1
    return base


def random_points_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random points inside a polygon, as an ``(n, 2)`` array."""
    import shapely

    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out = np.empty((0, 2))
    while len(out) < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        cand = cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]
        out = np.vstack([out, cand])
    return out[:n]
