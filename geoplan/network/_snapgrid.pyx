# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled nearest-segment search among a grid cell's candidates (the snap index's padded table).

The arithmetic of :meth:`geoplan.network.index._SnapIndex._pad_block` and
``_pad_eval``, point by point instead of candidate column by candidate
column, and without the GIL, so that the snapping threads run on every core.
The distance is computed with the same operations in the same order (a
foot-of-perpendicular projection, then ``hypot``), so a point gets the same
segment and the same distance as from the numpy version, which stays as the
reference the tests hold this one to and as the fallback where this extension
could not be compiled.
"""

from libc.math cimport hypot, sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t

import numpy as np

ctypedef fused index_t:
    int32_t
    int64_t


cdef inline void _offset(double px, double py, Py_ssize_t j, const double* sx, const double* sy,
                         const double* sdx, const double* sdy, const double* sden,
                         double* ox, double* oy) noexcept nogil:
    """From the foot of the perpendicular on piece j to the point: numpy's operations, in its order."""
    cdef double qx = px - sx[j], qy = py - sy[j], dx = sdx[j], dy = sdy[j]
    cdef double t = qx * dx
    t += qy * dy
    t /= sden[j]
    if t < 0.0:
        t = 0.0
    elif t > 1.0:
        t = 1.0
    ox[0] = qx - dx * t
    oy[0] = qy - dy * t


cdef inline void _scan(double px, double py, Py_ssize_t p, const index_t[:, ::1] table, Py_ssize_t k0,
                       Py_ssize_t k1, const double* sx, const double* sy, const double* sdx, const double* sdy,
                       const double* sden, const int64_t* sseg, double* b, double* bq,
                       int64_t* s) noexcept nogil:
    """Candidates k0 … k1 − 1 of cell p against the best so far (distance b, squared offset bq, segment s).

    Distances are numpy's ``hypot`` of the same offsets, so that equally
    near segments tie exactly as in the numpy version. ``hypot`` costs more
    than the rest of a candidate, so a candidate whose squared offset
    exceeds the best one's by more than rounding can (a relative 1e-12,
    against errors of a few 1e-16) is passed over without it: its distance
    would be strictly greater.
    """
    cdef Py_ssize_t k, j
    cdef double ox, oy, q, d
    cdef int64_t sj
    for k in range(k0, k1):
        j = table[k, p]
        _offset(px, py, j, sx, sy, sdx, sdy, sden, &ox, &oy)
        q = ox * ox + oy * oy
        if q <= bq[0] * (1.0 + 1e-12):
            d = hypot(ox, oy)
            sj = sseg[j]
            # Of equally near segments the lowest wins, whatever the order of the candidates.
            if d < b[0] or (d == b[0] and sj < s[0]):
                b[0], bq[0], s[0] = d, q, sj


cdef inline void _nearest(double px, double py, Py_ssize_t p, const index_t[:, ::1] table,
                          const double* sx, const double* sy, const double* sdx, const double* sdy,
                          const double* sden, const int64_t* sseg, const double[:, ::1] cells,
                          Py_ssize_t first, int64_t* seg_out, double* best_out) noexcept nogil:
    """The nearest candidate of cell p to (px, py): its segment and distance, the row's lowest (distance,
    segment) as numpy's two rounds find it."""
    cdef Py_ssize_t width = table.shape[0], j
    cdef double b, bq, ox, oy, cx, cy, bound
    cdef int64_t s
    j = table[0, p]
    _offset(px, py, j, sx, sy, sdx, sdy, sden, &ox, &oy)
    b, bq, s = hypot(ox, oy), ox * ox + oy * oy, sseg[j]
    if first >= width:
        _scan(px, py, p, table, 1, width, sx, sy, sdx, sdy, sden, sseg, &b, &bq, &s)
    else:
        _scan(px, py, p, table, 1, first, sx, sy, sdx, sdy, sden, sseg, &b, &bq, &s)
        # A candidate after the first ones lies at least its centre distance less the point's own
        # distance from the centre away: look at them only if that can beat the first ones. Either way
        # the answer is the row's nearest, so this distance needs no hypot.
        cx, cy = px - cells[p, 0], py - cells[p, 1]
        bound = (cells[p, 2] - sqrt(cx * cx + cy * cy)) * (1 - 1e-9) - 1e-9
        if not (b < bound):
            _scan(px, py, p, table, first, width, sx, sy, sdx, sdy, sden, sseg, &b, &bq, &s)
    seg_out[0] = s
    best_out[0] = b


def grid_nearest(const double[:, ::1] xy, const int64_t[::1] rows, const int64_t[::1] pos,
                 const uint8_t[::1] hit, const int64_t[::1] width, const index_t[:, ::1] table,
                 const double[::1] sx, const double[::1] sy, const double[::1] sdx, const double[::1] sdy,
                 const double[::1] sden, const int64_t[::1] sseg, const double[:, ::1] cells,
                 Py_ssize_t first, double reach, double max_distance,
                 int64_t[::1] best_seg, double[::1] best_d, uint8_t[::1] settled):
    """One block of ``_SnapIndex.nearest``'s grid round, written straight into its outputs.

    For each point ``rows[i]`` whose cell is in the padded table: the
    nearest candidate (of equally near segments the lowest), its distance into
    ``best_d``, whether that settles the point (within ``reach``) into
    ``settled``, and its segment into ``best_seg`` where settled and within
    ``max_distance``. Points outside the grid's cells are left as they are
    (for the tree).

    Parameters
    ----------
    xy : numpy.ndarray
        ``(m, 2)`` points.
    rows : numpy.ndarray
        The block's points (indices into ``xy``, ``pos``, ``hit`` and the outputs).
    pos, hit : numpy.ndarray
        Each point's cell (its row in ``cells``, its column in ``table``) and
        whether the grid lists it (``uint8`` view of a boolean array).
    width : numpy.ndarray
        Candidates per cell in the table, 0 for cells too crowded for it.
    table : numpy.ndarray
        ``(width, cells)`` candidate pieces, nearest the cell's centre first.
    sx, sy, sdx, sdy, sden, sseg : numpy.ndarray
        The pieces' start, direction, squared length (floored) and segment.
    cells : numpy.ndarray
        ``(cells, 3)``: each cell's centre and the centre distance of its
        candidate ``first`` (the bound of the first round).
    first : int
        Candidates every point looks at before the bound is tried (≥ 1).
    reach, max_distance : float
        Distances within which the grid's answer is exact, and a road is near enough.
    best_seg, best_d, settled : numpy.ndarray
        The search's outputs (``settled`` a ``uint8`` view of a boolean array).

    Returns
    -------
    numpy.ndarray
        The rows whose cells are listed but too crowded for the padded
        table, for the ragged-list path.
    """
    cdef Py_ssize_t m = rows.shape[0], i, r, p, n_crowded = 0
    cdef int64_t s
    cdef double b
    crowded = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] out = crowded
    with nogil:
        for i in range(m):
            r = rows[i]
            if not hit[r]:
                continue
            p = pos[r]
            if width[p] == 0:
                out[n_crowded] = r
                n_crowded += 1
                continue
            _nearest(xy[r, 0], xy[r, 1], p, table, &sx[0], &sy[0], &sdx[0], &sdy[0], &sden[0], &sseg[0],
                     cells, first, &s, &b)
            best_d[r] = b
            settled[r] = b <= reach
            best_seg[r] = s if (b <= reach and b <= max_distance) else -1
    return crowded[:n_crowded]
