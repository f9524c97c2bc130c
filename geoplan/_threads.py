"""Worker threads for the array work that releases the GIL (numpy on large blocks, GEOS, PROJ).

One pool of as many threads as the process may use cores (at least two, so
that a task can run beside the caller), made on first use and kept:
starting threads costs about as much as the sub-millisecond tasks given to
them (a zonal sum's validity check, half of its reprojection). A process
forked from one that made the pool gets its own. Tasks given to the pool
must not wait on other pool tasks.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _shared_pool() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        # A forked child inherits the pool object but not its threads.
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max(cores(), 2), thread_name_prefix="geoplan")
            _pool_pid = os.getpid()
        return _pool


def background(fn, *args) -> Future:
    """Run ``fn(*args)`` on a worker thread; ``.result()`` waits for it (and raises what it raised)."""
    return _shared_pool().submit(fn, *args)


def slices(n: int, size: int) -> list[slice]:
    """``range(n)`` cut into slices of ``size`` (the last one shorter): blocks for :func:`on_threads`."""
    return [slice(lo, min(lo + size, n)) for lo in range(0, n, size)]


def on_threads(fn, blocks) -> None:
    """``fn(block)`` for every block, on as many threads as there are cores."""
    if cores() > 1 and len(blocks) > 1:
        list(_shared_pool().map(fn, blocks))
    else:
        for b in blocks:
            fn(b)
