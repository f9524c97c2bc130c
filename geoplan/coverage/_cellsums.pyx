# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled weighted sums of raster cells by polygon coverage.

The arithmetic of :func:`geoplan.coverage.cellpieces._pieces` and
:func:`~geoplan.coverage.cellpieces.weighted_sums` (see that module for the
method), in one pass over the boundary edges instead of some sixty numpy
passes over arrays of pieces: the numpy version spends its time moving those
arrays through memory, not computing. The formulas are the same, term for
term, so that the two agree to rounding in the order of the sums; the numpy
version stays as the reference the tests hold this one to, and as the
fallback where this extension could not be compiled.

The row left of each segment is summed after all edges are cut: the
segments are ordered by row and by column within the row (two counting
sorts), and each row is read once between its first and last segment.
"""

from libc.math cimport ceil, fabs, floor
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc, realloc

import numpy as np


cdef struct Seg:
    Py_ssize_t row
    Py_ssize_t col
    Py_ssize_t owner
    double dy


cdef struct Acc:
    # What cutting the edges accumulates: the sums, the segments for the row sums, the scale.
    double* sums
    double* cells
    bint with_cells
    const double* values
    Py_ssize_t nrows
    Py_ssize_t ncols
    Seg* segs
    Py_ssize_t n_segs
    Py_ssize_t cap
    double scale
    bint failed


cdef inline double _min(double a, double b) noexcept nogil:
    return a if a < b else b


cdef inline double _max(double a, double b) noexcept nogil:
    return a if a > b else b


cdef inline double _clip(double x, double lo, double hi) noexcept nogil:
    return _min(_max(x, lo), hi)


cdef double _run_sum(const double* v, Py_ssize_t n) noexcept nogil:
    # Four sums side by side: one long chain of additions would wait on each add's latency.
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef Py_ssize_t i = 0
    while i + 4 <= n:
        a0 += v[i]
        a1 += v[i + 1]
        a2 += v[i + 2]
        a3 += v[i + 3]
        i += 4
    while i < n:
        a0 += v[i]
        i += 1
    return (a0 + a1) + (a2 + a3)


cdef void _segment(Acc* acc, Py_ssize_t r, double xl, double xh, double sdy, Py_ssize_t owner) noexcept nogil:
    """One segment (an edge within row r): its pieces' own areas now, its row sum later."""
    cdef Py_ssize_t ncols = acc.ncols
    cdef double xmin = _max(_min(xl, xh), 0.0)
    cdef double xmax = _min(_max(xl, xh), <double>ncols)
    cdef double fmin = floor(xmin)
    cdef Py_ssize_t cf = <Py_ssize_t>fmin
    cdef Py_ssize_t cl = <Py_ssize_t>_max(ceil(xmax) - 1.0, fmin)
    cdef bint single = cl == cf
    cdef double per_x = 0.0
    if not single:
        per_x = sdy / (xmax - xmin)
    cdef const double* vrow = acc.values + r * ncols
    cdef double before = 0.0, total = 0.0, covered = 0.0
    cdef double clo, chi, pdy, own, cv, colf
    cdef Py_ssize_t c
    cdef Seg* grown
    for c in range(cf, cl + 1):
        colf = <double>c
        clo = _max(xmin, colf)
        chi = _min(xmax, colf + 1.0)
        pdy = sdy if single else (chi - clo) * per_x
        own = (0.5 * (clo + chi) - colf) * pdy
        # Column ncols is the raster's right side: its pieces own nothing (own is 0 there).
        cv = vrow[c if c < ncols else ncols - 1]
        total += own * cv + pdy * before
        before += cv
        covered += own + pdy * colf
        if fabs(cv) > acc.scale:
            acc.scale = fabs(cv)
    acc.sums[owner] += total
    if acc.with_cells:
        acc.cells[owner] += covered
    if acc.n_segs == acc.cap:
        grown = <Seg*>realloc(acc.segs, 2 * acc.cap * sizeof(Seg))
        if grown == NULL:
            acc.failed = True
            return
        acc.segs = grown
        acc.cap *= 2
    acc.segs[acc.n_segs].row = r
    acc.segs[acc.n_segs].col = cf
    acc.segs[acc.n_segs].owner = owner
    acc.segs[acc.n_segs].dy = sdy
    acc.n_segs += 1


cdef void _edge(Acc* acc, double x0, double y0, double x1, double y1, double sign,
                Py_ssize_t owner) noexcept nogil:
    """One edge within the raster's columns, cut at the rows into segments."""
    cdef bint up = y1 > y0
    cdef double ya = _min(y0, y1), yb = _max(y0, y1)
    cdef double xa = x0 if up else x1
    cdef double xb = x1 if up else x0
    cdef double first = _max(floor(ya), 0.0)
    cdef double last = _min(ceil(yb) - 1.0, <double>(acc.nrows - 1))
    if not (last >= first and yb > ya):
        return
    cdef double slope = (xb - xa) / (yb - ya)
    cdef double direction = sign if up else -sign
    cdef Py_ssize_t fr = <Py_ssize_t>first, lr = <Py_ssize_t>last, r
    cdef double lo, hi, xl, xh
    for r in range(fr, lr + 1):
        lo = _max(ya, first) if r == fr else <double>r
        hi = _min(yb, last + 1.0) if r == lr else <double>r + 1.0
        xl = xa + (lo - ya) * slope
        if r < lr:
            xh = xa + (<double>r + 1.0 - ya) * slope
        elif yb <= last + 1.0:
            xh = xb
        else:
            xh = xa + (hi - ya) * slope
        _segment(acc, r, xl, xh, (hi - lo) * direction, owner)
        if acc.failed:
            return


