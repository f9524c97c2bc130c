"""Running the counties as Dask tasks: on a local cluster by default, or on an existing one.

One task per county (:func:`geoplan.province.county.run_county`): counties are
independent (each has its own plan and targets), so the province is an
embarrassingly parallel map and Dask's scheduler only has to hand counties
to free workers, biggest first. Workers are processes with one thread each:
the work is pandas/shapely/scipy code that holds the GIL for long stretches,
and a process per core gives each its own memory limit, which Dask's nanny
enforces (a county that blows it kills its worker, not the run: the task is
reported failed and the others go on).

The same call runs on a laptop (``LocalCluster``, workers = cores) and on a
cluster (``scheduler="tcp://host:8786"``): the workers must then have geoplan
installed and see the layer files at the same paths (a shared file system).

Examples in this module use ``prov`` (a province run of 磐安县 alone), ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from geoplan.i18n import _
from geoplan.province.county import CountyResult, failed, load_cached, run_county, store_cached
from geoplan.province.inputs import CountyInput, ProvinceError, fingerprinted


@dataclass
class ProvinceRun:
    """Outcome of :func:`run_province`.

    Attributes
    ----------
    results : list of CountyResult
        One per county, in input order (failures included).
    computed : list of str
        Labels of the counties computed in this run (the others came from the cache).
    skipped : list of (str, str)
        Counties that could not even be started, with the reason.
    seconds : float
        Wall time of the run.
    dashboard : str
        The Dask dashboard's address, if the cluster has one.

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    >>> prov.computed, prov.skipped, [(r.code, r.name, r.ok) for r in prov.results]
    (['330727'], [], [('330727', '磐安县', True)])
    """

    results: list[CountyResult]
    computed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    dashboard: str = ""

    @property
    def ok(self) -> list[CountyResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[CountyResult]:
        return [r for r in self.results if not r.ok]


def _parse_memory(text) -> str | int | None:
    if text in (None, "", "auto"):
        return "auto"
    return text


@contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None, memory_limit=None,
                processes: bool = True, dashboard: bool = True, allowed_failures: int = 1):
    """A ``distributed.Client``: to ``scheduler`` if given, else to a new local cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    workers : int, optional
        Local workers (default: the machine's cores).
    memory_limit : str or int, optional
        Per local worker, e.g. ``"4GB"`` (default: the machine's memory shared out).
    processes : bool
        Local workers as processes (True) or threads of this process.
    dashboard : bool
        Serve the local dashboard on a free port.
    allowed_failures : int
        How often a local cluster reruns a task whose worker died before
        reporting it failed. Dask's default is 3, but a county that blows the
        memory limit kills every worker it lands on; one retry still covers a
        worker lost to something else.

    Raises
    ------
    ProvinceError
        If Dask is not installed or the scheduler cannot be reached.

    Examples
    --------
    A local cluster of one worker thread (``scheduler="tcp://host:8786"`` joins an existing one):

    >>> with dask_client(workers=1, processes=False, dashboard=False) as client:
    ...     len(client.scheduler_info()["workers"])
    1
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ProvinceError(_("The province run needs Dask: pip install 'dask[distributed]'.")) from exc
    import logging

    import dask

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ProvinceError(_("Cannot reach the Dask scheduler at {address}: {error}. Is `dask scheduler` running "
                                  "there, and is the port open?").format(address=scheduler, error=exc)) from exc
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                               memory_limit=_parse_memory(memory_limit),
                               dashboard_address=":0" if dashboard else None, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _size(county: CountyInput) -> int:
    total = 0
    for p in (county.gpkg, county.population):
        if p and os.path.exists(p):
            total += os.path.getsize(p)
    return total


def run_province(counties: Sequence[CountyInput], *, client=None, cache_dir=None,
                 on_result: Callable[[CountyResult, int, int], None] | None = None,
                 skipped: Sequence[tuple[str, str]] = ()) -> ProvinceRun:
    """Run every county (those not in the cache) as a Dask task, or serially without a client.

    Parameters
    ----------
    counties : sequence of CountyInput
        From :func:`geoplan.province.inputs.county_inputs`.
    client : distributed.Client, optional
        Where to run (see :func:`dask_client`); None runs the counties one
        after another in this process (the no-Dask baseline of the benchmark).
    cache_dir : path, optional
        Per-county result cache; None computes everything and stores nothing.
    on_result : callable, optional
        Called as ``on_result(result, done, total)`` as each county finishes
        (cached ones first), e.g. to draw a progress bar.
    skipped : sequence of (str, str)
        Counties that could not be started, passed through to the outcome.

    Returns
    -------
    ProvinceRun

    Examples
    --------
    ``prov`` is a province run of the 磐安县 sample alone, without travel times (the recipe is in
    ``geoplan/conftest.py``: :func:`~geoplan.province.inputs.county_inputs`, then :func:`run_province`).


    A result in the cache is not computed again:

    >>> from geoplan.province.county import store_cached
    >>> from geoplan.province.inputs import county_inputs
    >>> from geoplan.layers.sample import layers_dir
    >>> todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans", travel=False)
    >>> _ = store_cached(tmp, todo[0], prov.results[0])
    >>> again = run_province(todo, cache_dir=tmp)
    >>> again.computed, again.results[0].cached, again.results[0].name
    ([], True, '磐安县')
    """
    start = time.perf_counter()
    counties = [fingerprinted(c) for c in counties]
    labels = [c.name for c in counties]
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise ProvinceError(_("County {codes} is given twice; each county runs once.").format(codes=", ".join(dup)))
    results: dict[str, CountyResult] = {}
    total = len(counties)
    todo = []
    for c in counties:
        hit = load_cached(cache_dir, c)
        if hit is None:
            todo.append(c)
        else:
            results[c.name] = hit
            if on_result:
                on_result(hit, len(results), total)
    # Biggest first: the longest tasks start early, so no worker sits idle at the end waiting for one.
    todo.sort(key=_size, reverse=True)
    dashboard = ""

    def finish(c: CountyInput, r: CountyResult):
        store_cached(cache_dir, c, r)
        results[c.name] = r
        if on_result:
            on_result(r, len(results), total)

    if client is None:
        for c in todo:
            finish(c, run_county(c))
    else:
        from distributed import as_completed

        dashboard = getattr(client, "dashboard_link", "") or ""
        futures = {}
        for c in todo:
            f = client.submit(run_county, c, key=f"county-{c.name}-{c.key[:12]}", pure=False, retries=0)
            futures[f] = c
        for f in as_completed(futures):
            c = futures[f]
            try:
                r = f.result()
            except Exception as exc:  # noqa: BLE001 — a lost worker or a cancelled task is one county's failure
                r = failed(c, _lost_reason(exc))
            finish(c, r)
    return ProvinceRun([results[c.name] for c in counties], [c.name for c in todo], list(skipped),
                       time.perf_counter() - start, dashboard)


def _lost_reason(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return _("the worker computing this county exited (most likely it went over the memory limit of "
                 "each worker, --memory-limit, or the process was killed); the other counties are not affected, "
                 "and running again computes only this county")
    if name in ("CancelledError", "FutureCancelledError"):
        return _("the task was cancelled (the scheduler or the worker was disconnected); running again "
                 "computes only this county")
    return _("the task failed: {error}").format(error=f"{name}: {exc}")
