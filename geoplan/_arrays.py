"""Array helpers shared by the numeric kernels (zonal sums, the snap index)."""

from __future__ import annotations

import numpy as np


def stable_order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, keys[order])`` for ``order = np.argsort(keys, kind="stable")``; ``keys`` may be overwritten.

    Non-negative keys below 2³¹ (fewer than 2³² of them) are sorted with their
    positions packed in the low bits, in place: timsort ("stable") merges the
    runs in which boundary pieces and grid passes come, and one int64 sort
    took 40–70 % of argsort's time (on the sample county's pieces, and on a
    road grid's 12M cell keys). Other keys fall back to argsort.

    Examples
    --------
    >>> order, keys = stable_order(np.array([3, 1, 3, 0, 1]))
    >>> order.tolist(), keys.tolist()
    ([3, 1, 4, 0, 2], [0, 1, 1, 3, 3])
    """
    n = len(keys)
    if keys.dtype == np.int64 and n < 2**32 and (n == 0 or (int(keys.min()) >= 0 and int(keys.max()) < 2**31)):
        np.left_shift(keys, 32, out=keys)
        keys |= np.arange(n)
        keys.sort(kind="stable")
        order = keys & 0xFFFFFFFF
        keys >>= 32
        return order, keys
    order = np.argsort(keys, kind="stable")
    return order, keys[order]