cdef bint _row_sums(Acc* acc) noexcept nogil:
    """Add every segment's dy × (cells of its row left of it), relative to the row's first segment.

    The segments are put in order of row, and of column within the row, by
    two counting sorts (by column, then stably by row). A closed ring's
    segments in a row add up to dy = 0, so a value common to the row's
    segments cancels, as in the numpy version.
    """
    cdef Py_ssize_t nrows = acc.nrows, ncols = acc.ncols, n = acc.n_segs, k, r, a, b, lo, hi
    cdef Py_ssize_t* count = <Py_ssize_t*>malloc((nrows + ncols + 2) * sizeof(Py_ssize_t))
    cdef Seg* by_col = <Seg*>malloc((n if n > 0 else 1) * sizeof(Seg))
    cdef Seg* rows = acc.segs
    cdef double left
    if count == NULL or by_col == NULL:
        free(count)
        free(by_col)
        return False
    # By column (0 … ncols), into by_col.
    for k in range(ncols + 2):
        count[k] = 0
    for k in range(n):
        count[rows[k].col + 1] += 1
    for k in range(ncols + 1):
        count[k + 1] += count[k]
    for k in range(n):
        by_col[count[rows[k].col]] = rows[k]
        count[rows[k].col] += 1
    # Then by row, stably, back into acc.segs; count[r] ends as the end of row r.
    for k in range(nrows + 1):
        count[k] = 0
    for k in range(n):
        count[by_col[k].row + 1] += 1
    for k in range(nrows):
        count[k + 1] += count[k]
    for k in range(n):
        rows[count[by_col[k].row]] = by_col[k]
        count[by_col[k].row] += 1
    a = 0
    for r in range(nrows):
        b = count[r]
        left = 0.0
        for k in range(a + 1, b):
            lo = rows[k - 1].col if rows[k - 1].col < ncols else ncols
            hi = rows[k].col if rows[k].col < ncols else ncols
            left += _run_sum(acc.values + r * ncols + lo, hi - lo)
            acc.sums[rows[k].owner] += rows[k].dy * left
        a = b
    free(count)
    free(by_col)
    return True


def edge_sums(const int64_t[::1] owner, const double[::1] x0, const double[::1] y0,
              const double[::1] x1, const double[::1] y1, const double[::1] sign,
              const double[:, ::1] values, Py_ssize_t n_owners, bint with_cells=True):
    """Σ value × covered fraction per polygon from its boundary edges in pixel coordinates.

    Parameters
    ----------
    owner, x0, y0, x1, y1, sign : numpy.ndarray
        What :func:`geoplan.coverage.cellpieces._pixel_edges` returns.
    values : numpy.ndarray
        The raster's cells, 2-D, float64, C-contiguous.
    n_owners : int
        Number of polygons.
    with_cells : bool
        Also sum the covered fractions.

    Returns
    -------
    tuple
        ``(sums, cells, scale)`` as :func:`geoplan.coverage.cellpieces.weighted_sums` returns them.
    """
    cdef Py_ssize_t n = owner.shape[0], i, nrows = values.shape[0], ncols = values.shape[1]
    sums = np.zeros(n_owners)
    cells = np.zeros(n_owners)
    if n == 0 or nrows == 0 or ncols == 0:
        return sums, (cells if with_cells else None), 1.0
    cdef double[::1] s = sums, c = cells
    cdef Acc acc
    acc.sums = &s[0] if n_owners else NULL
    acc.cells = &c[0] if n_owners else NULL
    acc.with_cells = with_cells
    acc.values = &values[0, 0]
    acc.nrows, acc.ncols = nrows, ncols
    acc.cap = 2 * n + 64
    acc.segs = <Seg*>malloc(acc.cap * sizeof(Seg))
    acc.n_segs = 0
    acc.scale = 1.0
    acc.failed = acc.segs == NULL
    cdef double ex0, ey0, ex1, ey1, sg, lo, hi, ta, tb, t1, t2, dx, dy, width = <double>ncols
    cdef double xa, ya, xb, yb
    cdef Py_ssize_t o
    cdef bint ok = False
    with nogil:
        for i in range(n):
            if acc.failed:
                break
            ex0, ey0, ex1, ey1, sg, o = x0[i], y0[i], x1[i], y1[i], sign[i], owner[i]
            lo, hi = _min(ex0, ex1), _max(ex0, ex1)
            if (lo < 0.0 and hi > 0.0) or (lo < width and hi > width):
                # Split where the edge crosses the raster's left or right side (see _split_at_columns).
                dx, dy = ex1 - ex0, ey1 - ey0
                ta = _clip(-ex0 / dx, 0.0, 1.0)
                tb = _clip((width - ex0) / dx, 0.0, 1.0)
                t1, t2 = _min(ta, tb), _max(ta, tb)
                xa, ya = ex0 + t1 * dx, ey0 + t1 * dy
                xb, yb = ex0 + t2 * dx, ey0 + t2 * dy
                _edge(&acc, _clip(ex0, 0.0, width), ey0, _clip(xa, 0.0, width), ya, sg, o)
                _edge(&acc, _clip(xa, 0.0, width), ya, _clip(xb, 0.0, width), yb, sg, o)
                _edge(&acc, _clip(xb, 0.0, width), yb, _clip(ex1, 0.0, width), ey1, sg, o)
            else:
                _edge(&acc, _clip(ex0, 0.0, width), ey0, _clip(ex1, 0.0, width), ey1, sg, o)
        if not acc.failed:
            ok = _row_sums(&acc)
        free(acc.segs)
    if acc.failed or not ok:
        raise MemoryError("no memory for the boundary segments of the zonal sums")
    return sums, (cells if with_cells else None), acc.scale
